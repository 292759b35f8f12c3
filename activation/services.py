"""Dataflow writes: the wizard's draft, finishing it, editing a live dataflow on a
draft copy, enabling, disabling, deleting, and cleaning abandoned drafts.

The export engine (activation/export/) is told about every change that needs
it: activation (cursor to head + backfill), segments added by an edit
(backfill), enabling (a run for what changed while disabled).
"""

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from activation import selectors
from activation.export.records import PROFILE_ID_SOURCE, RESERVED_KEYS
from activation.models import (
    AttributeMapping,
    Dataflow,
    DataflowSegment,
    DataflowStatus,
    EditHandover,
    EditHandoverAction,
    IdentitySelection,
)
from activation.selectors import EditLock
from activation.wizard_steps import Step, first_incomplete_step
from audit.models import Action, ObjectType
from audit.recorder import describe_change
from core.input_policy import printable
from core.service_errors import ServiceError
from core.stored_text import StoredText
from destinations.models import Connection
from profiles.attributes import path_problem, paths_overlap
from profiles.models import Segment
from profiles.selectors import namespace_codes

logger = logging.getLogger(__name__)

# Mapped attributes per dataflow, for the wizard and the API alike: above the soft
# limit the review warns (records grow), above the hard limit the mapping is refused.
SOFT_ATTRIBUTE_LIMIT = 50
MAX_ATTRIBUTES = 500
DRAFT_MAX_AGE = timedelta(days=7)
NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
# Filled by the record builder itself: a mapped attribute must not overwrite them.
RESERVED_ROOTS = set(RESERVED_KEYS)
PROFILE_ID = PROFILE_ID_SOURCE


class DataflowError(ServiceError):
    """A dataflow action that cannot happen now; the message says why."""

    code = "conflict"


# The input each wizard step is about, in the services' field names.
STEP_FIELDS = {
    Step.DESTINATION: "connection",
    Step.SEGMENTS: "segments",
    Step.MAPPING: "attributes",
}


# The attribute-path refusals, the path rule's own words (`problem`) after them.
SOURCE_PATH = gettext_noop("Source path “%(path)s” %(problem)s.")
TARGET_PATH = gettext_noop("Target path “%(path)s” %(problem)s.")

# A dataflow's change log (audit) words: stored in English, shown translated
# (core.stored_text); describe_diff joins one sentence per kind of change.
ACTIVATED = StoredText(
    "Activated %(segments)s segment(s) with %(attributes)s attribute(s); identities: "
    "%(identities)s; partition key: %(key)s.",
    one_sentence=True,
)
NONE = StoredText("none", one_sentence=True)
STATUS_SUMMARIES = {
    DataflowStatus.ENABLED: StoredText("Enabled.", one_sentence=True),
    DataflowStatus.DISABLED: StoredText("Disabled.", one_sentence=True),
}
ADDED_SEGMENTS = StoredText(
    "Added segment(s) %(names)s (their members are backfilled).", one_sentence=True
)
REMOVED_SEGMENTS = StoredText("Removed segment(s) %(names)s.", one_sentence=True)
MAPPED = StoredText("Mapped %(paths)s.", one_sentence=True)
UNMAPPED = StoredText("Unmapped %(paths)s.", one_sentence=True)
RETARGETED = StoredText("%(source)s now exported as %(target)s.", one_sentence=True)
REORDERED = StoredText("Reordered attributes.", one_sentence=True)
ADDED_IDENTITIES = StoredText("Added identities %(namespaces)s.", one_sentence=True)
REMOVED_IDENTITIES = StoredText("Removed identities %(namespaces)s.", one_sentence=True)
NOW_HASHED = StoredText("%(namespace)s now hashed.", one_sentence=True)
NOW_NOT_HASHED = StoredText("%(namespace)s now not hashed.", one_sentence=True)
KEY_CHANGED = StoredText("Partition key %(old)s → %(new)s.", one_sentence=True)
ON_VALUE_CHANGE = StoredText("Exports only when a mapped value changes.", one_sentence=True)
ON_ANY_WRITE = StoredText("Exports on any write to a mapped attribute.", one_sentence=True)
RENAMED = StoredText("Renamed “%(old)s” → “%(new)s”.", one_sentence=True)
NO_CHANGES = StoredText("Saved without changes.", one_sentence=True)
SEGMENT_DELETED = StoredText("Segment “%(name)s” was deleted; this dataflow no longer exports it.")


