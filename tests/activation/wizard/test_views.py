"""The wizard's pages: one view per step, skips refused, choices kept, htmx fragments."""

import json
import uuid
from typing import Any

import pytest
from django.urls import reverse

from activation import services
from activation.export import records
from activation.models import Backfill, Dataflow, DataflowStatus
from activation.services import AttributeSpec, IdentitySpec
from tests.activation.wizard.conftest import member
from tests.audit.trail import described_changes
from tests.factories import ConnectionFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def url(name: str, dataflow: Any) -> str:
    return reverse(f"activation:wizard_{name}", args=[dataflow.pk])


def draft_with_segments(user: Any, connection: Any, segments: list) -> Dataflow:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[s.id for s in segments])
    return draft


def ready_draft(user: Any, connection: Any, segments: list) -> Dataflow:
    draft = draft_with_segments(user, connection, segments)
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec("person.name.firstName"), AttributeSpec("personalEmail.address")],
        identities=[IdentitySpec("ecid"), IdentitySpec("email", hashed=True)],
        partition_key_source="ecid",
    )
    return draft


# --- select destination ---------------------------------------------------------------


def test_start_lists_only_my_connections(logged_in_client: Any, connection: Any) -> None:
    theirs = ConnectionFactory(name="Someone else's")
    page = logged_in_client.get(reverse("activation:wizard_start")).content.decode()
    assert "Marketing stream" in page and theirs.name not in page


def test_start_without_a_choice_says_what_to_do(logged_in_client: Any, connection: Any) -> None:
    response = logged_in_client.post(reverse("activation:wizard_start"), {})
    assert "Choose the destination to activate segments to." in response.content.decode()
    assert not Dataflow.objects.exists()


def test_start_refuses_a_missing_connection(logged_in_client: Any, connection: Any) -> None:
    missing = connection.pk + 1000
    response = logged_in_client.post(reverse("activation:wizard_start"), {"connection": missing})
    assert "That destination does not exist." in response.content.decode()
    assert not Dataflow.objects.exists()


def test_choosing_a_destination_creates_the_draft(logged_in_client: Any, connection: Any) -> None:
    response = logged_in_client.post(
        reverse("activation:wizard_start"), {"connection": connection.pk}
    )
    draft = Dataflow.objects.get()
    assert response.url == url("segments", draft)
    assert (draft.status, draft.connection, draft.edit_of) == ("draft", connection, None)


def test_entered_from_a_connection_the_wizard_skips_to_segments(
    logged_in_client: Any, connection: Any
) -> None:
    response = logged_in_client.get(
        reverse("activation:wizard_start") + f"?connection={connection.pk}"
    )
    draft = Dataflow.objects.get()
    assert response.url == url("segments", draft)


def test_a_viewer_cannot_start_a_draft_through_the_link(client: Any, connection: Any) -> None:
    viewer = UserFactory(role="Viewer")
    connection.owner = viewer
    connection.save()
    client.force_login(viewer)
    response = client.get(reverse("activation:wizard_start") + f"?connection={connection.pk}")
    assert response.status_code == 403
    assert not Dataflow.objects.exists()


def test_no_connection_yet_points_to_the_catalog(logged_in_client: Any) -> None:
    page = logged_in_client.get(reverse("activation:wizard_start")).content.decode()
    assert "Connect Amazon Kinesis" in page


