"""Signals other apps listen to (the export engine schedules runs from them)."""

from django.db import transaction
from django.dispatch import Signal

# Sent after a transaction that changed profiles commits.
# kwargs: profile_ids (list[int]): the profiles with a new ProfileChange row.
profiles_changed = Signal()


def send_profiles_changed(profile_ids: list[int]) -> None:
    """Send profiles_changed once the current transaction commits (now, in autocommit)."""
    if not profile_ids:
        return
    ids = sorted(set(profile_ids))
    transaction.on_commit(lambda: profiles_changed.send(sender=None, profile_ids=ids))
