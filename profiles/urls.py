from django.urls import path

from profiles import views

app_name = "profiles"
urlpatterns = [
    path("segments/", views.segment_list, name="segment_list"),
    path("profiles/", views.profile_list, name="profile_list"),
]
