import pytest
from django.urls import reverse

from alerts.models import Alert
from tests.factories import AlertFactory, DataflowFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_menu_shows_open_alerts_and_an_unread_count(logged_in_client, user):
    dataflow = DataflowFactory(connection__owner=user)
    AlertFactory(recipient=user, title="Dataflow “A” stopped", dataflow=dataflow)
    AlertFactory(recipient=user, title="Old problem", resolved_at="2026-01-01T00:00:00Z")
    AlertFactory(title="Someone else's problem")
    html = logged_in_client.get(reverse("catalog")).content.decode()
    assert 'aria-label="Notifications: 1 open alert, 1 new"' in html
    assert "Dataflow “A” stopped" in html
    assert reverse("activation:dataflow_detail", args=[dataflow.pk]) in html
    assert "Old problem" not in html and "Someone else" not in html
    assert 'hx-post="/alerts/menu/read/"' in html


def test_menu_without_alerts(logged_in_client):
    html = logged_in_client.get(reverse("catalog")).content.decode()
    assert "No open alerts. Everything looks healthy." in html
    assert 'class="notifications-count' not in html


def test_opening_the_menu_marks_alerts_read(logged_in_client, user):
    alert = AlertFactory(recipient=user)
    response = logged_in_client.post(reverse("alerts:menu_read"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    alert.refresh_from_db()
    assert alert.read_at is not None
    html = logged_in_client.get(reverse("catalog")).content.decode()
    assert '1 open alert"' in html and "hx-post" not in html.split("notifications")[1][:200]


def test_a_viewer_may_mark_read_but_not_dismiss(client):
    viewer = UserFactory(role="Viewer")
    alert = AlertFactory(recipient=viewer)
    client.force_login(viewer)
    assert client.post(reverse("alerts:menu_read")).status_code == 204
    assert client.post(reverse("alerts:dismiss", args=[alert.pk])).status_code == 403
    assert "Dismiss" not in client.get(reverse("alerts:list")).content.decode()
    assert "Dismiss" not in client.get(reverse("catalog")).content.decode()


def test_dismiss_resolves_and_returns_to_the_page(logged_in_client, user):
    alert = AlertFactory(recipient=user)
    response = logged_in_client.post(
        reverse("alerts:dismiss", args=[alert.pk]), {"next": "/dataflows/"}
    )
    assert response.status_code == 302 and response["Location"] == "/dataflows/"
    alert.refresh_from_db()
    assert alert.resolved_at is not None and alert.resolved_by == user


def test_dismiss_never_redirects_off_site(logged_in_client, user):
    alert = AlertFactory(recipient=user)
    response = logged_in_client.post(
        reverse("alerts:dismiss", args=[alert.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("alerts:list")


def test_someone_elses_alert_cannot_be_dismissed(logged_in_client):
    alert = AlertFactory()
    assert logged_in_client.post(reverse("alerts:dismiss", args=[alert.pk])).status_code == 404
    assert Alert.objects.get().resolved_at is None


def main_of(response) -> str:
    """The page's main content (the topbar's notifications menu left out)."""
    return response.content.decode().split('<main id="main"')[1]


def test_alert_list_by_state(logged_in_client, user):
    AlertFactory(recipient=user, title="Ongoing")
    AlertFactory(recipient=user, title="Fixed", resolved_at="2026-01-01T00:00:00Z")
    html = main_of(logged_in_client.get(reverse("alerts:list")))
    assert "Ongoing" in html and "Fixed" not in html
    html = main_of(logged_in_client.get(reverse("alerts:list") + "?state=resolved"))
    assert "Fixed" in html and "Ongoing" not in html
    html = main_of(logged_in_client.get(reverse("alerts:list") + "?state=all"))
    assert "Fixed" in html and "Ongoing" in html


def test_alert_list_empty_state(logged_in_client):
    html = logged_in_client.get(reverse("alerts:list")).content.decode()
    assert "No open alerts. Every dataflow and connection looks healthy." in html
