from django.urls import path

from governance import views

app_name = "governance"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("labels/", views.labels_edit, name="labels_edit"),
    path("labels/new/", views.label_create, name="label_create"),
    path("actions/new/", views.action_create, name="action_create"),
    path("policies/new/", views.policy_edit, name="policy_create"),
    path("policies/<int:pk>/", views.policy_edit, name="policy_edit"),
    path("policies/<int:pk>/toggle/", views.policy_toggle, name="policy_toggle"),
    path("consent/new/", views.consent_edit, name="consent_create"),
    path("consent/<int:pk>/", views.consent_edit, name="consent_edit"),
]