class WizardIncompleteError(DataflowError):
    code = "invalid_input"

    def __init__(self, step: Step) -> None:
        super().__init__(
            gettext("Complete the step “%(step)s” first.") % {"step": step.label},
            field=STEP_FIELDS.get(step),
        )
        self.step = step


@dataclass(frozen=True)
class AttributeSpec:
    source_path: str
    target_path: str = ""

    @property
    def exported_path(self) -> str:
        return self.target_path or self.source_path


@dataclass(frozen=True)
class IdentitySpec:
    namespace: str
    hashed: bool = False


# --- validation -------------------------------------------------------------------


def attribute_errors(attributes: Sequence[AttributeSpec]) -> list[list[str]]:
    """Per row, what is wrong with it (empty lists when the mapping is valid)."""
    return [row["source"] + row["target"] for row in attribute_field_errors(attributes)]


def attribute_field_errors(attributes: Sequence[AttributeSpec]) -> list[dict[str, list[str]]]:
    """Per row, what is wrong with its source and with its target path.

    A problem with the exported path belongs to the target when one is typed
    (it is what the marketer must change), else to the source.
    """
    errors: list[dict[str, list[str]]] = [{"source": [], "target": []} for _ in attributes]
    seen_source: dict[str, int] = {}
    seen_target: dict[str, int] = {}
    for index, spec in enumerate(attributes):
        row = errors[index]
        for field, path in (("source", spec.source_path), ("target", spec.target_path)):
            if field == "source" and not path:
                row[field].append(gettext("Enter an attribute path."))
            elif path and (problem := path_problem(path)):
                # The profile store's own path rule: a path no profile can hold is refused.
                text = SOURCE_PATH if field == "source" else TARGET_PATH
                row[field].append(gettext(text) % {"path": printable(path), "problem": problem})
        if row["source"] or row["target"]:
            continue
        if spec.source_path in seen_source:
            row["source"].append(
                gettext("%(path)s is already mapped in row %(row)s.")
                % {"path": spec.source_path, "row": seen_source[spec.source_path] + 1}
            )
            continue
        seen_source[spec.source_path] = index
        exported = spec.exported_path
        exported_errors = row["target"] if spec.target_path else row["source"]
        if exported.split(".")[0] in RESERVED_ROOTS:
            exported_errors.append(
                gettext(
                    "“%(path)s” would overwrite %(root)s, which the export fills itself: "
                    "choose another target path."
                )
                % {"path": exported, "root": exported.split(".")[0]}
            )
        elif exported in seen_target:
            exported_errors.append(
                gettext("%(path)s is already exported by row %(row)s.")
                % {"path": exported, "row": seen_target[exported] + 1}
            )
        else:
            for other, other_index in seen_target.items():
                if paths_overlap(exported, other):
                    exported_errors.append(
                        gettext(
                            "%(path)s overlaps %(other)s (row %(row)s): "
                            "one would contain the other; map one of them."
                        )
                        % {"path": exported, "other": other, "row": other_index + 1}
                    )
                    break
        seen_target.setdefault(exported, index)
    return errors


def identity_problems(identities: Sequence[IdentitySpec]) -> list[str]:
    """What is wrong with the selected identity namespaces (each must be registered)."""
    namespaces = [spec.namespace for spec in identities]
    problems = []
    if len(set(namespaces)) != len(namespaces):
        problems.append(gettext("An identity namespace is selected twice."))
    registered = namespace_codes()
    for ns in namespaces:
        if not NAMESPACE_RE.match(ns):
            problems.append(
                gettext("“%(namespace)s” is not a namespace code.") % {"namespace": printable(ns)}
            )
        elif ns not in registered:
            problems.append(
                gettext(
                    "“%(namespace)s” is not a registered identity namespace "
                    "(registered: %(registered)s)."
                )
                % {"namespace": ns, "registered": ", ".join(sorted(registered))}
            )
    return problems


