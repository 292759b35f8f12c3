"""Dataflow services: the draft, finishing, editing, enable/disable/delete, cleanup."""

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from activation import services
from activation.models import (
    Backfill,
    Dataflow,
    DataflowSegment,
    DataflowStatus,
)
from activation.services import AttributeSpec, IdentitySpec, attribute_errors
from activation.wizard_steps import Step, step_complete
from profiles.attributes import path_problem
from tests.audit.trail import described_changes
from tests.factories import ConnectionFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db

NAMES = [
    AttributeSpec("person.name.firstName"),
    AttributeSpec("person.name.lastName"),
    AttributeSpec("personalEmail.address"),
]


def ready_draft(user: Any, connection: Any, segments: list) -> Dataflow:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[s.id for s in segments])
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=NAMES,
        identities=[IdentitySpec("ecid"), IdentitySpec("email", hashed=True)],
        partition_key_source="ecid",
    )
    return draft


def live_dataflow(user: Any, connection: Any, segments: list) -> Dataflow:
    return services.dataflow_finish(
        dataflow=ready_draft(user, connection, segments), user=user, name="Live"
    )


# --- mapping validation -----------------------------------------------------------------


def test_a_valid_mapping_has_no_errors() -> None:
    assert attribute_errors([*NAMES, AttributeSpec("loyalty.tier", "tier")]) == [[]] * 4


def test_a_duplicate_source_is_named_with_its_first_row() -> None:
    errors = attribute_errors([NAMES[0], NAMES[1], AttributeSpec("person.name.firstName")])
    assert errors[:2] == [[], []]
    assert errors[2] == ["person.name.firstName is already mapped in row 1."]


def test_two_sources_exported_to_one_target_are_refused() -> None:
    errors = attribute_errors([AttributeSpec("a.b", "x.y"), AttributeSpec("c.d", "x.y")])
    assert errors[1] == ["x.y is already exported by row 1."]


def test_overlapping_paths_are_refused() -> None:
    errors = attribute_errors(
        [AttributeSpec("person.name"), AttributeSpec("person.name.firstName")]
    )
    assert "overlaps person.name (row 1)" in errors[1][0]


@pytest.mark.parametrize("target", ["identityMap", "segmentMembership.ups", "_id"])
def test_targets_the_builder_fills_are_refused(target: str) -> None:
    [errors] = attribute_errors([AttributeSpec("crm.id", target)])
    assert "which the export fills itself" in errors[0]


@pytest.mark.parametrize(
    "path",
    # ':' and 13 levels: paths no profile can hold (issue 13, point 2: one path rule).
    ["person..name", " person", "person name", ".a", "a.", "crm:id", ".".join(["a"] * 13)],
)
def test_malformed_paths_are_refused(path: str) -> None:
    [errors] = attribute_errors([AttributeSpec(path)])
    assert "is not a valid path" in errors[0] or "deeper than 12" in errors[0]


@pytest.mark.parametrize(
    ("path", "holdable"),
    [
        ("crm:id", False),
        ("a/b", False),
        (".".join(["a"] * 13), False),
        ("x" * 101, False),
        (".".join(["a"] * 12), True),
        ("_tenant.loyalty-tier", True),
        ("person.e@mail$", True),
    ],
)
def test_the_wizard_accepts_exactly_the_paths_a_profile_can_hold(path: str, holdable: bool) -> None:
    """One path rule: a mapping's source is valid iff a profile can hold that path."""
    assert (path_problem(path) is None) == holdable
    [errors] = attribute_errors([AttributeSpec(path)])
    assert (errors == []) == holdable


