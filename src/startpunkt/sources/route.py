"""route.openshift.io/v1 Route -> Application: https when `spec.tls` is set, host, path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from startpunkt.model import ResourceKind
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import annotated, urls
from startpunkt.sources.apps import Meta
from startpunkt.sources.base import MappingContext
from startpunkt.sources.fields import Trace, as_map, as_str, dicts, show

NAME = "route"
KINDS = (ResourceKind("route.openshift.io", "v1", "routes", "Route", "Route"),)
NO_HOST = "no host in spec.host; set startpunkt.ullberg.us/url"


def _host(obj: KubeObject, spec: Mapping[str, Any]) -> str | None:
    # spec.host may be empty when OpenShift generates the host; routers report it in status
    if host := as_str(spec.get("host")):
        return host
    for ingress in dicts(as_map(obj.get("status")).get("ingress")):
        if host := as_str(ingress.get("host")):
            return host
    return None


def derive(
    obj: KubeObject,
    spec: Mapping[str, Any],
    meta: Meta,
    ctx: MappingContext,
    trace: Trace,
) -> annotated.Endpoint | str:
    host = _host(obj, spec)
    if host is None:
        return NO_HOST
    if not urls.is_hostname(host):
        trace.note(f"spec.host {show(host)} is not a host name")
        return NO_HOST
    scheme = "https" if isinstance(spec.get("tls"), Mapping) else "http"
    path = as_str(spec.get("path")) or ""
    return annotated.Endpoint(scheme, host, None, path)


def backends(spec: Mapping[str, Any], namespace: str) -> tuple[str, ...]:
    targets = [as_map(spec.get("to")), *dicts(spec.get("alternateBackends"))]
    found = (
        annotated.service_name(namespace, target.get("name"))
        for target in targets
        if target.get("kind", "Service") == "Service"
    )
    return tuple(name for name in found if name)


SOURCE = annotated.annotated_source(
    NAME,
    KINDS,
    switch=lambda settings: settings.openshift,
    derive=derive,
    backends=backends,
)