def _validate_mapping(
    attributes: Sequence[AttributeSpec],
    identities: Sequence[IdentitySpec],
    partition_key_source: str,
) -> None:
    """Raise a ValidationError keyed by the input each problem is about."""
    problems: dict[str, list[str]] = {
        "attributes": [
            gettext("Attribute row %(row)s: %(problem)s") % {"row": index + 1, "problem": message}
            for index, row in enumerate(attribute_errors(attributes))
            for message in row
        ],
        "identities": identity_problems(identities),
        "partition_key": [],
    }
    if len(attributes) > MAX_ATTRIBUTES:
        problems["attributes"].append(
            gettext("Map at most %(max)s attributes (%(count)s now).")
            % {"max": MAX_ATTRIBUTES, "count": len(attributes)}
        )
    if not attributes and not identities:
        problems["attributes"].append(gettext("Map at least one attribute or identity."))
    if key_problem := partition_key_error(partition_key_source, identities):
        problems["partition_key"].append(key_problem)
    if any(problems.values()):
        raise ValidationError({field: found for field, found in problems.items() if found})


def partition_key_error(partition_key_source: str, identities: Sequence[IdentitySpec]) -> str:
    """Why this partition key cannot go with these exported identities ("" when it can).

    The key travels with every record, so it may only be the profile id or an
    identity the record itself carries (hashed when that namespace is exported
    hashed, which the builder does): never a raw identity the mapping left out.
    No identity selected means every namespace is exported as is.
    """
    if partition_key_source == PROFILE_ID:
        return ""
    if not NAMESPACE_RE.match(partition_key_source or ""):
        return gettext("Choose the partition key: the profile id or an identity namespace.")
    exported = [spec.namespace for spec in identities]
    if exported and partition_key_source not in exported:
        return gettext(
            "The partition key “%(key)s” is an identity this dataflow does not export, so its "
            "value would leave in the stream unmapped: choose the profile id or an exported "
            "identity (%(exported)s)."
        ) % {"key": partition_key_source, "exported": ", ".join(exported)}
    return ""


# --- the draft ----------------------------------------------------------------------


def _touch(dataflow: Dataflow) -> None:
    """Keep the draft fresh: cleanup spares drafts changed within DRAFT_MAX_AGE."""
    dataflow.save(update_fields=["updated_at"])


def _require_draft(dataflow: Dataflow) -> None:
    if not dataflow.is_draft:
        raise DataflowError(gettext("This dataflow is no longer a draft; edit it to change it."))


def _lock_rows_of(dataflow: Dataflow) -> None:
    """Hold the dataflow's row lock until this transaction ends, before replacing its
    mapped rows: a step's autosave and its submit arrive together, and two
    delete-then-insert replacements at once clash on the unique keys (a 500)."""
    list(Dataflow.objects.select_for_update().filter(pk=dataflow.pk).values_list("pk"))


def _default_name(connection: Connection | None) -> str:
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    return f"{connection.name} dataflow {stamp}" if connection else f"Dataflow {stamp}"


@transaction.atomic
def dataflow_draft_create(*, user: Any, connection: Connection | None = None) -> Dataflow:
    """Start the wizard: a draft dataflow, on `connection` when already chosen."""
    dataflow = Dataflow.objects.create(
        connection=connection,
        name=_default_name(connection),
        status=DataflowStatus.DRAFT,
        created_by=user,
    )
    return dataflow


@transaction.atomic
def dataflow_set_connection(*, dataflow: Dataflow, connection: Connection) -> Dataflow:
    _require_draft(dataflow)
    if dataflow.edit_of_id and connection.pk != dataflow.connection_id:
        raise DataflowError(
            gettext("A live dataflow keeps its destination; create a new dataflow."),
            field="connection",
            code="read_only",
        )
    if dataflow.connection_id != connection.pk:
        old = dataflow.connection
        if old is None or not dataflow.name or dataflow.name.startswith(f"{old.name} dataflow "):
            dataflow.name = _default_name(connection)
        dataflow.connection = connection
        dataflow.save(update_fields=["connection", "name", "updated_at"])
    _touch(dataflow)
    return dataflow


@transaction.atomic
def dataflow_set_segments(*, dataflow: Dataflow, segment_ids: Iterable[uuid.UUID]) -> Dataflow:
    """Make the draft's mapped segments exactly `segment_ids`."""
    _require_draft(dataflow)
    _lock_rows_of(dataflow)
    wanted = set(segment_ids)
    existing = set(Segment.objects.filter(id__in=wanted).values_list("id", flat=True))
    if missing := wanted - existing:
        unknown = ", ".join(sorted(map(str, missing)))
        raise ValidationError({"segments": f"Unknown segment: {unknown}."})
    current = set(dataflow.mapped_segments.values_list("segment_id", flat=True))
    dataflow.mapped_segments.filter(segment_id__in=current - wanted).delete()
    DataflowSegment.objects.bulk_create(
        [DataflowSegment(dataflow=dataflow, segment_id=sid) for sid in wanted - current]
    )
    if dataflow.edit_of_id:
        _edit_mapping_times(dataflow)
    _touch(dataflow)
    return dataflow


