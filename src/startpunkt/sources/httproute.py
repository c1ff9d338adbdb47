"""gateway.networking.k8s.io HTTPRoute -> Application.

The host comes from `spec.hostnames` (or the listener's hostname), the path from the first
PathPrefix/Exact match, and the scheme and port from the parent Gateway's listener: TLS lives on
the Gateway, so a route alone cannot say whether it is served over https. The Gateway is read
through the lookup and named in `depends_on`, so a listener change re-maps the route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from startpunkt.model import Reference, ResourceKind
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import annotated, urls
from startpunkt.sources.apps import Meta
from startpunkt.sources.base import MappingContext
from startpunkt.sources.fields import Trace, as_list, as_map, as_str, dicts, lookup

NAME = "httproute"
GROUP = "gateway.networking.k8s.io"
VERSIONS = ("v1", "v1beta1")
KINDS = tuple(ResourceKind(GROUP, v, "httproutes", "HTTPRoute", "HTTPRoute") for v in VERSIONS)
GATEWAY_KINDS = tuple(ResourceKind(GROUP, v, "gateways", "Gateway", "Gateway") for v in VERSIONS)
NO_HOST = "no hostname in spec.hostnames or on the Gateway listener; set startpunkt.ullberg.us/url"
_SCHEMES = {"HTTPS": "https", "TLS": "https", "HTTP": "http"}


def _port(value: object) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    return value if ok and isinstance(value, int) else None


def parent_gateway(
    spec: Mapping[str, Any], namespace: str
) -> tuple[Reference, str | None, int | None] | None:
    """The first parentRef that is a Gateway: (reference, sectionName, port)."""
    for parent in dicts(spec.get("parentRefs")):
        if parent.get("group", GROUP) != GROUP or parent.get("kind", "Gateway") != "Gateway":
            continue  # e.g. a Service parent (GAMMA mesh routing): not reachable by a browser
        name = as_str(parent.get("name"))
        if name is None:
            continue
        where = as_str(parent.get("namespace")) or namespace
        reference = Reference(GATEWAY_KINDS[0].api_version, "Gateway", where, name)
        return reference, as_str(parent.get("sectionName")), _port(parent.get("port"))
    return None


def _scheme(listener: Mapping[str, Any]) -> str | None:
    protocol = listener.get("protocol")
    return _SCHEMES.get(protocol) if isinstance(protocol, str) else None


def _matches(listener: Mapping[str, Any], host: str | None) -> bool:
    pattern = as_str(listener.get("hostname"))
    if pattern is None or host is None:
        return True
    if pattern.startswith("*."):
        return host.lower().endswith(pattern[1:].lower())
    return pattern.lower() == host.lower()


def listener(
    gateway: Mapping[str, Any], section: str | None, *, port: int | None, host: str | None
) -> Mapping[str, Any] | None:
    """sectionName picks the listener; otherwise the first HTTPS one serving the host, else the
    first serving it (a Gateway with http and https listeners should link to https)."""
    listeners = list(dicts(as_map(gateway.get("spec")).get("listeners")))
    if section is not None:
        named = [entry for entry in listeners if entry.get("name") == section]
        return named[0] if named else None
    serving = [
        entry
        for entry in listeners
        if _scheme(entry) is not None
        and (port is None or entry.get("port") == port)
        and _matches(entry, host)
    ]
    secure = [entry for entry in serving if _scheme(entry) == "https"]
    preferred = secure or serving
    return preferred[0] if preferred else None


def _host(spec: Mapping[str, Any]) -> str | None:
    for name in as_list(spec.get("hostnames")):
        if urls.is_hostname(name) and isinstance(name, str):
            return name
    return None


def _path(spec: Mapping[str, Any]) -> str:
    for rule in dicts(spec.get("rules")):
        for match in dicts(rule.get("matches")):
            path = as_map(match.get("path"))
            value = path.get("value")
            if path.get("type", "PathPrefix") in ("PathPrefix", "Exact") and isinstance(value, str):
                return value.strip()
    return ""


def derive(
    obj: KubeObject,
    spec: Mapping[str, Any],
    meta: Meta,
    ctx: MappingContext,
    trace: Trace,
) -> annotated.Endpoint | str:
    host = _host(spec)
    scheme: str = ctx.settings.default_protocol
    port: int | None = None
    parent = parent_gateway(spec, meta.namespace)
    chosen: Mapping[str, Any] | None = None
    if parent is not None:
        reference, section, parent_port = parent
        gateway = lookup(ctx, reference, trace)
        if gateway is None:
            trace.note(f"{reference} not found; using defaultProtocol {scheme}")
        else:
            chosen = listener(gateway, section, port=parent_port, host=host)
            if chosen is None:
                trace.note(f"no listener of {reference} serves this route; using defaultProtocol")
    if chosen is not None:
        scheme = _scheme(chosen) or scheme
        port = _port(chosen.get("port"))
        listener_host = as_str(chosen.get("hostname"))
        if host is None and urls.is_hostname(listener_host):
            host = listener_host
    if host is None:
        return NO_HOST
    return annotated.Endpoint(scheme, host, port, _path(spec))


def backends(spec: Mapping[str, Any], namespace: str) -> tuple[str, ...]:
    found = (
        annotated.service_name(as_str(ref.get("namespace")) or namespace, ref.get("name"))
        for rule in dicts(spec.get("rules"))
        for ref in dicts(rule.get("backendRefs"))
        if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core")
    )
    return tuple(name for name in found if name)


SOURCE = annotated.annotated_source(
    NAME,
    KINDS,
    switch=lambda settings: settings.gatewayapi.httproute,
    derive=derive,
    backends=backends,
)
