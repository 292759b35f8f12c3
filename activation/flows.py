"""Whole dataflow writes in one call: create a dataflow, or change a live one.

The wizard's UI walks its steps one request at a time; an interface that gets
everything at once (the REST API) calls these instead. Both go through the
same step services (activation/services.py), so every rule of the wizard holds
for both: a new dataflow is a draft walked through destination, segments and
mapping, then finished (enabled and backfilled); a change of a live dataflow
is an edit copy walked the same way and applied in one transaction, so the
exporter never sees half of it. Refusals are ServiceError/ValidationError with
their field (core/service_errors.py).
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from django.db import transaction

from activation import selectors, services
from activation.models import Dataflow
from activation.services import AttributeSpec, IdentitySpec
from core.service_errors import ServiceError
from destinations.models import Connection

State = Literal["enabled", "disabled"]
T = TypeVar("T")


@dataclass(frozen=True)
class NewDataflow:
    """Everything a new dataflow needs; None means the wizard's default."""

    name: str
    connection_id: int
    segment_ids: Sequence[uuid.UUID]
    attributes: Sequence[AttributeSpec] = ()
    # Default: every identity namespace the profile store knows.
    identities: Sequence[IdentitySpec] | None = None
    # Default: the wizard's choice (the most stable exported identity).
    partition_key: str | None = None
    export_only_on_value_change: bool = False
    state: State = "enabled"


@dataclass(frozen=True)
class DataflowChanges:
    """What to change on a live dataflow; None leaves a part as it is."""

    name: str | None = None
    connection_id: int | None = None
    state: State | None = None
    segment_ids: Sequence[uuid.UUID] | None = None
    attributes: Sequence[AttributeSpec] | None = None
    identities: Sequence[IdentitySpec] | None = None
    partition_key: str | None = None
    export_only_on_value_change: bool | None = None
    # Discard someone's unfinished wizard edit (they are told) instead of refusing.
    take_over: bool = False

    @property
    def mapping_changes(self) -> bool:
        parts = (self.attributes, self.identities, self.partition_key)
        return any(part is not None for part in parts) or (
            self.export_only_on_value_change is not None
        )

    @property
    def content_changes(self) -> bool:
        """Changes applied through an edit copy (the state is not one of them)."""
        return self.mapping_changes or self.name is not None or self.segment_ids is not None


def all_identities() -> list[IdentitySpec]:
    return [IdentitySpec(namespace) for namespace in selectors.identity_namespaces()]


@transaction.atomic
def dataflow_create(*, user: Any, new: NewDataflow) -> Dataflow:
    """Walk the wizard for `new` and finish it: the dataflow, enabled (or disabled)."""
    connection = Connection.objects.filter(pk=new.connection_id).first()
    if connection is None:
        raise ServiceError(f"There is no connection {new.connection_id}.", field="connection")
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=new.segment_ids)
    identities = all_identities() if new.identities is None else list(new.identities)
    partition_key = new.partition_key
    if partition_key is None:
        exported = [spec.namespace for spec in identities]
        partition_key = selectors.default_partition_key(dataflow=draft, exported=exported)
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=new.attributes,
        identities=identities,
        partition_key_source=partition_key,
        export_only_on_value_change=new.export_only_on_value_change,
    )
    dataflow = services.dataflow_finish(dataflow=draft, user=user, name=new.name)
    if new.state == "disabled":
        services.dataflow_disable(dataflow=dataflow, user=user)
    return dataflow


@transaction.atomic
def dataflow_update(
    *,
    user: Any,
    dataflow_id: int,
    changes: DataflowChanges,
    precondition: Callable[[Dataflow], None] | None = None,
) -> Dataflow:
    """Apply `changes` to a live dataflow, locked meanwhile; `precondition` sees the
    locked row first (the API's If-Match) and may raise to refuse."""
    dataflow = Dataflow.objects.live().select_for_update().filter(pk=dataflow_id).first()
    if dataflow is None:
        raise ServiceError(f"There is no dataflow {dataflow_id}.", code="not_found")
    if precondition is not None:
        precondition(dataflow)
    if changes.connection_id is not None and changes.connection_id != dataflow.connection_id:
        raise ServiceError(
            "A dataflow keeps its connection; create a new dataflow.",
            field="connection",
            code="read_only",
        )
    if changes.content_changes:
        _edit_apply(user=user, dataflow=dataflow, changes=changes)
    if changes.state == "enabled":
        services.dataflow_enable(dataflow=dataflow, user=user)
    elif changes.state == "disabled":
        services.dataflow_disable(dataflow=dataflow, user=user)
    return dataflow


def _edit_apply(*, user: Any, dataflow: Dataflow, changes: DataflowChanges) -> None:
    """The wizard's edit in one go: a fresh edit copy, the changed steps, finish.

    An unfinished wizard edit (anyone's) is refused with EditInProgressError, or
    discarded first with `take_over`: these changes are applied to the live
    dataflow as it is, never on top of someone's half-done edit.
    """
    lock = selectors.edit_lock(dataflow=dataflow)
    if lock is not None:
        if not changes.take_over:
            raise services.EditInProgressError(lock)
        services.dataflow_edit_discard(dataflow=dataflow, user=user)
    draft = services.dataflow_edit_start(dataflow=dataflow, user=user)
    if changes.segment_ids is not None:
        services.dataflow_set_segments(dataflow=draft, segment_ids=changes.segment_ids)
    if changes.mapping_changes:
        services.dataflow_set_mapping(
            dataflow=draft,
            attributes=_or(changes.attributes, _attribute_specs(draft)),
            identities=_or(changes.identities, _identity_specs(draft)),
            partition_key_source=_or(changes.partition_key, draft.partition_key_source),
            export_only_on_value_change=_or(
                changes.export_only_on_value_change, draft.export_only_on_value_change
            ),
        )
    services.dataflow_finish(dataflow=draft, user=user, name=changes.name or dataflow.name)


def _attribute_specs(dataflow: Dataflow) -> list[AttributeSpec]:
    return [AttributeSpec(m.source_path, m.target_path) for m in dataflow.attribute_mappings.all()]


def _identity_specs(dataflow: Dataflow) -> list[IdentitySpec]:
    return [IdentitySpec(s.namespace, s.hashed) for s in dataflow.identity_selections.all()]


def _or(value: T | None, current: T) -> T:
    return current if value is None else value