def _edit_mapping_times(draft: Dataflow) -> None:
    """Give an edit draft's segments the times "Save changes" will give the live ones.

    A kept segment keeps its mappingCreatedAt, and its mappingUpdatedAt unless the
    draft changes the mapping (then the time of that change); a segment new to the
    dataflow is mapped when the draft added it. The review sample is built from the
    draft, so it shows the exact record Save sends (`_edit_apply` copies these).
    """
    original = draft.edit_of
    live = {
        row.segment_id: row for row in DataflowSegment.objects.filter(dataflow_id=draft.edit_of_id)
    }
    before, after = mapping_snapshot(original), mapping_snapshot(draft)
    changed = any(before[key] != after[key] for key in _MAPPING_KEYS)
    now = timezone.now()
    for row in DataflowSegment.objects.filter(dataflow=draft, segment_id__in=list(live)):
        kept = live[row.segment_id]
        updated = kept.mapping_updated_at
        if changed:
            # Already stamped by an earlier change of this draft: keep that time.
            updated = row.mapping_updated_at if row.mapping_updated_at > updated else now
        if (row.mapping_created_at, row.mapping_updated_at) != (kept.mapping_created_at, updated):
            DataflowSegment.objects.filter(pk=row.pk).update(
                mapping_created_at=kept.mapping_created_at, mapping_updated_at=updated
            )


@transaction.atomic
def dataflow_set_mapping(
    *,
    dataflow: Dataflow,
    attributes: Sequence[AttributeSpec],
    identities: Sequence[IdentitySpec],
    partition_key_source: str,
    export_only_on_value_change: bool = False,
) -> Dataflow:
    """Replace the draft's attributes, identities, partition key and export option."""
    _require_draft(dataflow)
    _validate_mapping(attributes, identities, partition_key_source)
    _lock_rows_of(dataflow)
    dataflow.attribute_mappings.all().delete()
    AttributeMapping.objects.bulk_create(
        AttributeMapping(
            dataflow=dataflow,
            source_path=spec.source_path,
            target_path="" if spec.target_path == spec.source_path else spec.target_path,
            position=position,
        )
        for position, spec in enumerate(attributes)
    )
    dataflow.identity_selections.all().delete()
    IdentitySelection.objects.bulk_create(
        IdentitySelection(dataflow=dataflow, namespace=spec.namespace, hashed=spec.hashed)
        for spec in identities
    )
    dataflow.partition_key_source = partition_key_source
    dataflow.export_only_on_value_change = export_only_on_value_change
    dataflow.save(update_fields=["partition_key_source", "export_only_on_value_change"])
    if dataflow.edit_of_id:
        _edit_mapping_times(dataflow)
    _touch(dataflow)
    return dataflow


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": gettext("Give the dataflow a name.")})
    if len(name) > 200:
        raise ValidationError({"name": gettext("Use at most 200 characters.")})
    return name


@transaction.atomic
def dataflow_set_name(*, dataflow: Dataflow, name: str) -> Dataflow:
    """The name typed on the review step, kept on the draft as it is typed."""
    _require_draft(dataflow)
    dataflow.name = _clean_name(name)
    dataflow.save(update_fields=["name", "updated_at"])
    return dataflow


@transaction.atomic
def dataflow_draft_discard(*, dataflow: Dataflow) -> None:
    _require_draft(dataflow)
    dataflow.delete()


@transaction.atomic
def dataflow_drafts_discard_for_connection(*, connection: Connection) -> int:
    """Delete a connection's unfinished new-dataflow drafts (before deleting the connection)."""
    drafts = Dataflow.objects.new_drafts().filter(connection=connection)
    return drafts.delete()[1].get("activation.Dataflow", 0)


