"""What a Kinesis problem means to a marketer: one sentence, and whether they must act.

The one place that turns the AWS seam's errors (`destinations.kinesis.aws`)
into the words the engine writes: a dataflow's status message, alert titles and
messages, a connection's health message. Codes never reach these words; they
stay in their own fields (`Dataflow.last_error_code`) for a detail line.
"""

from __future__ import annotations

from dataclasses import dataclass

from destinations.kinesis import aws as kinesis

NOTHING_TO_DO = "Retrying automatically; nothing to do."


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
    return f"Needs you: {what}; everything pending is sent right after."


def problem_of(error: BaseException | None, *, code: str = "", stream: str = "") -> Problem:
    """The problem behind an export error (`error`), or behind a per-record error `code`
    when the records failed inside a successful call."""
    the_stream = f"the stream “{stream}”" if stream else "the stream"
    if isinstance(error, kinesis.StreamNotFound):
        return Problem(
            f"{the_stream} does not exist",
            "Retrying automatically; nothing to do once the stream exists again.",
            action_needed=False,
            connection_fault=True,
        )
    if isinstance(error, kinesis.BadCredentials):
        return _bad_credentials(error)
    if isinstance(error, kinesis.AccessDenied):
        action = error.action or "the write actions"
        return Problem(
            f"the connection's credentials are not allowed to call {action}",
            _needs_you(
                f"allow {action} in the IAM policy (the connection's page shows the policy)"
            ),
            action_needed=True,
            connection_fault=True,
        )
    if isinstance(error, kinesis.KmsError):
        return Problem(
            "the stream's encryption key (KMS) cannot be used",
            _needs_you("enable the key, or allow kms:GenerateDataKey on it for these credentials"),
            action_needed=True,
            connection_fault=True,
        )
    if isinstance(error, kinesis.InvalidRegion):
        return Problem(
            "the connection's region is not valid",
            "Needs you: connect a new destination in the stream's region.",
            action_needed=True,
            connection_fault=True,
        )
    if isinstance(error, kinesis.InvalidRequest):
        return Problem(
            "Kinesis refused the records as invalid",
            "Retrying automatically; if this lasts, tell your administrator.",
            action_needed=False,
            connection_fault=False,
        )
    if isinstance(error, kinesis.Throttled) or _throttling(code):
        return Problem(
            "the stream is at its capacity (throttled)",
            "Retrying automatically; nothing to do. If it lasts, add shards to the stream.",
            action_needed=False,
            connection_fault=False,
        )
    if isinstance(error, kinesis.EndpointUnreachable):
        return Problem("Kinesis cannot be reached", NOTHING_TO_DO, False, False)
    if isinstance(error, kinesis.TransientError) or (error is None and code):
        return Problem("Kinesis answered with a temporary error", NOTHING_TO_DO, False, False)
    if isinstance(error, kinesis.KinesisError) and error.code.startswith("Stream"):
        # The health check's "stream not ACTIVE" (code Stream<Status>).
        state = error.code.removeprefix("Stream").lower() or "not active"
        return Problem(
            f"{the_stream} is {state}, not active",
            "Retrying automatically; nothing to do once the stream is active again.",
            action_needed=False,
            connection_fault=True,
        )
    return Problem(
        "the export stopped on an unexpected error",
        "Retrying automatically; if this lasts, tell your administrator.",
        action_needed=False,
        connection_fault=False,
    )


def _throttling(code: str) -> bool:
    return "Throughput" in code or "Throttl" in code


def _bad_credentials(error: kinesis.BadCredentials) -> Problem:
    headline, what = {
        "wrong_secret": (
            "AWS rejects the connection's secret access key",
            "enter the right secret (or a new access key) on the connection",
        ),
        "expired": (
            "the connection's security token has expired",
            "enter a long-lived access key on the connection, or use an IAM role",
        ),
        "clock_skew": (
            "AWS rejects this server's requests because its clock is wrong",
            "ask your administrator to set the server's clock",
        ),
        "missing": (
            "the connection has no AWS credentials",
            "enter an access key on the connection",
        ),
    }.get(
        error.kind,
        (
            "AWS no longer accepts the connection's access key (revoked or deleted)",
            "enter a new access key on the connection",
        ),
    )
    return Problem(headline, _needs_you(what), action_needed=True, connection_fault=True)


def waiting_text(pending: int) -> str:
    """ "1 profile is waiting" / "50 profiles are waiting" (the records in flight)."""
    if pending == 1:
        return "1 profile is waiting"
    return f"{pending:,} profiles are waiting"
