from django.urls import path

from activation.monitoring import views

# Included into the "activation" namespace by activation/urls.py.
urlpatterns = [
    path("", views.dataflow_list, name="dataflow_list"),
    path("deliveries/", views.delivery_lookup, name="delivery_lookup"),
    path("streams/<int:connection_id>/", views.stream_inspector, name="stream_inspector"),
    path("streams/<int:connection_id>/live/", views.connection_live, name="connection_live"),
    path("<int:dataflow_id>/", views.dataflow_detail, name="dataflow_detail"),
    path("<int:dataflow_id>/live/", views.dataflow_live, name="dataflow_live"),
    path("<int:dataflow_id>/runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("<int:dataflow_id>/enable/", views.dataflow_enable, name="dataflow_enable"),
    path("<int:dataflow_id>/disable/", views.dataflow_disable, name="dataflow_disable"),
    path("<int:dataflow_id>/delete/", views.dataflow_delete, name="dataflow_delete"),
    path(
        "<int:dataflow_id>/segments/<uuid:segment_id>/replay/",
        views.segment_replay,
        name="segment_replay",
    ),
]
