"""The destination catalog. A new destination type adds an entry here and a
folder beside destinations/kinesis/; the wizard core stays untouched."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DestinationType:
    key: str
    name: str
    summary: str
    docs_url: str
    beta: bool
    setup_url_name: str


KINESIS = DestinationType(
    key="kinesis",
    name="Amazon Kinesis",
    summary=(
        "Stream audience segment members and their attributes to an Amazon Kinesis "
        "Data Stream in real time, for your own consumers to act on."
    ),
    docs_url="https://docs.aws.amazon.com/streams/latest/dev/introduction.html",
    beta=True,
    setup_url_name="destinations:connect",
)

CATALOG: tuple[DestinationType, ...] = (KINESIS,)


def get_destination_type(key: str) -> DestinationType | None:
    """The catalog entry with that key, if any."""
    return next((entry for entry in CATALOG if entry.key == key), None)
