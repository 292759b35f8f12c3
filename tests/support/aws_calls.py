"""A call hook on every AWS call the product makes, built on botocore's event system.

The product has no hook of its own: this module adds one to the product's
botocore clients (those whose user agent names the product) as they are
created (botocore's `creating-client-class` event, from botocore's list of
handlers every new session registers), and each client then runs the
installed hook from its `before-parameter-build` and `before-call` events::

    def hook(service: str, operation: str, params: dict, proceed) -> dict:
        # service: "kinesis" | "sts" | "iam"; operation: "PutRecords", ...
        # proceed() makes the real call (botocore's retries included) and
        # returns its response dict; params may be changed before it.
        ...

A hook can raise an error as AWS would (`client_error`, `read_timeout`,
`connect_timeout`: botocore's own exceptions, which the seam maps like real
ones), answer without calling AWS (return a dict), or call `proceed()` and
alter the answer (`fail_records`). Install it with ``with call_hook(hook):``
(process-wide: a live server's threads see it too) or `set_call_hook`.

Clients created before this module was imported carry no hook: the root
conftest imports it first, and a worker process's settings
(`tests/faults/worker_settings.py`) import it before any client exists.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.handlers
from botocore import xform_name
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

CallHook = Callable[[str, str, dict[str, Any], Callable[[], dict[str, Any]]], dict[str, Any]]

_hook: CallHook | None = None
_PARAMS = "tests.call_hook.params"
# (client id, operation) of the calls `proceed()` is making: their events let them through.
_proceeding = threading.local()


def set_call_hook(hook: CallHook | None) -> None:
    """Install (or with None remove) the hook every AWS call passes through."""
    global _hook
    _hook = hook


@contextmanager
def call_hook(hook: CallHook) -> Iterator[None]:
    """Install a call hook for the duration of a with-block."""
    previous = _hook
    set_call_hook(hook)
    try:
        yield
    finally:
        set_call_hook(previous)


# --------------------------------------------------------------------------
# What a hook raises or returns
# --------------------------------------------------------------------------


def client_error(
    code: str, message: str = "", *, operation: str = "PutRecords", status: int = 400
) -> Exception:
    """A botocore ClientError as AWS would answer it."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": message or code},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def read_timeout(endpoint: str = "https://kinesis.amazonaws.com") -> Exception:
    """A botocore read timeout (the request may have been processed)."""
    return ReadTimeoutError(endpoint_url=endpoint)


def connect_timeout(endpoint: str = "https://kinesis.amazonaws.com") -> Exception:
    """A botocore connect timeout (the request never left)."""
    return ConnectTimeoutError(endpoint_url=endpoint)


def fail_records(
    response: dict[str, Any],
    indexes: list[int],
    code: str = "ProvisionedThroughputExceededException",
    message: str = "Rate exceeded for shard (injected).",
) -> dict[str, Any]:
    """Mark some entries of a PutRecords response as failed, as AWS does per record."""
    for index in indexes:
        response["Records"][index] = {"ErrorCode": code, "ErrorMessage": message}
    response["FailedRecordCount"] = sum(1 for r in response["Records"] if "ErrorCode" in r)
    return response


# --------------------------------------------------------------------------
# The botocore side
# --------------------------------------------------------------------------


class _Answered:
    """The HTTP side of an answer a hook gave: botocore reads only its status."""

    status_code = 200
    headers: dict[str, str] = {}


def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    # The API parameters as the caller passed them (before-call only sees the wire form).
    context[_PARAMS] = params


def _run_hook(
    client_ref: weakref.ref, model: Any, context: dict[str, Any], **_: Any
) -> tuple[_Answered, dict[str, Any]] | None:
    hook, client = _hook, client_ref()
    key = (id(client), model.name)
    passing = _passing_calls()
    if key in passing:  # the real call of a proceed(): through to AWS
        passing.discard(key)
        return None
    if hook is None or client is None:
        return None
    params = context.get(_PARAMS, {})
    method = getattr(client, xform_name(model.name))

    def proceed() -> dict[str, Any]:
        passing.add(key)
        try:
            return method(**params)
        finally:
            passing.discard(key)

    return _Answered(), hook(client.meta.service_model.service_name, model.name, params, proceed)


def _passing_calls() -> set[tuple[int, str]]:
    """This thread's calls a proceed() is making (a role's credentials may be refreshed,
    through STS, between a call's start and its before-call event)."""
    if not hasattr(_proceeding, "keys"):
        _proceeding.keys = set()
    return _proceeding.keys


# What the product's clients say in their user agent (`destinations/kinesis/aws/clients.py`).
_PRODUCT_AGENT = "streamline-kinesis-destination"


class _HookedClient:
    """Mixed into every botocore client class: registers the hook's event handlers on
    the product's clients (a test's own boto3 clients, e.g. a stream owner's, have none)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _PRODUCT_AGENT not in (self.meta.config.user_agent_extra or ""):  # type: ignore[attr-defined]
            return
        events = self.meta.events  # type: ignore[attr-defined]
        events.register("before-parameter-build", _remember_params)
        ref = weakref.ref(self)
        events.register("before-call", lambda **kw: _run_hook(ref, **kw))


def _add_hook_to_client_class(base_classes: list[type], **_: Any) -> None:
    if _HookedClient not in base_classes:
        base_classes.insert(0, _HookedClient)


if ("creating-client-class", _add_hook_to_client_class) not in botocore.handlers.BUILTIN_HANDLERS:
    botocore.handlers.BUILTIN_HANDLERS.append(("creating-client-class", _add_hook_to_client_class))
