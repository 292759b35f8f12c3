from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

NAVIGATION = [
    ("catalog", _("Catalog")),
    ("destinations:list", _("Destinations")),
    ("activation:dataflow_list", _("Dataflows")),
    ("profiles:segment_list", _("Segments")),
    ("profiles:profile_list", _("Profiles")),
    ("governance:overview", _("Data governance")),
    ("audit:list", _("Audit log")),
]


def navigation(request: HttpRequest) -> dict:
    """Main navigation; an entry is current when the page lives under its URL."""
    items = []
    for url_name, label in NAVIGATION:
        url = reverse(url_name)
        items.append({"url": url, "label": label, "active": request.path.startswith(url)})
    return {"nav_items": items}
