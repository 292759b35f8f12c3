"""Records audit entries from model signals, whoever made the change.

Services, Django admin and the API all save through the ORM, so listening to
the models (instead of asking every service to remember) covers them all.
Changes made in one transaction become one entry per object: the first signal
of a transaction snapshots the object as it was, and when the transaction
commits the object is snapshotted again and the difference recorded.

Dataflow child rows (segments, attributes, identities) are partly bulk-created
by the wizard services, which sends no signal; so their "before" is taken from
the object's last audit entry when one exists.

A service that knows what it did in words (finishing the wizard, an edit, a
segment deleted from under a dataflow) calls `describe_change` inside its
transaction: that entry is written at once, so it commits or rolls back with
the change, and is completed with the fields when the transaction commits.

Only public transaction API is used: the batch is handed to
`transaction.on_commit` and the connection keeps a weak reference to it, so a
rollback, which drops the callback, drops the batch with it.
"""

import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from activation.models import AttributeMapping, Dataflow, DataflowSegment, IdentitySelection
from audit import snapshots
from audit.context import Actor, current_actor
from audit.models import Action, AuditEntry, ObjectType
from destinations.models import Connection

logger = logging.getLogger(__name__)

Key = tuple[str, int]


@dataclass
class _Touched:
    before: snapshots.Snapshot | None
    actor: Actor
    entry_id: int | None = None  # the entry describe_change wrote, completed at commit


@dataclass
class _Batch:
    """The objects touched by one transaction."""

    touched: dict[Key, _Touched] = field(default_factory=dict)
    scheduled: bool = False
    done: bool = False

    def flush(self) -> None:
        self.done = True
        for key, touched in self.touched.items():
            try:
                _record(key, touched)
            except Exception:
                # The change itself is committed; never turn it into an error page.
                logger.exception("could not write the audit entry for %s %s", *key)


# Each connection's open batch. Weak: while a transaction is open, its on_commit
# callback is what keeps the batch alive, so a rolled-back transaction's batch is
# gone and the next write starts afresh. Outside a transaction `_pending` holds it
# until the write's post signal flushes it.
_open: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, weakref.ref[_Batch]]" = (
    weakref.WeakKeyDictionary()
)
_pending: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Batch]" = weakref.WeakKeyDictionary()


def _current_batch() -> _Batch:
    connection = transaction.get_connection()
    ref = _open.get(connection)
    batch = ref() if ref is not None else None
    if batch is not None and not batch.done:
        return batch
    batch = _Batch()
    _open[connection] = weakref.ref(batch)
    _pending[connection] = batch
    return batch


def _load(key: Key) -> Any:
    kind, pk = key
    if kind == ObjectType.CONNECTION:
        return Connection.objects.select_related("owner").filter(pk=pk).first()
    return Dataflow.objects.select_related("connection").filter(pk=pk).first()


def _snapshot(key: Key, obj: Any) -> snapshots.Snapshot | None:
    if obj is None:
        return None
    if key[0] == ObjectType.CONNECTION:
        return snapshots.connection_snapshot(obj)
    return snapshots.dataflow_snapshot(obj)


def touch(kind: str, pk: int | None, *, new: bool = False) -> None:
    """Note that this object is about to change (or was just created: `new`)."""
    if pk is None:
        return
    connection = transaction.get_connection()
    batch = _current_batch()
    key = (kind, pk)
    if key not in batch.touched:
        before = None if new else _snapshot(key, _load(key))
        batch.touched[key] = _Touched(before=before, actor=current_actor())
    if connection.in_atomic_block and not batch.scheduled:
        batch.scheduled = True
        transaction.on_commit(batch.flush)
        # From here the callback keeps the batch alive, and a rollback lets it go.
        _pending.pop(connection, None)


