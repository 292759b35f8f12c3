from django.urls import path

from destinations import views
from destinations.kinesis.urls import urlpatterns as kinesis_urls

app_name = "destinations"
urlpatterns = [
    path("", views.connection_list, name="list"),
    path("<int:pk>/delete/", views.connection_delete, name="delete"),
    path("docs/<slug:key>/", views.destination_docs, name="docs"),
    *kinesis_urls,
]