def dataflow_drafts_cleanup(*, older_than: timedelta = DRAFT_MAX_AGE) -> int:
    """Delete drafts (new dataflows and unfinished edits) untouched for `older_than`."""
    cutoff = timezone.now() - older_than
    stale = Dataflow.objects.drafts().filter(updated_at__lt=cutoff)
    count = 0
    for pk in stale.values_list("pk", flat=True).iterator():
        count += (
            Dataflow.objects.drafts()
            .filter(pk=pk, updated_at__lt=cutoff)
            .delete()[1]
            .get("activation.Dataflow", 0)
        )
    if count:
        logger.info("deleted %d abandoned dataflow drafts (untouched since %s)", count, cutoff)
    return count


# --- finishing --------------------------------------------------------------------------


def _record_change(dataflow: Dataflow, user: Any, action: str, summary: str, details: dict) -> None:
    """The audit log's entry for this change, in words (audit/recorder.py adds the fields)."""
    describe_change(
        ObjectType.DATAFLOW, dataflow.pk, action=action, summary=summary, details=details, user=user
    )


def mapping_snapshot(dataflow: Dataflow) -> dict:
    """Everything a change can touch, in a JSON-friendly shape."""
    return {
        "name": dataflow.name,
        "segments": {
            str(sid): name
            for sid, name in dataflow.mapped_segments.values_list("segment_id", "segment__name")
        },
        "attributes": [
            {"source": m.source_path, "target": m.exported_path}
            for m in dataflow.attribute_mappings.all()
        ],
        "identities": {s.namespace: s.hashed for s in dataflow.identity_selections.all()},
        "partition_key": dataflow.partition_key_source,
        "export_only_on_value_change": dataflow.export_only_on_value_change,
    }


def _summarize_snapshot(snapshot: dict) -> str:
    identities = ", ".join(
        f"{ns} (hashed)" if hashed else ns for ns, hashed in snapshot["identities"].items()
    )
    return ACTIVATED(
        segments=len(snapshot["segments"]),
        attributes=len(snapshot["attributes"]),
        identities=identities or NONE(),
        key=snapshot["partition_key"],
    )


@transaction.atomic
def dataflow_finish(*, dataflow: Dataflow, user: Any, name: str) -> Dataflow:
    """Finish the wizard: enable a new dataflow (and backfill), or apply an edit.

    Returns the live dataflow (for an edit, the original one; the copy is gone).
    """
    dataflow = Dataflow.objects.select_for_update().get(pk=dataflow.pk)
    _require_draft(dataflow)
    step = first_incomplete_step(dataflow)
    if step is not None:
        raise WizardIncompleteError(step)
    name = _clean_name(name)
    from governance.services import dataflow_require_compliant

    # New dataflows and edits alike: refused while a data-usage policy forbids them.
    dataflow_require_compliant(dataflow)
    if dataflow.edit_of_id:
        return _edit_apply(draft=dataflow, user=user, name=name)

    from activation.export.services import dataflow_activate

    dataflow.name = name
    dataflow.status = DataflowStatus.ENABLED
    dataflow.status_message = ""
    dataflow.save(update_fields=["name", "status", "status_message", "updated_at"])
    snapshot = mapping_snapshot(dataflow)
    _record_change(dataflow, user, Action.CREATED, _summarize_snapshot(snapshot), snapshot)
    dataflow_activate(dataflow=dataflow)
    return dataflow


# --- editing a live dataflow ----------------------------------------------------------


class EditInProgressError(DataflowError):
    """Someone else is editing this live dataflow; `lock` says who and since when."""

    def __init__(self, lock: EditLock) -> None:
        super().__init__(
            gettext(
                "%(editor)s has been editing this dataflow since %(since)s UTC (last change "
                "%(last)s UTC); take over or discard that edit first."
            )
            % {
                "editor": lock.editor_name,
                "since": f"{lock.since:%Y-%m-%d %H:%M}",
                "last": f"{lock.last_change:%Y-%m-%d %H:%M}",
            }
        )
        self.lock = lock


