"""Signal receivers that start export runs (connected in ActivationConfig.ready)."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

# A save touching any of these may fix a dataflow stopped by a permanent error.
CONNECTION_DELIVERY_FIELDS = frozenset(
    {
        "access_key_id",
        "secret_access_key_encrypted",
        "auth_method",
        "role_arn",
        "external_id",
        "region",
        "stream_name",
    }
)


def on_profiles_changed(sender: Any, profile_ids: list[int], **kwargs: Any) -> None:
    """Profiles changed and committed: queue the dataflows that may export them."""
    from activation.export.services import dataflows_schedule_for_profiles

    try:
        dataflows_schedule_for_profiles(profile_ids=profile_ids)
    except Exception:
        # The write is committed and its change rows are safe; the beat safety
        # tick queues the run. Never fail the profile write's response for this.
        logger.exception("could not schedule export runs for %s profiles", len(profile_ids))


def on_connection_saved(
    sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """New credentials or stream on a connection: retry its failed dataflows right away."""
    if created or (update_fields and not CONNECTION_DELIVERY_FIELDS & set(update_fields)):
        return
    from django.db import transaction

    from activation.export.services import dataflows_retry_for_connection

    connection_id = instance.pk
    transaction.on_commit(lambda: dataflows_retry_for_connection(connection_id=connection_id))
