"""`{{ status|status_label }}`: a dataflow's (display) status as the marketer reads it."""

from django import template
from django.utils.translation import gettext_lazy as _

from activation.models import DataflowStatus

register = template.Library()

# display_status adds "processing" (a backfill or run under way) to the model's statuses.
_LABELS = {**dict(DataflowStatus.choices), "processing": _("Processing")}


@register.filter
def status_label(status: str) -> str:
    return str(_LABELS.get(status, status.replace("_", " ").capitalize()))