def test_set_mapping_refuses_duplicates_and_keeps_the_saved_mapping(
    user: Any, connection: Any, two_segments
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    with pytest.raises(ValidationError) as caught:
        services.dataflow_set_mapping(
            dataflow=draft,
            attributes=[NAMES[0], NAMES[0]],
            identities=[],
            partition_key_source="ecid",
        )
    assert (
        "Attribute row 2: person.name.firstName is already mapped in row 1."
        in caught.value.messages
    )
    assert list(draft.attribute_mappings.values_list("source_path", flat=True)) == [
        s.source_path for s in NAMES
    ]


def test_set_mapping_needs_an_attribute_or_an_identity(user: Any, connection: Any) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    with pytest.raises(ValidationError, match="at least one attribute or identity"):
        services.dataflow_set_mapping(
            dataflow=draft, attributes=[], identities=[], partition_key_source="ecid"
        )


def test_set_mapping_stores_order_targets_identities_and_options(
    user: Any, connection: Any
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec("loyalty.points", "points"), AttributeSpec("a.b", "a.b")],
        identities=[IdentitySpec("phone", hashed=True)],
        partition_key_source="profile_id",
        export_only_on_value_change=True,
    )
    draft.refresh_from_db()
    rows = list(draft.attribute_mappings.values_list("source_path", "target_path", "position"))
    assert rows == [("loyalty.points", "points", 0), ("a.b", "", 1)]
    [selection] = draft.identity_selections.all()
    assert (selection.namespace, selection.hashed, selection.exported_namespace) == (
        "phone",
        True,
        "phone_lc_sha256",
    )
    assert draft.partition_key_source == "profile_id"
    assert draft.export_only_on_value_change
    # The wizard's progress is derived from these rows (no stored step field).
    assert step_complete(draft, Step.MAPPING)


def test_set_segments_refuses_unknown_segments(user: Any, connection: Any) -> None:
    import uuid

    draft = services.dataflow_draft_create(user=user, connection=connection)
    with pytest.raises(ValidationError, match="Unknown segment"):
        services.dataflow_set_segments(dataflow=draft, segment_ids=[uuid.uuid4()])


def test_set_segments_keeps_existing_rows(user: Any, connection: Any, two_segments) -> None:
    newsletter, vip = two_segments
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[newsletter.id])
    row = DataflowSegment.objects.get(dataflow=draft, segment=newsletter)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[newsletter.id, vip.id])
    assert DataflowSegment.objects.get(dataflow=draft, segment=newsletter).pk == row.pk
    assert draft.mapped_segments.count() == 2


# --- finishing -------------------------------------------------------------------------


def test_finish_enables_records_and_backfills_every_segment(
    user: Any, connection: Any, two_segments
) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    live = services.dataflow_finish(dataflow=draft, user=user, name="  Welcome journey ")
    live.refresh_from_db()
    assert live.pk == draft.pk
    assert live.status == DataflowStatus.ENABLED
    assert live.name == "Welcome journey"
    backfills = Backfill.objects.filter(dataflow=live)
    assert {b.segment_id for b in backfills} == {s.id for s in two_segments}
    assert {b.reason for b in backfills} == {"activation"}
    assert {b.segment_id: b.total for b in backfills} == {
        two_segments[0].id: 3,
        two_segments[1].id: 2,
    }
    [change] = described_changes(live)
    assert change.actor == user
    assert "Activated 2 segment(s) with 3 attribute(s)" in change.summary
    assert change.details["identities"] == {"ecid": False, "email": True}


def test_finish_refuses_an_incomplete_draft(user: Any, connection: Any, two_segments) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[two_segments[0].id])
    with pytest.raises(services.WizardIncompleteError) as caught:
        services.dataflow_finish(dataflow=draft, user=user, name="x")
    assert caught.value.step.value == "mapping"
    draft.refresh_from_db()
    assert draft.status == DataflowStatus.DRAFT


def test_finish_needs_a_name(user: Any, connection: Any, two_segments) -> None:
    draft = ready_draft(user, connection, list(two_segments))
    with pytest.raises(ValidationError):
        services.dataflow_finish(dataflow=draft, user=user, name="   ")
    assert Dataflow.objects.get(pk=draft.pk).status == DataflowStatus.DRAFT


def test_finishing_twice_is_refused(user: Any, connection: Any, two_segments) -> None:
    live = live_dataflow(user, connection, list(two_segments))
    with pytest.raises(services.DataflowError, match="no longer a draft"):
        services.dataflow_finish(dataflow=live, user=user, name="Again")
    assert Backfill.objects.filter(dataflow=live).count() == 2


# --- editing a live dataflow -------------------------------------------------------------


def test_edit_start_copies_the_live_mapping_and_is_resumed(
    user: Any, connection: Any, two_segments
) -> None:
    live = live_dataflow(user, connection, list(two_segments))
    draft = services.dataflow_edit_start(dataflow=live, user=user)
    assert draft.pk != live.pk and draft.edit_of_id == live.pk
    assert draft.status == DataflowStatus.DRAFT
    assert services.mapping_snapshot(draft) == services.mapping_snapshot(live)
    assert services.dataflow_edit_start(dataflow=live, user=user).pk == draft.pk


