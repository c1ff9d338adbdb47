"""networking.istio.io VirtualService -> Application.

The host is the first `spec.hosts` entry a browser can reach: fully qualified, no wildcard, not a
cluster-internal `.svc` name (the original used `hosts[0]`, often `*` or a short mesh name).
A VirtualService says nothing about TLS, so the scheme is the protocol annotation or
`defaultProtocol`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from startpunkt.model import ResourceKind
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import annotated, urls
from startpunkt.sources.apps import Meta
from startpunkt.sources.base import MappingContext
from startpunkt.sources.fields import Trace, as_list, as_map, dicts

NAME = "virtualservice"
KINDS = tuple(
    ResourceKind(
        "networking.istio.io", version, "virtualservices", "VirtualService", "VirtualService"
    )
    for version in ("v1", "v1beta1")
)
NO_HOST = (
    "no fully qualified host in spec.hosts (wildcard and short names are skipped); "
    "set startpunkt.ullberg.us/url"
)
_INTERNAL_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local")


def reachable(host: object) -> bool:
    """A name a browser outside the mesh can resolve (a best guess; the url annotation decides)."""
    if not urls.is_hostname(host) or not isinstance(host, str):
        return False
    name = host.lower().rstrip(".")
    return "." in name and not name.endswith(_INTERNAL_SUFFIXES)


def derive(
    obj: KubeObject,
    spec: Mapping[str, Any],
    meta: Meta,
    ctx: MappingContext,
    trace: Trace,
) -> annotated.Endpoint | str:
    for host in as_list(spec.get("hosts")):
        if reachable(host):
            return annotated.Endpoint(ctx.settings.default_protocol, str(host).rstrip("."))
    return NO_HOST


def _service(host: object, namespace: str) -> str | None:
    """`name` or `name.ns.svc...` -> ns/name. `a.b` is skipped: it may be an external host."""
    if not urls.is_hostname(host) or not isinstance(host, str):
        return None
    labels = host.lower().rstrip(".").split(".")
    if len(labels) == 1:
        return f"{namespace}/{labels[0]}"
    if len(labels) > 2 and labels[2] == "svc":
        return f"{labels[1]}/{labels[0]}"
    return None


def backends(spec: Mapping[str, Any], namespace: str) -> tuple[str, ...]:
    found = (
        _service(as_map(route.get("destination")).get("host"), namespace)
        for protocol in ("http", "tls", "tcp")
        for rule in dicts(spec.get(protocol))
        for route in dicts(rule.get("route"))
    )
    return tuple(name for name in found if name)


SOURCE = annotated.annotated_source(
    NAME,
    KINDS,
    switch=lambda settings: settings.istio.virtualservice,
    derive=derive,
    backends=backends,
)
