from django.http import HttpRequest
from django.urls import reverse

NAVIGATION = [
    ("catalog", "Catalog"),
    ("destinations:list", "Destinations"),
    ("activation:dataflow_list", "Dataflows"),
    ("profiles:segment_list", "Segments"),
    ("profiles:profile_list", "Profiles"),
    ("governance:overview", "Data governance"),
    ("audit:list", "Audit log"),
]


def navigation(request: HttpRequest) -> dict:
    """Main navigation; an entry is current when the page lives under its URL."""
    items = []
    for url_name, label in NAVIGATION:
        url = reverse(url_name)
        items.append({"url": url, "label": label, "active": request.path.startswith(url)})
    return {"nav_items": items}
