from django.urls import path

from activation.wizard import views

# Included into the "activation" namespace by activation/urls.py; names start with "wizard_".
urlpatterns = [
    path("wizard/new/", views.wizard_start, name="wizard_start"),
    path("wizard/drafts/", views.wizard_drafts, name="wizard_drafts"),
    path("wizard/edit/<int:pk>/", views.wizard_edit, name="wizard_edit"),
    path("wizard/edit/<int:pk>/discard/", views.wizard_edit_discard, name="wizard_edit_discard"),
    path("wizard/<int:pk>/", views.wizard_resume, name="wizard_resume"),
    path("wizard/<int:pk>/destination/", views.wizard_destination, name="wizard_destination"),
    path("wizard/<int:pk>/segments/", views.wizard_segments, name="wizard_segments"),
    path("wizard/<int:pk>/mapping/", views.wizard_mapping, name="wizard_mapping"),
    path("wizard/<int:pk>/mapping/save/", views.wizard_mapping_save, name="wizard_mapping_save"),
    path("wizard/<int:pk>/schema/", views.wizard_schema, name="wizard_schema"),
    path("wizard/<int:pk>/review/", views.wizard_review, name="wizard_review"),
    path("wizard/<int:pk>/name/", views.wizard_name_save, name="wizard_name_save"),
    path("wizard/<int:pk>/sample/", views.wizard_sample, name="wizard_sample"),
    path("wizard/<int:pk>/capacity/", views.wizard_capacity, name="wizard_capacity"),
    path("wizard/<int:pk>/finish/", views.wizard_finish, name="wizard_finish"),
    path("wizard/<int:pk>/discard/", views.wizard_discard, name="wizard_discard"),
]
