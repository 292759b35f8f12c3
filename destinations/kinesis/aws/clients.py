"""botocore clients, cached per process and never carried across a fork.

A client is cached (`functools.lru_cache`) per service, endpoint and the
credentials' fingerprint; `os.register_at_fork` clears every cache in a forked
child, so a worker process never shares a client (or its connection pool) with
its parent. Clients use botocore's standard retry mode, connect/read timeouts
and a connection pool sized to the worker's threads.

For an IAM role, AssumeRole runs when the client is created (so a role that
cannot be assumed fails first, naming the trust policy), and botocore's
refreshable credentials (`AssumeRoleCredentialFetcher` + `RefreshableCredentials`)
assume it again before the temporary credentials expire.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from django.conf import settings

from destinations.kinesis.aws.credentials import AwsCredentials
from destinations.kinesis.aws.errors import BadCredentials, CallContext, aws_errors

_MAX_CLIENTS = 64
# AssumeRole again when the role's credentials have less than this left.
_REFRESH_BEFORE_S = 5 * 60
_ROLE_SESSION_SECONDS = 3600
_ROLE_SESSION_NAME = "streamline-kinesis-destination"
# A local endpoint (moto) accepts any signature; real AWS never sees this key.
_LOCAL_PLATFORM_KEY = ("AKIALOCALPLATFORM000", "local-endpoint-only")

_ENDPOINT_SETTINGS = {
    "kinesis": "KINESIS_ENDPOINT_URL",
    "sts": "STS_ENDPOINT_URL",
    "iam": "IAM_ENDPOINT_URL",
}


def endpoint_url(service: str) -> str | None:
    """The service's own endpoint setting (None: AWS's): never another service's."""
    return getattr(settings, _ENDPOINT_SETTINGS[service], None) or None


def context_for(service: str, creds: AwsCredentials, stream: str = "") -> CallContext:
    """What an error message about a call with these credentials may say (no secret)."""
    return CallContext(
        service=service,
        region=creds.region,
        key_id=creds.access_key_id,
        role_arn=creds.role_arn,
        stream=stream,
        endpoint=endpoint_url(service) or "",
    )


def client_for(service: str, creds: AwsCredentials) -> Any:
    """A cached client of `service` ("kinesis" | "sts" | "iam") for the credentials."""
    if not creds.uses_role and not (creds.access_key_id and creds.secret_access_key):
        raise BadCredentials(
            "Enter both the access key ID and the secret access key.",
            code="NoCredentials",
            kind="missing",
        )
    return _cached_client(service, creds, endpoint_url(service))


@functools.lru_cache(maxsize=_MAX_CLIENTS)
def _cached_client(service: str, creds: AwsCredentials, endpoint: str | None) -> Any:
    # `endpoint` is part of the key: a settings change (tests, make run) gets new clients.
    if creds.uses_role:
        return _role_session(creds).create_client(
            service, region_name=creds.region, endpoint_url=endpoint, config=_config()
        )
    return botocore_session().create_client(
        service,
        region_name=creds.region,
        endpoint_url=endpoint,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=_config(),
    )


@functools.lru_cache(maxsize=1)
def botocore_session() -> Any:
    """This process's botocore session (endpoint data and models are loaded once)."""
    import botocore.session

    return botocore.session.get_session()


def _config() -> Any:
    from botocore.config import Config

    workers = int(getattr(settings, "CELERY_WORKER_CONCURRENCY", 2) or 2)
    return Config(
        retries={
            "mode": "standard",
            "total_max_attempts": int(getattr(settings, "KINESIS_MAX_ATTEMPTS", 3)),
        },
        connect_timeout=float(getattr(settings, "KINESIS_CONNECT_TIMEOUT", 5)),
        read_timeout=float(getattr(settings, "KINESIS_READ_TIMEOUT", 20)),
        # Threads of one process share the client; one connection each, plus headroom.
        max_pool_connections=int(getattr(settings, "KINESIS_MAX_POOL_CONNECTIONS", 0))
        or max(10, workers * 4),
        user_agent_extra="streamline-kinesis-destination",
        # Endpoints come from our settings only, never from botocore's AWS_ENDPOINT_URL*.
        ignore_configured_endpoint_urls=True,
    )


