"""`/metrics` (Prometheus text format, token or address allow-list) and `/readyz`."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from core.observability.collectors import StateCollector
from core.observability.health import readiness


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the cache answer in time; else 503 naming
    what failed."""
    checks = readiness()
    ready = all(result.ok for result in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: result.as_json() for name, result in checks.items()},
    }
    if not ready:
        body["failed"] = [name for name, result in checks.items() if not result.ok]
    return JsonResponse(body, status=200 if ready else 503)


def scrape_registry() -> CollectorRegistry:
    """Every process's figures (multiprocess mode) or this one's, plus the state read now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector())
    return registry


class _ThisProcess:
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the scraper may read the metrics, else the answer to give it.

    Allowed: the bearer token METRICS_TOKEN, or a client address in
    METRICS_ALLOWED_IPS (addresses or networks, matched against REMOTE_ADDR:
    behind a proxy, use the token). With neither configured, only settings
    that set METRICS_OPEN (local, tests) serve them.
    """
    token = settings.METRICS_TOKEN
    networks = settings.METRICS_ALLOWED_IPS
    if not token and not networks:
        if settings.METRICS_OPEN:
            return None
        return JsonResponse(
            {"error": "metrics are off: set METRICS_TOKEN or METRICS_ALLOWED_IPS"}, status=403
        )
    if networks and _address_allowed(request.META.get("REMOTE_ADDR", ""), networks):
        return None
    if token:
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            offered.strip().encode(), token.encode()
        ):
            return None
        response = JsonResponse({"error": "a valid bearer token is required"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return JsonResponse({"error": "this address may not read the metrics"}, status=403)


def _address_allowed(address: str, networks: list[str]) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(network, strict=False) for network in networks)