def test_an_edit_draft_keeps_its_destination(user: Any, connection: Any, two_segments) -> None:
    live = live_dataflow(user, connection, list(two_segments))
    draft = services.dataflow_edit_start(dataflow=live, user=user)
    with pytest.raises(services.DataflowError, match="keeps its destination"):
        services.dataflow_set_connection(dataflow=draft, connection=ConnectionFactory(owner=user))


def test_applying_an_edit_changes_the_live_dataflow_and_records_who(
    user: Any, connection: Any, two_segments
) -> None:
    newsletter, vip = two_segments
    live = live_dataflow(user, connection, [newsletter, vip])
    kept_row = DataflowSegment.objects.get(dataflow=live, segment=newsletter)
    Backfill.objects.filter(dataflow=live).update(status="done")
    editor = UserFactory()
    added = SegmentFactory(name="Churn risk")
    draft = services.dataflow_edit_start(dataflow=live, user=editor)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[newsletter.id, added.id])
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[NAMES[0], AttributeSpec("loyalty.tier")],
        identities=[IdentitySpec("email", hashed=False)],
        partition_key_source="profile_id",
    )

    result = services.dataflow_finish(dataflow=draft, user=editor, name="Live v2")

    assert result.pk == live.pk
    assert not Dataflow.objects.filter(pk=draft.pk).exists()
    live.refresh_from_db()
    assert live.status == DataflowStatus.ENABLED and live.name == "Live v2"
    assert set(live.mapped_segments.values_list("segment_id", flat=True)) == {
        newsletter.id,
        added.id,
    }
    # The kept segment's mapping row (and its mappingCreatedAt) survives.
    assert DataflowSegment.objects.get(dataflow=live, segment=newsletter).pk == kept_row.pk
    assert list(live.attribute_mappings.values_list("source_path", flat=True)) == [
        "person.name.firstName",
        "loyalty.tier",
    ]
    assert live.partition_key_source == "profile_id"
    # Only the added segment is backfilled; the removed one gets nothing at all.
    new_backfills = Backfill.objects.filter(dataflow=live).exclude(status="done")
    assert [(b.segment_id, b.reason) for b in new_backfills] == [(added.id, "segment_added")]
    assert not Backfill.objects.filter(dataflow=live, segment=vip).exclude(status="done")
    change = described_changes(live).first()
    assert change.actor == editor
    assert change.details["segments"]["added"] == [{"id": str(added.id), "name": "Churn risk"}]
    assert change.details["segments"]["removed"] == [{"id": str(vip.id), "name": vip.name}]
    assert change.details["attributes"]["added"] == ["loyalty.tier"]
    assert change.details["identities"]["removed"] == ["ecid"]
    assert change.details["identities"]["hashing"] == [
        {"namespace": "email", "from": True, "to": False}
    ]
    assert change.details["partition_key"] == {"from": "ecid", "to": "profile_id"}
    assert "Added segment(s) Churn risk" in change.summary
    assert f"Removed segment(s) {vip.name}" in change.summary


def test_an_edit_without_changes_says_so(user: Any, connection: Any, two_segments) -> None:
    live = live_dataflow(user, connection, list(two_segments))
    draft = services.dataflow_edit_start(dataflow=live, user=user)
    services.dataflow_finish(dataflow=draft, user=user, name=live.name)
    assert described_changes(live).first().summary == "Saved without changes."


def test_a_disabled_dataflow_stays_disabled_after_an_edit(
    user: Any, connection: Any, two_segments
) -> None:
    live = live_dataflow(user, connection, [two_segments[0]])
    services.dataflow_disable(dataflow=live, user=user)
    draft = services.dataflow_edit_start(dataflow=live, user=user)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[s.id for s in two_segments])
    services.dataflow_finish(dataflow=draft, user=user, name=live.name)
    live.refresh_from_db()
    assert live.status == DataflowStatus.DISABLED
    assert Backfill.objects.filter(dataflow=live, segment=two_segments[1]).exists()


def test_editing_a_draft_is_refused(user: Any, connection: Any) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    with pytest.raises(services.DataflowError, match="still a draft"):
        services.dataflow_edit_start(dataflow=draft, user=user)


# --- enable, disable, delete ----------------------------------------------------------------