# --------------------------------------------------------------------------
# IAM roles
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=_MAX_CLIENTS)
def _role_session(creds: AwsCredentials) -> Any:
    """A botocore session whose credentials are the role's, refreshed by botocore.

    It shares the process session's data loader, so models are not read again.
    """
    import botocore.session
    from botocore.credentials import CredentialResolver

    session = botocore.session.Session()
    session.register_component("data_loader", botocore_session().get_component("data_loader"))
    credentials = _assumed_role_credentials(creds)
    session.register_component("credential_provider", CredentialResolver([_Given(credentials)]))
    return session


def _assumed_role_credentials(creds: AwsCredentials) -> Any:
    from botocore.credentials import AssumeRoleCredentialFetcher, RefreshableCredentials

    extra: dict[str, Any] = {
        "RoleSessionName": _ROLE_SESSION_NAME,
        "DurationSeconds": _ROLE_SESSION_SECONDS,
    }
    if creds.external_id:
        extra["ExternalId"] = creds.external_id
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=functools.partial(_sts_client, creds.region),
        source_credentials=_source_credentials(creds),
        role_arn=creds.role_arn,
        extra_args=extra,
        expiry_window_seconds=_REFRESH_BEFORE_S,
    )
    # The first AssumeRole runs now, so its failure is reported as AssumeRole's.
    with aws_errors("AssumeRole", context_for("sts", creds)):
        first = fetcher.fetch_credentials()
    return RefreshableCredentials.create_from_metadata(
        metadata=first, refresh_using=fetcher.fetch_credentials, method="assume-role"
    )


def _sts_client(region: str, service: str, **keys: Any) -> Any:
    """The STS client AssumeRole is called with (the fetcher makes one per AssumeRole)."""
    return botocore_session().create_client(
        service, region_name=region, endpoint_url=endpoint_url("sts"), config=_config(), **keys
    )


def _source_credentials(creds: AwsCredentials) -> Any:
    """Who assumes the role: the connection's own key, else this server's credentials."""
    from botocore.credentials import Credentials

    if creds.access_key_id:
        return Credentials(creds.access_key_id, creds.secret_access_key)
    found = botocore_session().get_credentials()
    if found is not None:
        return found
    if endpoint_url("sts"):
        return Credentials(*_LOCAL_PLATFORM_KEY)
    raise BadCredentials(
        "This server has no AWS credentials of its own, so it cannot assume IAM roles. "
        "Connect with an access key instead, or ask the administrator to give the server "
        "AWS credentials (environment, instance profile).",
        code="NoCredentials",
        kind="missing",
    )


def platform_sts_client() -> Any:
    """An STS client signed with this server's own credentials (whom roles must trust)."""
    frozen = _source_credentials(AwsCredentials(region="us-east-1")).get_frozen_credentials()
    return _sts_client(
        "us-east-1",
        "sts",
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
    )


class _Given:
    """A credential provider that hands botocore credentials we already hold."""

    METHOD = "assume-role"
    CANONICAL_NAME = "streamline-assume-role"

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


# --------------------------------------------------------------------------
# Cache lifetime
# --------------------------------------------------------------------------

_CACHES: list[Any] = [_cached_client, _role_session, botocore_session]


def cleared_with_clients(function: Any) -> Any:
    """Mark another per-process cache (an `lru_cache`d function) to clear with the clients."""
    _CACHES.append(function)
    return function


def clear_client_cache() -> None:
    """Drop every cached client, role session and identity (a fork, tests, key rotation)."""
    for cache in _CACHES:
        cache.cache_clear()


def forget_role_sessions() -> None:
    """AWS called a role's credentials expired before their time: assume roles afresh."""
    _cached_client.cache_clear()
    _role_session.cache_clear()


def cached_client_count() -> int:
    return _cached_client.cache_info().currsize


os.register_at_fork(after_in_child=clear_client_cache)
