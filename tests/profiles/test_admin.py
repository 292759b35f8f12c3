import json

import pytest
from django.urls import reverse

from profiles.models import IdentityNamespace, Segment
from profiles.services import profiles_upsert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    profiles_upsert(
        records=[{"identityMap": {"email": [{"id": "a@x.io"}]}, "attributes": {"n": 1}}],
        source="api",
    )
    return client


@pytest.mark.parametrize(
    "model",
    ["identitynamespace", "profile", "identity", "segment", "segmentmembership", "profilechange"],
)
def test_every_profiles_model_has_an_admin_list(admin_client, model):
    response = admin_client.get(reverse(f"admin:profiles_{model}_changelist"))
    assert response.status_code == 200


def test_profiles_are_read_only_in_admin_and_searchable_by_identity(admin_client):
    response = admin_client.get(reverse("admin:profiles_profile_changelist"), {"q": "a@x.io"})
    assert "1 profile" in response.content.decode()
    assert admin_client.get(reverse("admin:profiles_profile_add")).status_code == 403


def test_a_segment_saved_in_admin_has_its_rule_validated(admin_client, monkeypatch):
    monkeypatch.setattr("profiles.tasks.segment_evaluate_task.delay", lambda *a: None)
    url = reverse("admin:profiles_segment_add")
    bad = admin_client.post(
        url,
        {
            "name": "Bad",
            "description": "",
            "rule": json.dumps({"path": "a", "op": "like"}),
            "active": "on",
        },
    )
    assert bad.status_code == 200
    assert "rule.op: must be one of" in bad.content.decode()
    good = admin_client.post(
        url,
        {
            "name": "Good",
            "description": "",
            "rule": json.dumps({"path": "n", "op": "gt", "value": 0}),
            "active": "on",
        },
    )
    assert good.status_code == 302
    segment = Segment.objects.get(name="Good")
    change = reverse("admin:profiles_segment_change", args=[segment.pk])
    admin_client.post(
        change,
        {"name": "Renamed", "description": "d", "rule": json.dumps(segment.rule), "active": "on"},
    )
    segment.refresh_from_db()
    assert (segment.name, segment.description) == ("Renamed", "d")


def test_admins_register_custom_namespaces_but_cannot_delete_builtin_ones(admin_client):
    admin_client.post(
        reverse("admin:profiles_identitynamespace_add"), {"code": "loyaltyid", "name": "Loyalty"}
    )
    assert IdentityNamespace.objects.filter(code="loyaltyid", builtin=False).exists()
    email = IdentityNamespace.objects.get(code="email")
    delete = admin_client.get(reverse("admin:profiles_identitynamespace_delete", args=[email.pk]))
    assert delete.status_code == 403


@pytest.mark.parametrize(
    "rule",
    [
        '{"path": "a", "op": "gt", "value": NaN}',
        '{"path": "a", "op": "equals", "value": "x\\u0000"}',
        '{"not":' * 100_000 + '{"path": "a", "op": "exists"}' + "}" * 100_000,
    ],
)
def test_a_hostile_rule_in_admin_is_a_form_error(admin_client, rule):
    url = reverse("admin:profiles_segment_add")
    response = admin_client.post(url, {"name": "Bad", "description": "", "rule": rule})
    assert response.status_code == 200
    assert "Enter a valid JSON" in response.content.decode()
    assert not Segment.objects.exists()
