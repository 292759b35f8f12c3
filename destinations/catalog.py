"""The destination catalog. A new destination type adds an entry here and a
folder beside destinations/kinesis/; the wizard core stays untouched."""

from dataclasses import dataclass

from django.utils.translation import gettext_noop


@dataclass(frozen=True)
class DestinationType:
    key: str
    name: str
    summary: str
    beta: bool
    setup_url_name: str
    # Our own page about the destination (destinations/docs/<key>.html), served by the app.
    docs_template: str

    @property
    def docs_url(self) -> str:
        from django.urls import reverse

        return reverse("destinations:docs", args=[self.key])


KINESIS = DestinationType(
    key="kinesis",
    name="Amazon Kinesis",
    # English here (the API serves it as is); pages translate it: {% translate dest.summary %}.
    summary=gettext_noop(
        "Stream audience segment members and their attributes to an Amazon Kinesis "
        "Data Stream in real time, for your own consumers to act on."
    ),
    beta=True,
    setup_url_name="destinations:connect",
    docs_template="destinations/docs/kinesis.html",
)

CATALOG: tuple[DestinationType, ...] = (KINESIS,)


def get_destination_type(key: str) -> DestinationType | None:
    """The catalog entry with that key, if any."""
    return next((entry for entry in CATALOG if entry.key == key), None)
