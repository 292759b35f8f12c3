import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.models import ApiToken
from core.roles import user_set_role
from tests.factories import UserFactory
from tests.profiles.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

RECORD = {"identityMap": {"email": [{"id": "a@x.io"}]}}


def test_api_token_command_prints_a_token_that_is_stored_only_hashed(client, user):
    out = StringIO()
    call_command("api_token", user.username, "--name", "ci", stdout=out)
    plain = out.getvalue().strip()
    assert plain.startswith("sl_") and len(plain) > 40
    row = ApiToken.objects.get(user=user)
    assert row.name == "ci"
    assert row.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in {row.prefix, row.token_hash}
    response = ApiClient(client, plain).post("/api/v1/profiles", RECORD)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_api_token_command_refuses_unknown_or_inactive_users(user):
    with pytest.raises(CommandError, match="No user named"):
        call_command("api_token", "nobody")
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("api_token", user.username)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer wrong-token", "Basic dXNlcjpwYXNz", "Token sl_abc"],
)
def test_requests_without_a_valid_token_get_401_in_the_error_format(client, token, header):
    headers = {"Authorization": header} if header else {}
    response = client.post(
        "/api/v1/profiles", data="{}", content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert body["error"]["code"] == "unauthorized"
    assert "api_token" in body["error"]["message"]
    assert body["error"]["fields"] == {}


def test_a_revoked_token_or_inactive_user_is_refused(client, user, token):
    ApiToken.objects.update(revoked_at=timezone.now())
    assert ApiClient(client, token).post("/api/v1/profiles", RECORD).status_code == 401
    ApiToken.objects.update(revoked_at=None)
    user.is_active = False
    user.save()
    assert ApiClient(client, token).post("/api/v1/profiles", RECORD).status_code == 401


def test_a_viewer_token_may_read_but_not_write(client):
    viewer = UserFactory()
    user_set_role(user=viewer, role="Viewer")
    api = ApiClient(client, ApiToken.issue(user=viewer)[1])
    response = api.post("/api/v1/profiles", RECORD)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert api.get("/api/v1/profiles?identity=email:a@x.io").status_code == 200


def test_the_api_does_not_need_a_csrf_token(user, token):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert ApiClient(strict, token).post("/api/v1/profiles", RECORD).status_code == 200


def test_openapi_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/profiles" in schema["paths"]
    post = schema["paths"]["/api/v1/profiles"]["post"]
    assert "oneOf" in post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()
