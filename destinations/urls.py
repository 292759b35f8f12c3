from django.urls import path

from destinations import views

app_name = "destinations"
urlpatterns = [
    path("", views.connection_list, name="list"),
    path("new/kinesis/", views.connect, name="connect"),
]
