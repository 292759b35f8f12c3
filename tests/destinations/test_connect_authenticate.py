"""Step 1 of the connect wizard: authenticate, verified live."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from destinations.models import ConnectionDraft
from tests.destinations.conftest import KEY_ID, REGION, SECRET, STREAM
from tests.support import aws_calls

URL = reverse("destinations:connect")
HTMX = {"HTTP_HX_REQUEST": "true"}


def keys_form(**overrides: str) -> dict[str, str]:
    return {
        "auth_method": "access_keys",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "region": REGION,
        **overrides,
    }


def failing(code: str, *, on: str = "ListStreams", message: str = "") -> aws_calls.CallHook:
    def hook(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation == on:
            raise aws_calls.client_error(code, message or code, operation=operation)
        return proceed()

    return hook


def test_it_shows_the_form(logged_in_client: Any) -> None:
    html = logged_in_client.get(URL).content.decode()
    assert "Authenticate" in html
    assert 'name="secret_access_key"' in html
    assert '<option value="eu-west-1">eu-west-1 — Europe (Ireland)</option>' in html
    assert 'name="external_id" value="streamline-' in html  # generated for the role


def test_it_requires_login(client: Any) -> None:
    assert client.get(URL).status_code == 302


def test_it_connects_and_lists_the_streams(logged_in_client: Any, stream: str, user: Any) -> None:
    response = logged_in_client.post(URL, keys_form(), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Connected." in html
    assert f"<code>{STREAM}</code>" in html
    assert "AKIA…MPLE" in html and "account 123456789012" in html
    draft = ConnectionDraft.objects.get(owner=user)
    assert draft.stream_names == [STREAM]
    assert draft.get_secret() == SECRET
    assert reverse("destinations:connect_details", args=[draft.pk]) in html
    assert SECRET not in html


def test_without_htmx_it_redirects_to_step_2(logged_in_client: Any, stream: str) -> None:
    response = logged_in_client.post(URL, keys_form())
    draft = ConnectionDraft.objects.get()
    assert response.url == reverse("destinations:connect_details", args=[draft.pk])


@pytest.mark.parametrize(
    ("hook", "field", "words"),
    [
        (failing("UnrecognizedClientException"), "access_key_id", "does not recognise"),
        (failing("InvalidSignatureException"), "secret_access_key", "secret access key does not"),
        (failing("ExpiredTokenException"), None, "security token has expired"),
        (failing("AccessDeniedException"), None, "not allowed to call kinesis:ListStreams"),
        (
            lambda s, o, p, proceed: (_ for _ in ()).throw(aws_calls.connect_timeout()),
            None,
            "Timed out connecting",
        ),
    ],
    ids=["unknown-key", "wrong-secret", "expired", "denied", "timeout"],
)
def test_it_says_exactly_what_is_wrong(
    logged_in_client: Any, stream: str, hook: Any, field: str | None, words: str
) -> None:
    with aws_calls.call_hook(hook):
        response = logged_in_client.post(URL, keys_form(), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert words in html
    if field:
        assert f'id="id_{field}_error"' in html
    assert SECRET not in html  # not even re-rendered into the password field
    assert 'name="secret_access_key" autocomplete' in html or 'type="password"' in html
    assert 'value="' + SECRET not in html
    assert KEY_ID in html  # the key id is kept so the marketer can correct it
    assert not ConnectionDraft.objects.filter(verified_at__isnull=False).exists()


def test_an_unreachable_endpoint_is_reported(
    logged_in_client: Any, settings: Any, aws: None
) -> None:
    from tests.support.local_kinesis import free_port

    settings.KINESIS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.KINESIS_MAX_ATTEMPTS = 1
    html = logged_in_client.post(URL, keys_form(), **HTMX).content.decode()
    assert "Could not connect to the kinesis endpoint" in html


def test_it_rejects_a_region_kinesis_does_not_serve(logged_in_client: Any) -> None:
    html = logged_in_client.post(URL, keys_form(region="xx-nowhere-1"), **HTMX).content.decode()
    assert "Select a valid choice" in html
    assert 'id="id_region_error"' in html


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"access_key_id": ""}, "access_key_id", "Enter the access key ID"),
        ({"secret_access_key": ""}, "secret_access_key", "Enter the secret access key"),
        ({"access_key_id": "ASIAIOSFODNN7EXAMPLE"}, "access_key_id", "temporary key"),
        ({"access_key_id": "akia-short"}, "access_key_id", "16 to 128 capital letters"),
    ],
)
def test_it_validates_the_keys_before_calling_aws(
    logged_in_client: Any, overrides: dict, field: str, words: str
) -> None:
    calls: list[str] = []

    def spy(service: str, operation: str, params: dict, proceed: Any) -> dict:
        calls.append(operation)
        return proceed()

    with aws_calls.call_hook(spy):
        html = logged_in_client.post(URL, keys_form(**overrides), **HTMX).content.decode()
    assert words in html
    assert f'id="id_{field}_error"' in html
    assert calls == []


def role_form(**overrides: str) -> dict[str, str]:
    return {
        "auth_method": "iam_role",
        "role_arn": "arn:aws:iam::123456789012:role/StreamlineWriter",
        "external_id": "streamline-abc123",
        "region": REGION,
        **overrides,
    }


def test_it_connects_with_a_role(logged_in_client: Any, stream: str, user: Any) -> None:
    seen: list[tuple[str, dict]] = []

    def spy(service: str, operation: str, params: dict, proceed: Any) -> dict:
        seen.append((operation, params))
        return proceed()

    page = logged_in_client.get(URL).content.decode()
    external_id = ConnectionDraft.objects.get(owner=user).external_id
    assert f'value="{external_id}"' in page and "readonly" in page.split(external_id)[1][:80]
    assert 'data-copy-target="#id_external_id"' in page
    # A reload keeps the same external id: the trust policy written with it keeps working.
    assert external_id in logged_in_client.get(URL).content.decode()
    with aws_calls.call_hook(spy):
        html = logged_in_client.post(
            URL, role_form(external_id="tampered"), **HTMX
        ).content.decode()
    assert "Connected." in html
    assert [op for op, _ in seen][:2] == ["AssumeRole", "ListStreams"]
    assert seen[0][1]["ExternalId"] == external_id  # the fixed one, whatever was posted
    draft = ConnectionDraft.objects.get(owner=user)
    assert (draft.auth_method, draft.access_key_id, draft.secret_access_key_encrypted) == (
        "iam_role",
        "",
        "",
    )
    assert draft.external_id == external_id


def test_a_refused_role_points_at_the_trust_policy(logged_in_client: Any, stream: str) -> None:
    with aws_calls.call_hook(failing("AccessDenied", on="AssumeRole")):
        html = logged_in_client.post(URL, role_form(), **HTMX).content.decode()
    assert 'id="id_role_arn_error"' in html
    assert "trust policy" in html


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"role_arn": "arn:aws:iam::12:role/x"}, "role_arn"), ({"role_arn": ""}, "role_arn")],
)
def test_it_validates_the_role(logged_in_client: Any, overrides: dict, field: str) -> None:
    html = logged_in_client.post(URL, role_form(**overrides), **HTMX).content.decode()
    assert f'id="id_{field}_error"' in html


def test_the_trust_policy_names_the_external_id(
    logged_in_client: Any, aws: None, user: Any
) -> None:
    logged_in_client.get(URL)
    external_id = ConnectionDraft.objects.get(owner=user).external_id
    url = reverse("destinations:connect_trust_policy")
    html = logged_in_client.get(url, {"external_id": "streamline-xyz"}, **HTMX).content.decode()
    assert f"&quot;sts:ExternalId&quot;: &quot;{external_id}&quot;" in html
    assert "streamline-xyz" not in html  # the draft's own id, never a typed one
    assert "arn:aws:iam::123456789012:root" in html
    assert 'data-copy-target="#trust-policy"' in html


def test_a_new_verification_replaces_the_previous_draft(
    logged_in_client: Any, stream: str, user: Any
) -> None:
    logged_in_client.post(URL, keys_form(), **HTMX)
    logged_in_client.post(URL, keys_form(), **HTMX)
    assert ConnectionDraft.objects.filter(owner=user).count() == 1