def test_the_destination_can_be_changed_on_a_new_draft(
    logged_in_client: Any, user: Any, connection: Any
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    other = ConnectionFactory(owner=user, name="Second stream")
    response = logged_in_client.post(url("destination", draft), {"connection": other.pk})
    assert response.url == url("segments", draft)
    draft.refresh_from_db()
    assert draft.connection == other
    # Over htmx, a change of the choice is saved as it is made, without leaving the step.
    response = logged_in_client.post(
        url("destination", draft), {"connection": connection.pk, "action": "autosave"}, headers=HTMX
    )
    assert response.status_code == 204
    draft.refresh_from_db()
    assert draft.connection == connection


# --- refusing skipped steps, finished drafts, other people's drafts ---------------------------


@pytest.mark.parametrize("step", ["mapping", "review"])
def test_a_skipped_step_redirects_to_the_first_incomplete_one(
    logged_in_client: Any, user: Any, connection: Any, step: str
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    response = logged_in_client.get(url(step, draft), follow=True)
    assert response.redirect_chain[-1][0] == url("segments", draft)
    assert "Complete the step “Select segments” first." in response.content.decode()


def test_finishing_a_skipped_wizard_is_refused(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    response = logged_in_client.post(url("finish", draft), {"name": "x"})
    assert response.url == url("mapping", draft)
    assert Dataflow.objects.get(pk=draft.pk).status == DataflowStatus.DRAFT


def test_another_users_draft_is_not_found(client: Any, user: Any, connection: Any) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    client.force_login(UserFactory())
    assert client.get(url("segments", draft)).status_code == 404


def test_a_finished_dataflow_is_not_a_wizard_any_more(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    live = services.dataflow_finish(
        dataflow=ready_draft(user, connection, list(two_segments)), user=user, name="Live"
    )
    response = logged_in_client.get(url("mapping", live))
    assert response.url == reverse("activation:dataflow_detail", args=[live.pk])


# --- segments ---------------------------------------------------------------------------


def test_segments_show_size_status_and_selection(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    SegmentFactory(name="Dormant", active=False)
    draft = draft_with_segments(user, connection, [two_segments[1]])
    page = logged_in_client.get(url("segments", draft)).content.decode()
    assert "Newsletter subscribers" in page and "Inactive" in page
    assert f'value="{two_segments[1].id}" id="seg-{two_segments[1].id}" checked' in page
    assert "Selected (1)" in page


def test_next_without_a_segment_is_refused_with_a_message(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    response = logged_in_client.post(url("segments", draft), {"action": "next"})
    assert response.status_code == 400
    assert "Select at least one segment to activate." in response.content.decode()


def test_ticking_on_one_page_keeps_choices_made_on_another(
    logged_in_client: Any, user: Any, connection: Any
) -> None:
    segments = [SegmentFactory(name=f"Audience {n:02}") for n in range(30)]
    draft = draft_with_segments(user, connection, [segments[29]])  # on page 2
    page_one = [str(s.id) for s in segments[:25]]
    response = logged_in_client.post(
        url("segments", draft),
        {"shown": page_one, "segment": [page_one[0], page_one[3]], "action": "next"},
    )
    assert response.url == url("mapping", draft)
    assert set(draft.mapped_segments.values_list("segment_id", flat=True)) == {
        segments[0].id,
        segments[3].id,
        segments[29].id,
    }
    # Unticking on page 1 removes only what page 1 showed.
    logged_in_client.post(url("segments", draft), {"shown": page_one, "segment": [page_one[3]]})
    assert draft.mapped_segments.count() == 2


def test_segment_ticks_over_htmx_answer_with_the_panel_only(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    shown = [str(s.id) for s in two_segments]
    response = logged_in_client.post(
        url("segments", draft), {"shown": shown, "segment": shown[:1]}, headers=HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'id="segments-panel"' in body and "Selected (1)" in body


def test_search_narrows_the_list(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    body = logged_in_client.post(
        url("segments", draft), {"q": "vip", "action": "search"}, headers=HTMX
    ).content.decode()
    assert "VIP customers" in body and "Newsletter subscribers" not in body


def test_a_removed_chip_unselects_the_segment(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    logged_in_client.post(url("segments", draft), {"unselect": str(two_segments[0].id)})
    assert list(draft.mapped_segments.values_list("segment_id", flat=True)) == [two_segments[1].id]


def test_malformed_segment_ids_are_ignored(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    response = logged_in_client.post(
        url("segments", draft), {"shown": ["nope", str(uuid.uuid4())], "segment": ["nope"]}
    )
    assert response.status_code == 302
    assert not draft.mapped_segments.exists()


# --- mapping ----------------------------------------------------------------------------------


def test_mapping_is_prefilled_with_the_defaults(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    page = logged_in_client.get(url("mapping", draft)).content.decode()
    for path in ("person.name.firstName", "person.name.lastName", "personalEmail.address"):
        assert f'name="source_path" value="{path}"' in page
    for namespace in ("ecid", "email", "phone", "crmid"):
        assert f'name="identity" value="{namespace}" checked' in page
    assert '<option value="ecid" selected>' in page
    # The schema picker lists paths found in profile data, with type and examples.
    assert "<code>person.name.firstName</code>" in page and "First" in page


def mapping_post(**extra: Any) -> dict:
    data = {
        "source_path": ["person.name.firstName", "person.name.lastName", "personalEmail.address"],
        "target_path": ["", "", ""],
        "namespace": ["crmid", "ecid", "email", "phone"],
        "identity": ["ecid", "email"],
        "hashed": ["email"],
        "partition_key": "ecid",
        "action": "next",
    }
    data.update(extra)
    return data


def test_saving_the_mapping_goes_to_review_and_back_keeps_it(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    response = logged_in_client.post(url("mapping", draft), mapping_post())
    assert response.url == url("review", draft)
    assert {(s.namespace, s.hashed) for s in draft.identity_selections.all()} == {
        ("ecid", False),
        ("email", True),
    }
    # Back to segments and forward again: the saved choices, not the defaults.
    page = logged_in_client.get(url("mapping", draft)).content.decode()
    assert 'name="identity" value="phone" checked' not in page
    assert 'name="hashed" value="email" checked' in page


def test_a_duplicate_attribute_gets_a_clear_error_and_nothing_is_lost(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    data = mapping_post(
        source_path=["person.name.firstName", "loyalty.tier", "person.name.firstName"],
        target_path=["", "", ""],
    )
    response = logged_in_client.post(url("mapping", draft), data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "person.name.firstName is already mapped in row 1." in body
    assert 'value="loyalty.tier"' in body  # what was typed is still there
    assert not draft.attribute_mappings.exists()


def test_adding_from_the_picker_over_htmx_saves_and_returns_the_rows(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    response = logged_in_client.post(
        url("mapping_save", draft), mapping_post(add="person.birthDate", action=""), headers=HTMX
    )
    body = response.content.decode()
    assert "<html" not in body and '<div id="attributes" hx-swap-oob="true">' in body
    assert body.count('name="source_path"') == 4
    assert 'value="person.birthDate"' in body
    # Saved as it is made: the draft row is the saved state.
    assert [m.source_path for m in draft.attribute_mappings.all()][-1] == "person.birthDate"
    assert "All changes saved." in body
    # The picker marks what is mapped instead of offering it again.
    assert 'aria-label="person.name.lastName is mapped"' in body
    assert 'aria-label="Add person.name.lastName"' not in body


def test_adding_a_mapped_path_again_does_not_duplicate_it(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    body = logged_in_client.post(
        url("mapping_save", draft),
        mapping_post(add="person.name.lastName", action=""),
        headers=HTMX,
    ).content.decode()
    assert body.count('name="source_path"') == 3
    assert "person.name.lastName is already mapped." in body


def test_each_change_is_saved_as_it_is_made(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    """A tick, a target path, the partition key, the option: each stored by the autosave."""
    draft = draft_with_segments(user, connection, list(two_segments))
    data = mapping_post(
        target_path=["first", "", ""],
        identity=["ecid", "email", "crmid"],
        hashed=["email", "crmid"],
        partition_key="crmid",
        export_only_on_value_change="on",
        action="",
    )
    body = logged_in_client.post(url("mapping_save", draft), data, headers=HTMX).content.decode()
    assert "<html" not in body and 'name="source_path"' not in body  # never the inputs typed in
    assert "All changes saved." in body
    draft.refresh_from_db()
    assert next((m.source_path, m.target_path) for m in draft.attribute_mappings.all()) == (
        "person.name.firstName",
        "first",
    )
    assert {(s.namespace, s.hashed) for s in draft.identity_selections.all()} == {
        ("crmid", True),
        ("ecid", False),
        ("email", True),
    }
    assert draft.partition_key_source == "crmid" and draft.export_only_on_value_change
    page = logged_in_client.get(url("mapping", draft)).content.decode()
    assert 'name="hashed" value="crmid" checked' in page and 'value="first"' in page
    assert "no-store" in logged_in_client.get(url("mapping", draft))["Cache-Control"]


def test_an_invalid_target_is_shown_on_the_target_and_clears_when_fixed(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    bad = mapping_post(target_path=["", "identityMap.x", ""], action="")
    body = logged_in_client.post(url("mapping_save", draft), bad, headers=HTMX).content.decode()
    target_slot = body.split('id="target-error-1"')[1].split("</div>")[0]
    source_slot = body.split('id="source-error-1"')[1].split("</div>")[0]
    assert "would overwrite identityMap" in target_slot and "errorlist" not in source_slot
    assert "Not saved yet" in body
    assert draft.attribute_mappings.count() == 2  # the last valid mapping is kept
    fixed = mapping_post(target_path=["", "surname", ""], action="")
    body = logged_in_client.post(url("mapping_save", draft), fixed, headers=HTMX).content.decode()
    assert "errorlist" not in body.split('id="target-error-1"')[1].split("</div>")[0]
    assert "All changes saved." in body
    assert ("person.name.lastName", "surname") in {
        (m.source_path, m.target_path) for m in draft.attribute_mappings.all()
    }


def test_an_invalid_source_is_shown_on_the_source(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    bad = mapping_post(source_path=["person..x", "loyalty.tier", ""], action="")
    body = logged_in_client.post(url("mapping", draft), bad).content.decode()
    assert "is not a valid path" in body.split('id="source-error-0"')[1].split("</div>")[0]
    assert "errorlist" not in body.split('id="target-error-0"')[1].split("</div>")[0]


def test_removing_a_row(logged_in_client: Any, user: Any, connection: Any, two_segments) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    body = logged_in_client.post(
        url("mapping", draft), mapping_post(remove="1", action="")
    ).content.decode()
    assert (
        body.count('name="source_path"') == 2
        and "person.name.lastName" not in body.split("Profile schema")[0]
    )


def test_more_than_50_attributes_warns_but_saves(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    paths = [f"custom.field{n}" for n in range(51)]
    data = mapping_post(source_path=paths, target_path=[""] * 51, action="")
    body = logged_in_client.post(url("mapping", draft), {**data, "action": "add_row"}).content
    assert "51 attributes mapped: more than 50" in body.decode() or "52 attributes" in body.decode()
    response = logged_in_client.post(url("mapping", draft), {**data, "action": "next"})
    assert response.url == url("review", draft)
    assert draft.attribute_mappings.count() == 51


def test_an_unknown_partition_key_is_refused(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    response = logged_in_client.post(url("mapping", draft), mapping_post(partition_key="bogus!"))
    assert response.status_code == 400
    assert "Choose the partition key" in response.content.decode()


def test_the_schema_picker_searches(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    body = logged_in_client.get(
        url("schema", draft) + "?picker_q=email", headers=HTMX
    ).content.decode()
    assert "personalEmail.address" in body and "person.name.firstName" not in body


# --- review and finish -------------------------------------------------------------------------


@pytest.fixture
def fixed_record_id(monkeypatch: Any) -> str:
    """Record ids are random per record; fix one so two builds compare byte for byte."""
    monkeypatch.setattr(records.uuid, "uuid4", lambda: uuid.UUID(int=42))
    return uuid.UUID(int=42).hex


def test_the_review_shows_the_record_exactly_as_sent(
    logged_in_client: Any, user: Any, connection: Any, two_segments, fixed_record_id: str
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    first = selectors_first_member(draft)
    page = logged_in_client.get(url("review", draft)).content.decode()
    record = records.record_for_profile(dataflow=draft, profile_id=first)
    from django.utils.html import escape

    assert f'<pre class="wrap" id="sample-data">{escape(record.text)}</pre>' in page
    assert f'id="sample-partition-key">{record.partition_key}<' in page
    assert f'id="sample-size">{record.size_bytes:,}<' in page
    assert "Newsletter subscribers" in page and "email_lc_sha256" in page


def selectors_first_member(draft: Dataflow) -> int:
    from activation.selectors import sample_member_id

    return sample_member_id(dataflow=draft)


def test_another_sample_shows_the_next_member(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    first = selectors_first_member(draft)
    body = logged_in_client.get(
        url("sample", draft) + f"?after={first}", headers=HTMX
    ).content.decode()
    assert "<html" not in body
    shown = int(body.split('id="sample-profile">')[1].split("<")[0])
    assert shown != first


def test_a_chosen_profile_must_be_a_member(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    outsider = member(SegmentFactory())
    body = logged_in_client.get(url("review", draft) + f"?sample={outsider.pk}").content.decode()
    assert f"Profile {outsider.pk} is not a current member of the selected segments." in body
    assert 'id="sample-data"' in body  # and a member's record is still shown


def test_review_warns_about_an_attribute_most_members_lack(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec("loyalty.tier")],
        identities=[IdentitySpec("email")],
        partition_key_source="email",
    )
    body = logged_in_client.get(url("review", draft)).content.decode()
    assert "loyalty.tier is missing in 100 % of sampled members" in body


def test_review_warns_about_a_record_near_one_mib(
    logged_in_client: Any, user: Any, connection: Any
) -> None:
    segment = SegmentFactory()
    member(segment, attributes={"notes": "x" * (950 * 1024)})
    draft = draft_with_segments(user, connection, [segment])
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec("notes")],
        identities=[],
        partition_key_source="profile_id",
    )
    body = logged_in_client.get(url("review", draft)).content.decode()
    assert "close to Kinesis&#x27; 1 MiB limit" in body or "close to Kinesis' 1 MiB limit" in body


def test_capacity_shows_the_stream_error_instead_of_failing(
    logged_in_client: Any, user: Any, connection: Any, two_segments, monkeypatch: Any
) -> None:
    from destinations.kinesis import aws

    def missing(creds: Any, stream_name: str) -> None:
        raise aws.StreamNotFound(f"The stream {stream_name} does not exist.")

    monkeypatch.setattr(aws, "describe_stream_summary", missing)
    draft = ready_draft(user, connection, list(two_segments))
    response = logged_in_client.get(url("capacity", draft), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "The stream demo-stream does not exist." in body
    assert "4 profiles to export at first" in body


def test_capacity_compares_members_with_the_shards(
    logged_in_client: Any, user: Any, connection: Any, two_segments, monkeypatch: Any
) -> None:
    from destinations.kinesis import aws

    summary = aws.StreamSummary(
        name="demo-stream",
        arn="arn",
        status="ACTIVE",
        mode="PROVISIONED",
        shard_count=2,
        encryption="NONE",
    )
    monkeypatch.setattr(aws, "describe_stream_summary", lambda creds, name: summary)
    draft = ready_draft(user, connection, list(two_segments))
    body = logged_in_client.get(url("capacity", draft), headers=HTMX).content.decode()
    assert "Provisioned, 2 shards" in body
    assert "2,000 records/s" in body
    assert "4 profiles" in body and "under a second" in body


def test_finish_enables_and_goes_to_the_dataflow(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    response = logged_in_client.post(url("finish", draft), {"name": "Welcome"}, follow=True)
    assert response.redirect_chain[0][0] == reverse("activation:dataflow_detail", args=[draft.pk])
    draft.refresh_from_db()
    assert (draft.status, draft.name) == (DataflowStatus.ENABLED, "Welcome")
    assert Backfill.objects.filter(dataflow=draft).count() == 2
    assert "is enabled" in response.content.decode()


def test_finish_without_a_name_rerenders_the_review(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    response = logged_in_client.post(url("finish", draft), {"name": ""})
    assert response.status_code == 400
    assert "Give the dataflow a name." in response.content.decode()
    assert Dataflow.objects.get(pk=draft.pk).status == DataflowStatus.DRAFT


# --- editing, drafts ------------------------------------------------------------------------


def test_editing_walks_the_same_steps_and_records_the_change(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    newsletter, vip = two_segments
    live = services.dataflow_finish(
        dataflow=ready_draft(user, connection, [newsletter]), user=user, name="Live"
    )
    response = logged_in_client.post(reverse("activation:wizard_edit", args=[live.pk]))
    draft = Dataflow.objects.get(edit_of=live)
    assert response.url == url("segments", draft)
    logged_in_client.post(
        url("segments", draft),
        {"shown": [str(newsletter.id), str(vip.id)], "segment": [str(vip.id)], "action": "next"},
    )
    review = logged_in_client.get(url("review", draft)).content.decode()
    assert "Added segment(s) VIP customers" in review
    assert "Removed segment(s) Newsletter subscribers" in review
    assert "Save changes" in review
    response = logged_in_client.post(url("finish", draft), {"name": "Live"})
    assert response.url == reverse("activation:dataflow_detail", args=[live.pk])
    assert list(live.mapped_segments.values_list("segment_id", flat=True)) == [vip.id]
    change = described_changes(live).first()
    assert change.actor == user and "VIP customers" in change.summary


def test_the_destination_step_of_an_edit_is_read_only(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    live = services.dataflow_finish(
        dataflow=ready_draft(user, connection, list(two_segments)), user=user, name="Live"
    )
    draft = services.dataflow_edit_start(dataflow=live, user=user)
    other = ConnectionFactory(owner=user)
    page = logged_in_client.get(url("destination", draft)).content.decode()
    assert "A live dataflow keeps its destination" in page
    logged_in_client.post(url("destination", draft), {"connection": other.pk})
    draft.refresh_from_db()
    assert draft.connection == connection


def test_drafts_are_listed_resumed_and_discarded(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    page = logged_in_client.get(reverse("activation:wizard_drafts")).content.decode()
    assert draft.name in page and "Mapping" in page
    section = logged_in_client.get(
        reverse("activation:wizard_drafts") + f"?connection={connection.pk}", headers=HTMX
    ).content.decode()
    assert "<html" not in section and 'id="dataflow-drafts"' in section
    resume = logged_in_client.get(reverse("activation:wizard_resume", args=[draft.pk]))
    assert resume.url == url("mapping", draft)
    logged_in_client.post(url("discard", draft))
    assert not Dataflow.objects.filter(pk=draft.pk).exists()


def test_record_data_on_the_page_is_valid_json(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    import html

    draft = ready_draft(user, connection, list(two_segments))
    page = logged_in_client.get(url("review", draft)).content.decode()
    text = html.unescape(page.split('id="sample-data">')[1].split("</pre>")[0])
    document = json.loads(text)
    assert set(document) >= {"_id", "segmentMembership", "identityMap"}


def test_the_start_page_points_to_unfinished_drafts(
    logged_in_client: Any, user: Any, connection: Any
) -> None:
    services.dataflow_draft_create(user=user, connection=connection)
    page = logged_in_client.get(reverse("activation:wizard_start")).content.decode()
    assert "You have 1 unfinished activation." in page
    assert reverse("activation:wizard_drafts") in page


def test_the_only_destination_is_preselected(logged_in_client: Any, connection: Any) -> None:
    page = logged_in_client.get(reverse("activation:wizard_start")).content.decode()
    assert f'value="{connection.pk}"' in page
    assert "checked" in page.split(f'value="{connection.pk}"')[1].split(">")[0]


def test_the_name_is_saved_as_it_is_typed(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    save = url("name_save", draft)
    body = logged_in_client.post(save, {"name": "Welcome journey"}, headers=HTMX).content
    assert b"Name saved." in body and b'hx-swap-oob="true"' in body
    draft.refresh_from_db()
    assert draft.name == "Welcome journey"
    assert 'value="Welcome journey"' in logged_in_client.get(url("review", draft)).content.decode()
    body = logged_in_client.post(save, {"name": "  "}, headers=HTMX).content.decode()
    assert "Give the dataflow a name." in body.split('id="name-errors"')[1]
    draft.refresh_from_db()
    assert draft.name == "Welcome journey"  # the last valid name is kept


@pytest.mark.parametrize(
    ("path", "problem"),
    # Paths no profile can hold (profiles.attributes.split_path): the wizard refuses them too.
    [("crm:id", "is not a valid path"), (".".join(["a"] * 13), "nested deeper than 12")],
)
def test_the_mapping_step_refuses_a_path_no_profile_can_hold(
    logged_in_client: Any, user: Any, connection: Any, two_segments, path: str, problem: str
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))
    bad = mapping_post(source_path=[path, "loyalty.tier", ""], action="")
    body = logged_in_client.post(url("mapping", draft), bad).content.decode()
    assert problem in body.split('id="source-error-0"')[1].split("</div>")[0]
    assert not draft.attribute_mappings.exists()