@transaction.atomic
def dataflow_edit_start(*, dataflow: Dataflow, user: Any, take_over: bool = False) -> Dataflow:
    """A draft copy of a live dataflow to walk through the wizard.

    One edit per dataflow: the editor's own edit is resumed; another user's
    raises EditInProgressError, unless `take_over`, which hands that edit (its
    changes so far) to `user` and leaves a notice for its previous editor.
    """
    original = Dataflow.objects.select_for_update().get(pk=dataflow.pk)
    if original.is_draft:
        raise DataflowError(gettext("This dataflow is still a draft: continue its wizard instead."))
    existing = original.edit_drafts.select_related("created_by").first()
    if existing is not None:
        if existing.created_by_id == user.pk:
            return existing
        if not take_over:
            raise EditInProgressError(selectors.edit_lock_of_draft(draft=existing))
        _hand_over(draft=existing, user=user, action=EditHandoverAction.TAKEN_OVER)
        existing.created_by = user
        existing.save(update_fields=["created_by", "updated_at"])
        return existing
    draft = Dataflow.objects.create(
        connection=original.connection,
        name=original.name,
        status=DataflowStatus.DRAFT,
        partition_key_source=original.partition_key_source,
        export_only_on_value_change=original.export_only_on_value_change,
        created_by=user,
        edit_of=original,
    )
    _copy_mapping(source=original, target=draft)
    DataflowSegment.objects.bulk_create(
        DataflowSegment(
            dataflow=draft,
            segment_id=row.segment_id,
            mapping_created_at=row.mapping_created_at,
            mapping_updated_at=row.mapping_updated_at,
        )
        for row in original.mapped_segments.all()
    )
    return draft


@transaction.atomic
def dataflow_edit_discard(*, dataflow: Dataflow, user: Any) -> bool:
    """Discard the unfinished edit of a live dataflow, whoever started it.

    Its editor, when not `user`, is told when they come back. False when
    nobody was editing it.
    """
    original = Dataflow.objects.select_for_update().get(pk=dataflow.pk)
    drafts = list(original.edit_drafts.select_related("created_by"))
    for draft in drafts:
        if draft.created_by_id != user.pk:
            _hand_over(draft=draft, user=user, action=EditHandoverAction.DISCARDED)
        draft.delete()
    return bool(drafts)


def _hand_over(*, draft: Dataflow, user: Any, action: EditHandoverAction) -> None:
    lock = selectors.edit_lock_of_draft(draft=draft)
    EditHandover.objects.create(
        dataflow_id=draft.edit_of_id,
        draft_id=draft.pk,
        action=action,
        previous_editor=draft.created_by,
        by=user,
        edit_started_at=lock.since,
    )
    logger.info(
        "user %s %s the edit of dataflow %s started by user %s",
        user.pk,
        action.label,
        draft.edit_of_id,
        draft.created_by_id,
    )


@transaction.atomic
def edit_handovers_take_unseen(*, user: Any, draft_id: int | None = None) -> list[EditHandover]:
    """The notices for `user` not shown yet (only those about `draft_id` if given),
    marked as seen: the caller shows them."""
    unseen = EditHandover.objects.select_for_update().filter(previous_editor=user, seen_at=None)
    if draft_id is not None:
        unseen = unseen.filter(draft_id=draft_id)
    notices = list(unseen.select_related("by", "dataflow"))
    EditHandover.objects.filter(pk__in=[n.pk for n in notices]).update(seen_at=timezone.now())
    return notices


def _copy_mapping(*, source: Dataflow, target: Dataflow) -> None:
    target.attribute_mappings.all().delete()
    AttributeMapping.objects.bulk_create(
        AttributeMapping(
            dataflow=target,
            source_path=m.source_path,
            target_path=m.target_path,
            position=m.position,
        )
        for m in source.attribute_mappings.all()
    )
    target.identity_selections.all().delete()
    IdentitySelection.objects.bulk_create(
        IdentitySelection(dataflow=target, namespace=s.namespace, hashed=s.hashed)
        for s in source.identity_selections.all()
    )


# What a mapping change is (a change of segments or name is not one).
_MAPPING_KEYS = ("attributes", "identities", "partition_key", "export_only_on_value_change")


