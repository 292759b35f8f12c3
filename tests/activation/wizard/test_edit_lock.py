"""One edit per live dataflow: whoever else opens it sees who is editing and
since when, and may take the edit over or discard it; the previous editor is
told when they come back. Nobody is locked out by an abandoned edit."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from activation import selectors, services
from activation.models import Dataflow, EditHandover
from tests.activation.wizard.test_views import ready_draft, url
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(user: Any, connection: Any, two_segments: Any) -> Dataflow:
    return services.dataflow_finish(
        dataflow=ready_draft(user, connection, [two_segments[0]]), user=user, name="Live"
    )


@pytest.fixture
def alice() -> Any:
    return UserFactory(username="alice", first_name="Alice", last_name="Martin")


@pytest.fixture
def alices_edit(live: Dataflow, alice: Any, two_segments: Any) -> Dataflow:
    draft = services.dataflow_edit_start(dataflow=live, user=alice)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[s.id for s in two_segments])
    return draft


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- services ---------------------------------------------------------------------------


def test_someone_elses_edit_is_refused_with_who_and_since(
    live: Dataflow, alices_edit: Dataflow, user: Any
) -> None:
    with pytest.raises(services.EditInProgressError) as refused:
        services.dataflow_edit_start(dataflow=live, user=user)
    lock = refused.value.lock
    assert lock.draft == alices_edit and lock.editor.username == "alice"
    assert lock.since == alices_edit.created_at
    assert "Alice Martin has been editing this dataflow since" in str(refused.value)


def test_taking_over_hands_the_edit_with_its_changes_and_leaves_a_notice(
    live: Dataflow, alices_edit: Dataflow, alice: Any, user: Any, two_segments: Any
) -> None:
    taken = services.dataflow_edit_start(dataflow=live, user=user, take_over=True)
    assert taken.pk == alices_edit.pk and taken.created_by == user
    assert selectors.selected_segment_ids(dataflow=taken) == {s.id for s in two_segments}
    lock = selectors.edit_lock(dataflow=live)
    assert lock.editor == user and lock.since > alices_edit.created_at
    (notice,) = services.edit_handovers_take_unseen(user=alice)
    assert (notice.action, notice.by, notice.draft_id) == ("taken_over", user, taken.pk)
    assert services.edit_handovers_take_unseen(user=alice) == []  # told once
    # Alice is now the one refused, naming the new editor.
    with pytest.raises(services.EditInProgressError, match="has been editing"):
        services.dataflow_edit_start(dataflow=live, user=alice)


def test_discarding_someone_elses_edit_leaves_the_live_dataflow_and_a_notice(
    live: Dataflow, alices_edit: Dataflow, alice: Any, user: Any, two_segments: Any
) -> None:
    assert services.dataflow_edit_discard(dataflow=live, user=user) is True
    assert not Dataflow.objects.filter(pk=alices_edit.pk).exists()
    assert selectors.selected_segment_ids(dataflow=live) == {two_segments[0].id}
    assert selectors.edit_lock(dataflow=live) is None
    (notice,) = EditHandover.objects.filter(previous_editor=alice)
    assert (notice.action, notice.by, notice.draft_id) == ("discarded", user, alices_edit.pk)
    assert services.dataflow_edit_discard(dataflow=live, user=user) is False
    services.dataflow_edit_start(dataflow=live, user=user)  # free to edit now


# --- the wizard's pages -----------------------------------------------------------------


def test_edit_of_a_dataflow_someone_edits_shows_who_since_when_and_the_choices(
    logged_in_client: Any, live: Dataflow, alices_edit: Dataflow
) -> None:
    response = logged_in_client.post(reverse("activation:wizard_edit", args=[live.pk]))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Alice Martin" in html and "has been editing this dataflow since" in html
    assert alices_edit.created_at.strftime("%Y-%m-%d %H:%M") in html
    assert 'name="take_over" value="1"' in html
    assert reverse("activation:wizard_edit_discard", args=[live.pk]) in html


def test_the_dataflow_page_says_who_is_editing_it(
    logged_in_client: Any, live: Dataflow, alices_edit: Dataflow
) -> None:
    html = logged_in_client.get(
        reverse("activation:dataflow_detail", args=[live.pk])
    ).content.decode()
    assert 'id="edit-in-progress"' in html
    assert "<strong>Alice Martin</strong> has an unfinished edit of this dataflow" in html
    assert "lets you take it over or discard it" in html


def test_the_edit_copys_own_url_explains_instead_of_a_bare_404(
    logged_in_client: Any, alices_edit: Dataflow
) -> None:
    for name in ("segments", "mapping", "review", "resume"):
        response = logged_in_client.get(url(name, alices_edit))
        assert response.status_code == 409, name
        assert "Alice Martin" in response.content.decode()


def test_a_superuser_is_not_locked_out_either(live: Dataflow, alices_edit: Dataflow) -> None:
    root = client_for(UserFactory(username="root", is_superuser=True, is_staff=True, role=""))
    response = root.post(reverse("activation:wizard_edit", args=[live.pk]), {"take_over": "1"})
    assert response.status_code == 302 and response.url == url("segments", alices_edit)
    assert root.get(response.url).status_code == 200


def test_take_over_then_the_previous_editor_is_told_once(
    logged_in_client: Any, user: Any, live: Dataflow, alices_edit: Dataflow, alice: Any
) -> None:
    response = logged_in_client.post(
        reverse("activation:wizard_edit", args=[live.pk]), {"take_over": "1"}, follow=True
    )
    html = response.content.decode()
    assert "You took over Alice Martin&#x27;s edit" in html
    assert "Select segments" in html

    alices = client_for(alice)
    back = alices.get(url("segments", alices_edit)).content.decode()
    assert f"{user.username} took over your unfinished edit of “Live”" in back
    assert "has been editing this dataflow since" in back  # who holds it now
    again = alices.get(reverse("activation:wizard_drafts")).content.decode()
    assert "took over your unfinished edit" not in again


def test_discard_then_the_previous_editor_is_told_and_sent_to_the_live_dataflow(
    logged_in_client: Any, user: Any, live: Dataflow, alices_edit: Dataflow, alice: Any
) -> None:
    response = logged_in_client.post(
        reverse("activation:wizard_edit_discard", args=[live.pk]), follow=True
    )
    assert "Discarded Alice Martin&#x27;s unfinished edit of “Live”" in response.content.decode()
    alices = client_for(alice)
    catalog = alices.get(reverse("catalog")).content.decode()
    assert "discarded your unfinished edit of “Live”" in catalog
    # Her old link to the edit no longer 404s: it says what happened.
    old_link = alices.get(url("segments", alices_edit), follow=True)
    assert old_link.redirect_chain[-1][0] == reverse("activation:dataflow_detail", args=[live.pk])
    assert "discarded your unfinished edit" in old_link.content.decode()


def test_a_missing_draft_is_still_a_404(logged_in_client: Any) -> None:
    assert (
        logged_in_client.get(reverse("activation:wizard_segments", args=[999999])).status_code
        == 404
    )
