from typing import Any

from django import template
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def audit_value(value: Any) -> str:
    """A snapshot value as text: lists one per line, booleans as yes/no, empty as —."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return str(value)


@register.filter
def audit_delta(change: dict) -> dict | None:
    """For list fields (segments, attributes, identities): what was added and removed."""
    before, after = change.get("before"), change.get("after")
    if not isinstance(before, list) and not isinstance(after, list):
        return None
    before, after = before or [], after or []
    return {
        "added": [item for item in after if item not in before],
        "removed": [item for item in before if item not in after],
    }


# What a "created dataflow" entry lists: what was activated, from its "after" snapshot
# (the draft it was finished from held the same mapping, so its changes show only the status).
ACTIVATED_FIELDS = (
    ("segments", _("Segments")),
    ("attributes", _("Attributes")),
    ("identities", _("Identities")),
    ("partitionKey", _("Partition key")),
    ("connection", _("Destination")),
)


@register.filter
def audit_activated(entry: Any) -> list[tuple[str, str]]:
    """(label, text) of what a created dataflow activates; [] for any other entry."""
    if entry.action != "created" or entry.object_type != "dataflow" or not entry.after:
        return []
    return [(str(label), audit_value(entry.after.get(key))) for key, label in ACTIVATED_FIELDS]
