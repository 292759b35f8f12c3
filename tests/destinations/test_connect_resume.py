"""An unfinished connection is offered for resume (and can be discarded); the wizard's
address of a saved connection leads to it; the external id is the draft's own."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from destinations.models import Connection, ConnectionDraft
from tests.destinations.test_connect_details import details_form, make_draft
from tests.factories import UserFactory

PAGES = ("catalog", "destinations:list")


def test_a_verified_draft_is_offered_on_the_catalog_and_the_destinations_page(
    logged_in_client: Any, user: Any
) -> None:
    draft = make_draft(user)
    for page in PAGES:
        html = logged_in_client.get(reverse(page)).content.decode()
        assert "Unfinished connection" in html
        assert reverse("destinations:connect_details", args=[draft.pk]) in html
        assert reverse("destinations:connect_discard", args=[draft.pk]) in html
        assert "AKIA…MPLE" in html


def test_nothing_is_offered_without_a_verified_draft(logged_in_client: Any, user: Any) -> None:
    logged_in_client.get(reverse("destinations:connect"))  # starts an unverified draft
    assert ConnectionDraft.objects.filter(owner=user).exists()
    for page in PAGES:
        assert "Unfinished connection" not in logged_in_client.get(reverse(page)).content.decode()


def test_another_users_draft_is_not_offered(logged_in_client: Any) -> None:
    make_draft(UserFactory())
    for page in PAGES:
        assert "Unfinished connection" not in logged_in_client.get(reverse(page)).content.decode()


def test_discarding_erases_the_draft_and_returns_to_the_page(
    logged_in_client: Any, user: Any
) -> None:
    draft = make_draft(user)
    url = reverse("destinations:connect_discard", args=[draft.pk])
    response = logged_in_client.post(url, {"next": reverse("destinations:list")})
    assert response.url == reverse("destinations:list")
    assert not ConnectionDraft.objects.filter(pk=draft.pk).exists()
    # An address of another site is never followed.
    other = make_draft(user)
    url = reverse("destinations:connect_discard", args=[other.pk])
    response = logged_in_client.post(url, {"next": "https://evil.example.com/"})
    assert response.url == reverse("catalog")


def test_someone_elses_draft_cannot_be_discarded(logged_in_client: Any) -> None:
    draft = make_draft(UserFactory())
    url = reverse("destinations:connect_discard", args=[draft.pk])
    assert logged_in_client.post(url).status_code == 404
    assert ConnectionDraft.objects.filter(pk=draft.pk).exists()


def test_the_saved_wizard_address_leads_to_the_connection(logged_in_client: Any, user: Any) -> None:
    """Browser Back after saving requests the details step again: no raw 404."""
    draft = make_draft(user)
    details = reverse("destinations:connect_details", args=[draft.pk])
    logged_in_client.post(details, details_form())
    connection = Connection.objects.get(owner=user)
    assert connection.created_from_draft == draft.pk
    response = logged_in_client.get(details)
    assert response.url == reverse("destinations:detail", args=[connection.pk])
    streams = reverse("destinations:connect_streams", args=[draft.pk])
    assert logged_in_client.get(streams, HTTP_HX_REQUEST="true")["HX-Redirect"] == response.url
    # Another user's saved draft id stays a 404.
    other = UserFactory()
    logged_in_client.force_login(other)
    assert logged_in_client.get(details).status_code == 404


def test_step_one_offers_the_verified_draft_and_keeps_the_external_id(
    logged_in_client: Any, user: Any
) -> None:
    draft = make_draft(user)
    draft.external_id = "streamline-fixed"
    draft.save()
    html = logged_in_client.get(reverse("destinations:connect")).content.decode()
    assert reverse("destinations:connect_details", args=[draft.pk]) in html
    assert 'value="AKIAIOSFODNN7EXAMPLE"' in html  # prefilled, never the secret
    assert 'value="streamline-fixed"' in html
    assert ConnectionDraft.objects.filter(owner=user).count() == 1


def test_a_viewer_gets_no_draft(client: Any, db: None) -> None:
    viewer = UserFactory(role="Viewer")
    client.force_login(viewer)
    html = client.get(reverse("destinations:connect")).content.decode()
    assert "read-only" in html
    assert not ConnectionDraft.objects.filter(owner=viewer).exists()
