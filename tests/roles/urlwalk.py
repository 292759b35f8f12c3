"""Every URL the project serves, built from the resolver with dummy arguments.

New URLs are covered automatically: nothing here lists views by hand.
"""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

DUMMY_BY_CONVERTER = {
    "int": "1",
    "uuid": str(uuid.UUID(int=1)),
    "slug": "x",
    "str": "x",
    "path": "x",
}
ROUTE_ARGUMENT = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)")


@dataclass(frozen=True)
class WalkedUrl:
    path: str
    view_name: str


# (view namespace, argument name) -> a real value, or None for the dummy one.
Values = Callable[[str, str], str | None]


def _route_sample(route: str, namespace: str = "", values: Values | None = None) -> str:
    def fill(match: re.Match) -> str:
        real = values(namespace, match["name"]) if values else None
        return real or DUMMY_BY_CONVERTER.get(match["converter"] or "str", "x")

    return ROUTE_ARGUMENT.sub(fill, route)


def _regex_sample(regex: str) -> str:
    """A string the regex matches, for the simple shapes Django's own URLs use."""

    def fill(match: re.Match) -> str:
        body = match["body"]
        first = body.split("|")[0]
        if re.fullmatch(r"[\w-]+", first):
            return first
        if "\\d" in body or "0-9" in body:
            return "1"
        return "x"

    sample = NAMED_GROUP.sub(fill, regex)
    sample = sample.lstrip("^").rstrip("$").replace("\\Z", "")
    sample = re.sub(r"\(\?:([^)|]*)[^)]*\)\??", r"\1", sample)
    return sample.replace("\\", "").replace("?", "")


def _sample(pattern: object, namespace: str = "", values: Values | None = None) -> str:
    if isinstance(pattern, RoutePattern):
        return _route_sample(str(pattern._route), namespace, values)
    if isinstance(pattern, RegexPattern):
        return _regex_sample(pattern._regex)
    return str(pattern)


def walk(
    resolver: URLResolver | None = None,
    prefix: str = "/",
    namespace: str = "",
    values: Values | None = None,
) -> Iterator[WalkedUrl]:
    """Yield every concrete URL pattern with a sample path that resolves to it.

    `values(namespace, argument)` may give real values (e.g. an existing pk).
    """
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        path = prefix + _sample(entry.pattern, namespace, values)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, path, inner, values)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else entry.lookup_str
            yield WalkedUrl(path=path, view_name=name)
