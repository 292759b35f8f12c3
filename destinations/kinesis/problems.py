"""What a Kinesis problem means to a marketer: one sentence, and whether they must act.

The one place that turns the AWS seam's errors (`destinations.kinesis.aws`)
into the words the engine writes: a dataflow's status message, alert titles and
messages, a connection's health message. Codes never reach these words; they
stay in their own fields (`Dataflow.last_error_code`) for a detail line.

The words are stored in English, built from `StoredText` templates, and shown
in the reader's language by `core.stored_text.translate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.stored_text import StoredText
from destinations.kinesis import aws as kinesis

NOTHING_TO_DO = StoredText("Retrying automatically; nothing to do.")()
TELL_ADMIN = StoredText("Retrying automatically; if this lasts, tell your administrator.")()
NEEDS_YOU = StoredText("Needs you: %(what)s; everything pending is sent right after.")
THE_STREAM = StoredText("the stream")
THE_STREAM_NAMED = StoredText("the stream “%(stream)s”")
STREAM_MISSING = StoredText("%(the_stream)s does not exist")
STREAM_MISSING_TODO = StoredText(
    "Retrying automatically; nothing to do once the stream exists again."
)
ACCESS_DENIED = StoredText("the connection's credentials are not allowed to call %(action)s")
THE_WRITE_ACTIONS = StoredText("the write actions")
ALLOW_ACTION = StoredText(
    "allow %(action)s in the IAM policy (the connection's page shows the policy)"
)
KMS = StoredText("the stream's encryption key (KMS) cannot be used")
KMS_TODO = StoredText("enable the key, or allow kms:GenerateDataKey on it for these credentials")
BAD_REGION = StoredText("the connection's region is not valid")
BAD_REGION_TODO = StoredText("Needs you: connect a new destination in the stream's region.")
INVALID = StoredText("Kinesis refused the records as invalid")
THROTTLED = StoredText("the stream is at its capacity (throttled)")
THROTTLED_TODO = StoredText(
    "Retrying automatically; nothing to do. If it lasts, add shards to the stream."
)
UNREACHABLE = StoredText("Kinesis cannot be reached")
TRANSIENT = StoredText("Kinesis answered with a temporary error")
STREAM_STATE = StoredText("%(the_stream)s is %(state)s, not active")
# The stream states AWS reports, as the headline above words them.
STREAM_STATES = {
    "creating": StoredText("creating")(),
    "deleting": StoredText("deleting")(),
    "updating": StoredText("updating")(),
    "not active": StoredText("not active")(),
}
STREAM_INACTIVE_TODO = StoredText(
    "Retrying automatically; nothing to do once the stream is active again."
)
UNEXPECTED = StoredText("the export stopped on an unexpected error")
WAITING = StoredText.ngettext("%(count)s profile is waiting", "%(count)s profiles are waiting")

BAD_CREDENTIALS = {
    "wrong_secret": (
        StoredText("AWS rejects the connection's secret access key"),
        StoredText("enter the right secret (or a new access key) on the connection"),
    ),
    "expired": (
        StoredText("the connection's security token has expired"),
        StoredText("enter a long-lived access key on the connection, or use an IAM role"),
    ),
    "clock_skew": (
        StoredText("AWS rejects this server's requests because its clock is wrong"),
        StoredText("ask your administrator to set the server's clock"),
    ),
    "missing": (
        StoredText("the connection has no AWS credentials"),
        StoredText("enter an access key on the connection"),
    ),
}
REVOKED = (
    StoredText("AWS no longer accepts the connection's access key (revoked or deleted)"),
    StoredText("enter a new access key on the connection"),
)


@dataclass(frozen=True)
class Problem:
    # What is wrong, as the end of "Cannot deliver: …" ("the stream “x” does not exist").
    headline: str
    # What happens next and whether the marketer must act ("Needs you: …").
    todo: str
    action_needed: bool
    # The connection itself (credentials, permissions, stream, key) is at fault:
    # its health is Failing until an export or a check proves otherwise.
    connection_fault: bool

    @property
    def sentence(self) -> str:
        return f"{self.headline[:1].upper()}{self.headline[1:]}. {self.todo}"


def _needs_you(what: str) -> str:
    return NEEDS_YOU(what=what)


def problem_of(error: BaseException | None, *, code: str = "", stream: str = "") -> Problem:
    """The problem behind an export error (`error`), or behind a per-record error `code`
    when the records failed inside a successful call."""
    the_stream = THE_STREAM_NAMED(stream=stream) if stream else THE_STREAM()
    if isinstance(error, kinesis.StreamNotFound):
        return Problem(
            STREAM_MISSING(the_stream=the_stream),
            STREAM_MISSING_TODO(),
            action_needed=False,
            connection_fault=True,
        )
    if isinstance(error, kinesis.BadCredentials):
        return _bad_credentials(error)
    if isinstance(error, kinesis.AccessDenied):
        action = error.action or THE_WRITE_ACTIONS()
        return Problem(
            ACCESS_DENIED(action=action),
            _needs_you(ALLOW_ACTION(action=action)),
            action_needed=True,
            connection_fault=True,
        )
    if isinstance(error, kinesis.KmsError):
        return Problem(
            KMS(),
            _needs_you(KMS_TODO()),
            action_needed=True,
            connection_fault=True,
        )
    if isinstance(error, kinesis.InvalidRegion):
        return Problem(
            BAD_REGION(),
            BAD_REGION_TODO(),
            action_needed=True,
            connection_fault=True,
        )
    if isinstance(error, kinesis.InvalidRequest):
        return Problem(
            INVALID(),
            TELL_ADMIN,
            action_needed=False,
            connection_fault=False,
        )
    if isinstance(error, kinesis.Throttled) or _throttling(code):
        return Problem(
            THROTTLED(),
            THROTTLED_TODO(),
            action_needed=False,
            connection_fault=False,
        )
    if isinstance(error, kinesis.EndpointUnreachable):
        return Problem(UNREACHABLE(), NOTHING_TO_DO, False, False)
    if isinstance(error, kinesis.TransientError) or (error is None and code):
        return Problem(TRANSIENT(), NOTHING_TO_DO, False, False)
    if isinstance(error, kinesis.KinesisError) and error.code.startswith("Stream"):
        # The health check's "stream not ACTIVE" (code Stream<Status>).
        state = error.code.removeprefix("Stream").lower() or "not active"
        return Problem(
            STREAM_STATE(the_stream=the_stream, state=STREAM_STATES.get(state, state)),
            STREAM_INACTIVE_TODO(),
            action_needed=False,
            connection_fault=True,
        )
    return Problem(
        UNEXPECTED(),
        TELL_ADMIN,
        action_needed=False,
        connection_fault=False,
    )


def _throttling(code: str) -> bool:
    return "Throughput" in code or "Throttl" in code


def _bad_credentials(error: kinesis.BadCredentials) -> Problem:
    headline, what = BAD_CREDENTIALS.get(error.kind, REVOKED)
    return Problem(headline(), _needs_you(what()), action_needed=True, connection_fault=True)


def waiting_text(pending: int) -> str:
    """ "1 profile is waiting" / "50 profiles are waiting" (the records in flight)."""
    return WAITING(count=pending)