def snapshot_diff(before: dict, after: dict) -> dict:
    """What an edit changes: the review's summary and the audit entry's details."""
    diff: dict[str, Any] = {}
    added = [
        {"id": sid, "name": name}
        for sid, name in after["segments"].items()
        if sid not in before["segments"]
    ]
    removed = [
        {"id": sid, "name": name}
        for sid, name in before["segments"].items()
        if sid not in after["segments"]
    ]
    if added or removed:
        diff["segments"] = {"added": added, "removed": removed}
    old_attrs = {a["source"]: a["target"] for a in before["attributes"]}
    new_attrs = {a["source"]: a["target"] for a in after["attributes"]}
    attrs = {
        "added": [s for s in new_attrs if s not in old_attrs],
        "removed": [s for s in old_attrs if s not in new_attrs],
        "retargeted": [
            {"source": s, "from": old_attrs[s], "to": t}
            for s, t in new_attrs.items()
            if s in old_attrs and old_attrs[s] != t
        ],
    }
    if any(attrs.values()):
        diff["attributes"] = attrs
    elif before["attributes"] != after["attributes"]:
        diff["attributes"] = {"reordered": True}
    old_ids, new_ids = before["identities"], after["identities"]
    ids = {
        "added": [ns for ns in new_ids if ns not in old_ids],
        "removed": [ns for ns in old_ids if ns not in new_ids],
        "hashing": [
            {"namespace": ns, "from": old_ids[ns], "to": h}
            for ns, h in new_ids.items()
            if ns in old_ids and old_ids[ns] != h
        ],
    }
    if any(ids.values()):
        diff["identities"] = ids
    for key in ("name", "partition_key", "export_only_on_value_change"):
        if before[key] != after[key]:
            diff[key] = {"from": before[key], "to": after[key]}
    return diff


def describe_diff(diff: dict) -> str:
    """One readable sentence per kind of change."""
    parts = []
    if segments := diff.get("segments"):
        if segments["added"]:
            names = ", ".join(s["name"] for s in segments["added"])
            parts.append(ADDED_SEGMENTS(names=names))
        if segments["removed"]:
            names = ", ".join(s["name"] for s in segments["removed"])
            parts.append(REMOVED_SEGMENTS(names=names))
    if attrs := diff.get("attributes"):
        if attrs.get("added"):
            parts.append(MAPPED(paths=", ".join(attrs["added"])))
        if attrs.get("removed"):
            parts.append(UNMAPPED(paths=", ".join(attrs["removed"])))
        for item in attrs.get("retargeted", []):
            parts.append(RETARGETED(source=item["source"], target=item["to"]))
        if attrs.get("reordered"):
            parts.append(REORDERED())
    if ids := diff.get("identities"):
        if ids["added"]:
            parts.append(ADDED_IDENTITIES(namespaces=", ".join(ids["added"])))
        if ids["removed"]:
            parts.append(REMOVED_IDENTITIES(namespaces=", ".join(ids["removed"])))
        for item in ids["hashing"]:
            hashing = NOW_HASHED if item["to"] else NOW_NOT_HASHED
            parts.append(hashing(namespace=item["namespace"]))
    if change := diff.get("partition_key"):
        parts.append(KEY_CHANGED(old=change["from"], new=change["to"]))
    if change := diff.get("export_only_on_value_change"):
        parts.append(ON_VALUE_CHANGE() if change["to"] else ON_ANY_WRITE())
    if change := diff.get("name"):
        parts.append(RENAMED(old=change["from"], new=change["to"]))
    return " ".join(parts) or NO_CHANGES()


def edit_summary(draft: Dataflow) -> str:
    """The review's "Your changes" for an edit draft: the words its audit entry will
    record when saved (the name has its own field on the review, so it is left out)."""
    original = draft.edit_of
    if original is None:
        raise DataflowError("Only an edit of a live dataflow has changes to summarize.")
    after = {**mapping_snapshot(draft), "name": original.name}
    return describe_diff(snapshot_diff(mapping_snapshot(original), after))


