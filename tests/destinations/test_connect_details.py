"""Step 2 of the connect wizard: destination details and the stream picker."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from destinations.models import Connection, ConnectionDraft
from tests.destinations.conftest import KEY_ID, REGION, SECRET, STREAM
from tests.factories import ConnectionFactory, UserFactory
from tests.support import aws_calls

HTMX = {"HTTP_HX_REQUEST": "true"}


def make_draft(owner: Any, streams: list[str] | None = None) -> ConnectionDraft:
    draft = ConnectionDraft(
        owner=owner,
        auth_method="access_keys",
        access_key_id=KEY_ID,
        region=REGION,
        stream_names=streams if streams is not None else [STREAM],
        aws_account_id="123456789012",
        verified_at=timezone.now(),
    )
    draft.set_secret(SECRET)
    draft.save()
    return draft


def details_form(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Orders to Kinesis",
        "description": "High-propensity buyers",
        "stream_name": STREAM,
        "include_segment_names": "on",
        "alerts_enabled": "on",
        **overrides,
    }


def test_it_shows_the_form_with_the_streams(logged_in_client: Any, user: Any) -> None:
    draft = make_draft(user, ["alpha", "beta"])
    html = logged_in_client.get(reverse("destinations:connect_details", args=[draft.pk])).content
    html = html.decode()
    assert "Destination details" in html
    assert 'data-fill-value="alpha"' in html and 'data-fill-value="beta"' in html
    assert "AKIA…MPLE" in html and SECRET not in html
    assert 'aria-current="step">Destination details' in html


def test_it_saves_the_connection_and_deletes_the_draft(logged_in_client: Any, user: Any) -> None:
    draft = make_draft(user)
    url = reverse("destinations:connect_details", args=[draft.pk])
    response = logged_in_client.post(url, details_form())
    connection = Connection.objects.get(owner=user)
    assert response.url == reverse("destinations:detail", args=[connection.pk]) + "?new=1"
    assert (connection.name, connection.stream_name, connection.region) == (
        "Orders to Kinesis",
        STREAM,
        REGION,
    )
    assert connection.include_segment_names and not connection.include_segment_timestamps
    assert connection.alerts_enabled
    assert connection.get_secret() == SECRET
    assert connection.aws_account_id == "123456789012"
    assert not ConnectionDraft.objects.filter(verified_at__isnull=False).exists()


def test_a_typed_stream_not_in_the_list_is_accepted(logged_in_client: Any, user: Any) -> None:
    draft = make_draft(user, [])
    url = reverse("destinations:connect_details", args=[draft.pk])
    logged_in_client.post(url, details_form(stream_name="created-later"))
    assert Connection.objects.get().stream_name == "created-later"


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"name": ""}, "name", "This field is required"),
        ({"stream_name": "bad name!"}, "stream_name", "1 to 128 letters"),
        ({"stream_name": ""}, "stream_name", "This field is required"),
        ({"stream_name": "no-such-stream"}, "stream_name", "no stream named “no-such-stream”"),
    ],
)
def test_it_rejects_bad_details_and_keeps_the_rest(
    logged_in_client: Any, user: Any, overrides: dict, field: str, words: str
) -> None:
    draft = make_draft(user)
    url = reverse("destinations:connect_details", args=[draft.pk])
    html = logged_in_client.post(url, details_form(**overrides)).content.decode()
    assert words in html and f'id="id_{field}_error"' in html
    assert "High-propensity buyers" in html  # nothing typed is lost
    assert not Connection.objects.exists()
    assert ConnectionDraft.objects.filter(pk=draft.pk).exists()


def test_the_name_is_unique_per_owner(logged_in_client: Any, user: Any) -> None:
    ConnectionFactory(owner=user, name="Orders to Kinesis")
    ConnectionFactory(name="Someone else's")  # another owner's names do not matter
    draft = make_draft(user)
    url = reverse("destinations:connect_details", args=[draft.pk])
    html = logged_in_client.post(url, details_form(name="orders to kinesis")).content.decode()
    assert "already have a destination named" in html
    other = make_draft(user)
    logged_in_client.post(
        reverse("destinations:connect_details", args=[other.pk]),
        details_form(name="Someone else's"),
    )
    assert Connection.objects.filter(owner=user, name="Someone else's").exists()


def test_another_users_draft_is_not_found(logged_in_client: Any) -> None:
    draft = make_draft(UserFactory())
    url = reverse("destinations:connect_details", args=[draft.pk])
    assert logged_in_client.get(url).status_code == 404
    assert logged_in_client.post(url, details_form()).status_code == 404


def test_an_unverified_draft_is_not_found(logged_in_client: Any, user: Any) -> None:
    draft = make_draft(user)
    ConnectionDraft.objects.filter(pk=draft.pk).update(verified_at=None)
    url = reverse("destinations:connect_details", args=[draft.pk])
    assert logged_in_client.get(url).status_code == 404


def test_the_stream_picker_searches_and_pages(logged_in_client: Any, user: Any) -> None:
    names = [f"clicks-{n:03}" for n in range(45)] + [f"orders-{n:03}" for n in range(5)]
    draft = make_draft(user, names)
    url = reverse("destinations:connect_streams", args=[draft.pk])
    first = logged_in_client.get(url, **HTMX).content.decode()
    assert "50 streams in us-east-1" in first
    assert first.count('class="stream-option"') == 20
    assert "Page 1 of 3" in first
    third = logged_in_client.get(url, {"page": 3}, **HTMX).content.decode()
    assert third.count('class="stream-option"') == 10
    found = logged_in_client.get(url, {"q": "ORDERS"}, **HTMX).content.decode()
    assert "5 of 50 streams match “ORDERS”" in found
    assert found.count('class="stream-option"') == 5
    assert "clicks-" not in found


def test_refreshing_lists_the_streams_again(
    logged_in_client: Any, user: Any, owner_kinesis: Any
) -> None:
    draft = make_draft(user, [])
    owner_kinesis.create_stream(StreamName="new-stream", ShardCount=1)
    url = reverse("destinations:connect_streams", args=[draft.pk])
    html = logged_in_client.post(url, **HTMX).content.decode()
    assert 'data-fill-value="new-stream"' in html
    draft.refresh_from_db()
    assert draft.stream_names == ["new-stream"]


def test_a_failed_refresh_says_why(logged_in_client: Any, user: Any, aws: None) -> None:
    draft = make_draft(user, ["kept"])

    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise aws_calls.client_error("AccessDeniedException", operation=operation)

    with aws_calls.call_hook(deny):
        html = logged_in_client.post(
            reverse("destinations:connect_streams", args=[draft.pk]), **HTMX
        ).content.decode()
    assert "not allowed to call kinesis:ListStreams" in html
    assert 'data-fill-value="kept"' in html
