from django.urls import path

from profiles import views

app_name = "profiles"
urlpatterns = [
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_create_view, name="segment_create"),
    path("segments/editor/", views.segment_editor, name="segment_editor"),
    path("segments/count/", views.segment_count, name="segment_count"),
    path("segments/<uuid:segment_id>/", views.segment_edit, name="segment_edit"),
    path("segments/<uuid:segment_id>/members/", views.segment_members, name="segment_members"),
    path("segments/<uuid:segment_id>/delete/", views.segment_delete, name="segment_delete"),
    path(
        "segments/<uuid:segment_id>/evaluate/",
        views.segment_evaluate_now,
        name="segment_evaluate",
    ),
    path("profiles/", views.profile_list, name="profile_list"),
    path("profiles/<int:profile_id>/", views.profile_detail, name="profile_detail"),
]