def test_disable_then_enable_records_both_and_schedules_a_run(
    user: Any, connection: Any, two_segments, django_capture_on_commit_callbacks
) -> None:
    live = live_dataflow(user, connection, list(two_segments))
    services.dataflow_disable(dataflow=live, user=user)
    assert live.status == DataflowStatus.DISABLED
    Dataflow.objects.filter(pk=live.pk).update(run_scheduled_for=None)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.dataflow_enable(dataflow=live, user=user)
    assert Dataflow.objects.get(pk=live.pk).status == DataflowStatus.ENABLED
    assert Dataflow.objects.get(pk=live.pk).run_scheduled_for is None  # only after commit
    [schedule_run] = callbacks
    schedule_run()
    assert Dataflow.objects.get(pk=live.pk).run_scheduled_for is not None
    summaries = list(described_changes(live).values_list("summary", flat=True))
    assert summaries[:2] == ["Enabled.", "Disabled."]


def test_disabling_twice_records_once(user: Any, connection: Any, two_segments) -> None:
    live = live_dataflow(user, connection, list(two_segments))
    services.dataflow_disable(dataflow=live, user=user)
    services.dataflow_disable(dataflow=live, user=user)
    assert described_changes(live).filter(summary="Disabled.").count() == 1


def test_enabling_clears_an_error(user: Any, connection: Any, two_segments) -> None:
    live = live_dataflow(user, connection, list(two_segments))
    Dataflow.objects.filter(pk=live.pk).update(status=DataflowStatus.ERROR, status_message="x")
    services.dataflow_enable(dataflow=live, user=user)
    live.refresh_from_db()
    assert (live.status, live.status_message) == (DataflowStatus.ENABLED, "")


@pytest.mark.parametrize("action", [services.dataflow_enable, services.dataflow_disable])
def test_a_draft_cannot_be_enabled_or_disabled(user: Any, connection: Any, action) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    with pytest.raises(services.DataflowError):
        action(dataflow=draft, user=user)
    assert Dataflow.objects.get(pk=draft.pk).status == DataflowStatus.DRAFT


def test_delete_removes_the_dataflow_and_its_edit_draft(
    user: Any, connection: Any, two_segments
) -> None:
    live = live_dataflow(user, connection, list(two_segments))
    draft = services.dataflow_edit_start(dataflow=live, user=user)
    services.dataflow_delete(dataflow=live, user=user)
    assert not Dataflow.objects.filter(pk__in=[live.pk, draft.pk]).exists()
    assert not Backfill.objects.filter(dataflow_id=live.pk).exists()


# --- abandoned drafts ---------------------------------------------------------------------


def test_cleanup_deletes_only_drafts_untouched_for_a_week(
    user: Any, connection: Any, two_segments
) -> None:
    old = services.dataflow_draft_create(user=user, connection=connection)
    fresh = services.dataflow_draft_create(user=user, connection=connection)
    live = live_dataflow(user, connection, list(two_segments))
    old_edit = services.dataflow_edit_start(dataflow=live, user=user)
    long_ago = timezone.now() - dt.timedelta(days=8)
    Dataflow.objects.filter(pk__in=[old.pk, live.pk, old_edit.pk]).update(updated_at=long_ago)

    assert services.dataflow_drafts_cleanup() == 2

    remaining = set(Dataflow.objects.values_list("pk", flat=True))
    assert remaining == {fresh.pk, live.pk}


def test_working_on_a_draft_keeps_it(user: Any, connection: Any, two_segments) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    Dataflow.objects.filter(pk=draft.pk).update(updated_at=timezone.now() - dt.timedelta(days=8))
    draft.refresh_from_db()
    services.dataflow_set_segments(dataflow=draft, segment_ids=[two_segments[0].id])
    assert services.dataflow_drafts_cleanup() == 0
    assert Dataflow.objects.filter(pk=draft.pk).exists()


def test_a_connections_drafts_can_be_discarded_before_deleting_it(
    user: Any, connection: Any, two_segments
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    live = live_dataflow(user, connection, list(two_segments))
    edit = services.dataflow_edit_start(dataflow=live, user=user)
    assert services.dataflow_drafts_discard_for_connection(connection=connection) == 1
    assert not Dataflow.objects.filter(pk=draft.pk).exists()
    assert Dataflow.objects.filter(pk__in=[live.pk, edit.pk]).count() == 2