def _edit_apply(*, draft: Dataflow, user: Any, name: str) -> Dataflow:
    """Apply an edit draft to its live dataflow in one transaction, and record it."""
    from activation.export.services import backfill_start

    original = Dataflow.objects.select_for_update().get(pk=draft.edit_of_id)
    draft.name = name
    before, after = mapping_snapshot(original), mapping_snapshot(draft)
    diff = snapshot_diff(before, after)

    kept = set(before["segments"]) & set(after["segments"])
    added_ids = [uuid.UUID(s["id"]) for s in diff.get("segments", {}).get("added", [])]
    removed_ids = [uuid.UUID(s["id"]) for s in diff.get("segments", {}).get("removed", [])]
    # The draft's segment times are the ones its review sample showed (_edit_mapping_times).
    times = {
        row.segment_id: (row.mapping_created_at, row.mapping_updated_at)
        for row in draft.mapped_segments.all()
    }
    # Removed segments simply stop exporting: no "exited" record per member.
    original.mapped_segments.filter(segment_id__in=removed_ids).delete()
    DataflowSegment.objects.bulk_create(
        DataflowSegment(
            dataflow=original,
            segment_id=sid,
            mapping_created_at=times[sid][0],
            mapping_updated_at=times[sid][1],
        )
        for sid in added_ids
    )
    if any(key in diff for key in _MAPPING_KEYS):
        _copy_mapping(source=draft, target=original)
        for sid in (uuid.UUID(s) for s in kept):
            original.mapped_segments.filter(segment_id=sid).update(mapping_updated_at=times[sid][1])
    original.name = name
    original.partition_key_source = draft.partition_key_source
    original.export_only_on_value_change = draft.export_only_on_value_change
    original.save(
        update_fields=["name", "partition_key_source", "export_only_on_value_change", "updated_at"]
    )
    _record_change(original, user, Action.EDITED, describe_diff(diff), diff)
    draft.delete()
    if added_ids:
        backfill_start(dataflow=original, segment_ids=added_ids, reason="segment_added")
    return original


# --- enable, disable, delete ----------------------------------------------------------


def _status_set(*, dataflow: Dataflow, user: Any, status: DataflowStatus, refusal: str) -> None:
    """Move a finished dataflow to `status`, recording who did it (no-op if already there)."""
    locked = Dataflow.objects.select_for_update().get(pk=dataflow.pk)
    if locked.is_draft:
        raise DataflowError(refusal)
    if locked.status != status:
        with translation.override("en"):  # stored: English, shown translated
            previous, label = locked.get_status_display(), str(status.label)
        locked.status = status
        if status == DataflowStatus.ENABLED:
            locked.status_message = ""
        locked.save(update_fields=["status", "status_message", "updated_at"])
        action = Action.ENABLED if status == DataflowStatus.ENABLED else Action.DISABLED
        details = {"status": {"from": previous, "to": label}}
        _record_change(locked, user, action, STATUS_SUMMARIES[status](), details)
    _refresh(dataflow, locked)


@transaction.atomic
def dataflow_enable(*, dataflow: Dataflow, user: Any) -> Dataflow:
    """Resume exporting: a run starts at once and sends what changed while disabled.

    At once whatever was queued before: a run queued while the dataflow was
    disabled found it inactive and ended, but its debounce mark would hold new
    runs back for half a minute, and a failed run's retry time would too.
    """
    from activation.export.services import schedule_dataflow_run

    _status_set(
        dataflow=dataflow,
        user=user,
        status=DataflowStatus.ENABLED,
        refusal=gettext("Finish the activation wizard before enabling this dataflow."),
    )
    pk = dataflow.pk
    Dataflow.objects.filter(pk=pk).update(retry_at=None)
    transaction.on_commit(lambda: schedule_dataflow_run(pk, force=True))
    return dataflow


@transaction.atomic
def dataflow_disable(*, dataflow: Dataflow, user: Any) -> Dataflow:
    """Stop sending; changes keep being captured and go out when enabled again."""
    _status_set(
        dataflow=dataflow,
        user=user,
        status=DataflowStatus.DISABLED,
        refusal=gettext("A draft sends nothing; there is nothing to disable."),
    )
    return dataflow


def _refresh(stale: Dataflow, fresh: Dataflow) -> None:
    stale.status = fresh.status
    stale.status_message = fresh.status_message
    stale.updated_at = fresh.updated_at


@transaction.atomic
def dataflow_delete(*, dataflow: Dataflow, user: Any) -> None:
    """Delete a dataflow with its mapping, runs and delivery log (and any edit draft)."""
    logger.info("user %s deleted dataflow %s (%s)", user.pk, dataflow.pk, dataflow.name)
    dataflow.delete()


def dataflows_note_segment_deleted(
    *, dataflow_ids: Sequence[int], segment_id: uuid.UUID, segment_name: str, user: Any
) -> None:
    """Record on each dataflow that exported a deleted segment that it no longer does
    (profiles.segments.segment_delete; the dataflow page shows it as a notice)."""
    for dataflow_id in dataflow_ids:
        describe_change(
            ObjectType.DATAFLOW,
            dataflow_id,
            action=Action.EDITED,
            summary=SEGMENT_DELETED(name=segment_name),
            details={"segment_deleted": {"id": str(segment_id), "name": segment_name}},
            user=user,
        )
