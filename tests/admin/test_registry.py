"""Every model of the product is in Django admin, with list filters and search."""

import pytest
from django.apps import apps
from django.contrib import admin

from core.roles import PRODUCT_APPS

pytestmark = pytest.mark.django_db

APPS = (*PRODUCT_APPS, "core")


def inline_models():
    return {
        inline.model
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
    }


def test_every_model_is_registered_or_shown_inline():
    shown = set(admin.site._registry) | inline_models()
    missing = [
        model._meta.label
        for app in APPS
        for model in apps.get_app_config(app).get_models()
        if model not in shown
    ]
    assert not missing


def test_every_registered_model_has_filters_and_search():
    lacking = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in APPS
        and not (model_admin.list_filter and model_admin.search_fields)
    ]
    assert not lacking


def test_beat_schedules_are_in_the_admin(admin_client):
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask in admin.site._registry
    response = admin_client.get("/admin/django_celery_beat/periodictask/")
    assert response.status_code == 200
    assert "Clear expired sessions" in response.content.decode()


def test_only_staff_get_into_the_admin(client):
    from core.roles import VIEWER
    from tests.factories import UserFactory

    client.force_login(UserFactory(role=VIEWER))
    response = client.get("/admin/")
    assert response.status_code == 302  # to the login page


def test_the_admin_carries_the_product_name(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Streamline administration" in html and "Django administration" not in html
