from django.urls import path

from activation import views

app_name = "activation"
urlpatterns = [
    path("", views.dataflow_list, name="dataflow_list"),
]