def changed() -> None:
    """After a write: outside a transaction the change is committed already."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        return
    batch = _pending.pop(connection, None)
    if batch is not None and not batch.done:
        batch.flush()


def describe_change(
    kind: str,
    pk: int,
    *,
    action: str,
    summary: str,
    details: dict | None = None,
    user: Any = None,
) -> AuditEntry:
    """Record what a service did to an object, in words, as part of its transaction.

    Call it inside the transaction that makes the change: the entry rolls back
    with it, and when it commits the entry gets the fields before and after
    (it is this transaction's entry for the object: no second one is written;
    of several described in one transaction, the last gets the fields).
    `user` names the actor when the caller knows them (a service called by a
    task, the admin); else the request's user, else the system.
    """
    touch(kind, pk)
    touched = _current_batch().touched[(kind, pk)]
    if user is not None:
        touched.actor = Actor(user=user, via=touched.actor.via)
    # Each described action is an entry; the transaction's fields go to the last one.
    obj = _load((kind, pk))
    entry = AuditEntry.objects.create(
        actor=touched.actor.user,
        actor_name=touched.actor.name,
        via=touched.actor.via,
        action=action,
        object_type=kind,
        object_id=pk,
        object_name=str(getattr(obj, "name", ""))[:200],
        summary=summary,
        details=details or {},
    )
    touched.entry_id = entry.pk
    return entry


# --- deciding what an entry says ---------------------------------------------------


def _last_after(key: Key, *, besides: int | None) -> dict | None:
    entry = (
        AuditEntry.objects.filter(object_type=key[0], object_id=key[1])
        .exclude(pk=besides)
        .order_by("-created_at", "-id")
        .values_list("after", flat=True)
        .first()
    )
    return entry


def _dataflow_action(before: dict | None, after: dict | None, changes: list[dict]) -> str | None:
    # Drafts are the wizard's work in progress: a dataflow is created when it is finished.
    if snapshots.is_draft(after) and (before is None or snapshots.is_draft(before)):
        return None
    if after is None:
        return None if before is None or snapshots.is_draft(before) else Action.DELETED
    if before is None or snapshots.is_draft(before):
        return Action.CREATED
    if not changes:
        return None
    status = next((c["after"] for c in changes if c["field"] == "status"), None)
    return {"enabled": Action.ENABLED, "disabled": Action.DISABLED}.get(status, Action.EDITED)


def _connection_action(before: dict | None, after: dict | None, changes: list[dict]) -> str | None:
    if before is None:
        return None if after is None else Action.CREATED
    if after is None:
        return Action.DELETED
    if not changes:
        return None
    if [c["field"] for c in changes] == [snapshots.SECRET_KEY]:
        return Action.SECRET_ROTATED
    return Action.EDITED


def _record(key: Key, touched: _Touched) -> None:
    now = _snapshot(key, _load(key))
    old = touched.before
    if (now and now.skip) or (old and old.skip):
        return
    before = dict(old.fields) if old else None
    after = dict(now.fields) if now else None
    if key[0] == ObjectType.DATAFLOW and before is not None and not snapshots.is_draft(before):
        last = _last_after(key, besides=touched.entry_id)
        if last:
            before.update({k: last[k] for k in snapshots.DATAFLOW_CHILD_KEYS if k in last})
    if before is not None and after is not None and old.secret_marker != now.secret_marker:
        # Never the value: only that a secret was set, replaced or removed.
        if not now.secret_marker:
            after[snapshots.SECRET_KEY] = ""
        else:
            after[snapshots.SECRET_KEY] = snapshots.REPLACED if old.secret_marker else "set"
    changes = snapshots.diff(before, after)
    if key[0] == ObjectType.CONNECTION:
        action = _connection_action(before, after, changes)
    else:
        action = _dataflow_action(before, after, changes)
    if action is None and touched.entry_id is None:
        return
    if after is not None and after.get(snapshots.SECRET_KEY) in (snapshots.REPLACED, "set"):
        # The stored "after" is the state from now on: a secret that is set.
        after[snapshots.SECRET_KEY] = snapshots.HIDDEN
    fields = {
        "object_name": str((after or before or {}).get("name", ""))[:200],
        "before": before,
        "after": after,
        "changes": changes,
    }
    if touched.entry_id is not None:
        # The service's own entry: its words stay, the fields complete it.
        described = AuditEntry.objects.filter(pk=touched.entry_id)
        described.update(**fields, **({"action": action} if action else {}))
        return
    AuditEntry.objects.create(
        actor=touched.actor.user,
        actor_name=touched.actor.name,
        via=touched.actor.via,
        action=action,
        object_type=key[0],
        object_id=key[1],
        **fields,
    )


# --- signal receivers ----------------------------------------------------------------


def _audited(update_fields: Any, fields: frozenset[str]) -> bool:
    return update_fields is None or bool(set(update_fields) & fields)


def _on_connection_pre_save(sender: Any, instance: Connection, **kwargs: Any) -> None:
    if instance.pk is not None and _audited(
        kwargs.get("update_fields"), snapshots.CONNECTION_FIELDS
    ):
        touch(ObjectType.CONNECTION, instance.pk)


def _on_connection_post_save(
    sender: Any, instance: Connection, created: bool, **kwargs: Any
) -> None:
    if created:
        touch(ObjectType.CONNECTION, instance.pk, new=True)
    changed()


def _on_connection_pre_delete(sender: Any, instance: Connection, **kwargs: Any) -> None:
    touch(ObjectType.CONNECTION, instance.pk)


def _on_dataflow_pre_save(sender: Any, instance: Dataflow, **kwargs: Any) -> None:
    if instance.pk is not None and _audited(kwargs.get("update_fields"), snapshots.DATAFLOW_FIELDS):
        touch(ObjectType.DATAFLOW, instance.pk)


def _on_dataflow_post_save(sender: Any, instance: Dataflow, created: bool, **kwargs: Any) -> None:
    if created:
        touch(ObjectType.DATAFLOW, instance.pk, new=True)
    changed()


def _on_dataflow_pre_delete(sender: Any, instance: Dataflow, **kwargs: Any) -> None:
    touch(ObjectType.DATAFLOW, instance.pk)


def _on_child_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    touch(ObjectType.DATAFLOW, instance.dataflow_id)


def _on_segments_m2m(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    if action.startswith("pre_"):
        if not reverse:
            touch(ObjectType.DATAFLOW, instance.pk)
        else:
            for dataflow_id in pk_set or Dataflow.objects.filter(segments=instance).values_list(
                "pk", flat=True
            ):
                touch(ObjectType.DATAFLOW, dataflow_id)
    else:
        changed()


def _on_written(sender: Any, **kwargs: Any) -> None:
    changed()


def connect_signals() -> None:
    uid = "audit.recorder"
    pre_save.connect(_on_connection_pre_save, sender=Connection, dispatch_uid=f"{uid}.c1")
    post_save.connect(_on_connection_post_save, sender=Connection, dispatch_uid=f"{uid}.c2")
    pre_delete.connect(_on_connection_pre_delete, sender=Connection, dispatch_uid=f"{uid}.c3")
    post_delete.connect(_on_written, sender=Connection, dispatch_uid=f"{uid}.c4")
    pre_save.connect(_on_dataflow_pre_save, sender=Dataflow, dispatch_uid=f"{uid}.d1")
    post_save.connect(_on_dataflow_post_save, sender=Dataflow, dispatch_uid=f"{uid}.d2")
    pre_delete.connect(_on_dataflow_pre_delete, sender=Dataflow, dispatch_uid=f"{uid}.d3")
    post_delete.connect(_on_written, sender=Dataflow, dispatch_uid=f"{uid}.d4")
    for child in (DataflowSegment, AttributeMapping, IdentitySelection):
        name = child.__name__
        pre_save.connect(_on_child_change, sender=child, dispatch_uid=f"{uid}.{name}.1")
        pre_delete.connect(_on_child_change, sender=child, dispatch_uid=f"{uid}.{name}.2")
        post_save.connect(_on_written, sender=child, dispatch_uid=f"{uid}.{name}.3")
        post_delete.connect(_on_written, sender=child, dispatch_uid=f"{uid}.{name}.4")
    m2m_changed.connect(
        _on_segments_m2m, sender=Dataflow.segments.through, dispatch_uid=f"{uid}.m2m"
    )
