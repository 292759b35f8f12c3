"""Kinesis pages, mounted under /destinations/ in the `destinations` namespace."""

from django.urls import path

from destinations.kinesis import views

urlpatterns = [
    path("new/kinesis/", views.authenticate, name="connect"),
    path("new/kinesis/trust-policy/", views.trust_policy_snippet, name="connect_trust_policy"),
    path("new/kinesis/<uuid:draft_id>/", views.details, name="connect_details"),
    path("new/kinesis/<uuid:draft_id>/discard/", views.discard_draft, name="connect_discard"),
    path("new/kinesis/<uuid:draft_id>/streams/", views.streams, name="connect_streams"),
    path("<int:pk>/", views.connection_detail, name="detail"),
    path("<int:pk>/check/", views.run_check, name="check"),
    path("<int:pk>/test-record/", views.send_test_record, name="test_record"),
    path("<int:pk>/edit/", views.edit, name="edit"),
]
