"""The one error type services raise for a write they refuse, whoever asked.

A service says what is wrong once; each interface maps it: the REST API to a
4xx naming the field (`api.common.service_error`), the UI views to a form
field error or a message. Nobody guesses the field from the message text.
Validation that finds several problems at once raises Django's
`ValidationError` with a dict keyed by the same field names instead.
"""


class ServiceError(Exception):
    """A refused write: `message` for people, `code` for machines, `field` the input
    at fault in the service's own words ("connection", "segments", "partition_key",
    ...; None when no one input is to blame)."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
