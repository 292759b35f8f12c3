from django.urls import path

from activation.monitoring import views

# Included into the "activation" namespace by activation/urls.py.
urlpatterns = [
    path("", views.dataflow_list, name="dataflow_list"),
    path("<int:dataflow_id>/", views.dataflow_detail, name="dataflow_detail"),
]
