"""networking.k8s.io/v1 Ingress -> Application.

The original never derived a URL from an Ingress (only the url annotation worked); this does:
the first rule with a usable host, its first literal path, and https when TLS covers the host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from startpunkt.model import ResourceKind
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import annotated, urls
from startpunkt.sources.apps import Meta
from startpunkt.sources.base import MappingContext
from startpunkt.sources.fields import Trace, as_list, as_map, as_str, dicts, show

NAME = "ingress"
KINDS = (ResourceKind("networking.k8s.io", "v1", "ingresses", "Ingress", "Ingress"),)
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
NO_HOST = "no host in spec.rules; set startpunkt.ullberg.us/url"
# characters that make an ImplementationSpecific path a regular expression (ingress-nginx style)
_REGEX = re.compile(r"[()\[\]{}*+?^$|\\]")


def _covers(tls_host: str, host: str) -> bool:
    if tls_host.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest.lower() == tls_host[2:].lower()
    return tls_host.lower() == host.lower()


def _tls(spec: Mapping[str, Any], host: str) -> bool:
    for entry in dicts(spec.get("tls")):
        hosts = [h for h in as_list(entry.get("hosts")) if isinstance(h, str)]
        # a TLS entry without hosts applies the certificate to every host of the Ingress
        if not hosts or any(_covers(h, host) for h in hosts):
            return True
    return False


def _path(rule: Mapping[str, Any]) -> str:
    for entry in dicts(as_map(rule.get("http")).get("paths")):
        path = entry.get("path")
        if not isinstance(path, str):
            continue
        literal = entry.get("pathType") in ("Prefix", "Exact") or not _REGEX.search(path)
        if literal:
            return path.strip()
    return ""


def derive(
    obj: KubeObject,
    spec: Mapping[str, Any],
    meta: Meta,
    ctx: MappingContext,
    trace: Trace,
) -> annotated.Endpoint | str:
    for rule in dicts(spec.get("rules")):
        host = as_str(rule.get("host"))
        if host is None:
            continue
        if not urls.is_hostname(host):
            if not host.startswith("*."):
                trace.note(f"spec.rules[].host {show(host)} is not a host name; skipped")
            continue
        scheme = "https" if _tls(spec, host) else "http"
        return annotated.Endpoint(scheme, host, None, _path(rule))
    return NO_HOST


def _service(backend: object, namespace: str) -> str | None:
    return annotated.service_name(namespace, as_map(as_map(backend).get("service")).get("name"))


def backends(spec: Mapping[str, Any], namespace: str) -> tuple[str, ...]:
    found = [_service(spec.get("defaultBackend"), namespace)]
    for rule in dicts(spec.get("rules")):
        for entry in dicts(as_map(rule.get("http")).get("paths")):
            found.append(_service(entry.get("backend"), namespace))
    return tuple(name for name in found if name)


def ingress_class(obj: KubeObject, meta: Meta) -> str | None:
    spec = as_map(obj.get("spec"))
    return as_str(spec.get("ingressClassName")) or meta.annotations.get(LEGACY_CLASS_ANNOTATION)


def class_filter(obj: KubeObject, meta: Meta, ctx: MappingContext) -> str | None:
    settings = ctx.settings.ingress
    name = ingress_class(obj, meta)
    if name is None:
        if settings.include_unclassified:
            return None
        return "no ingress class, and startpunkt.ingress.includeUnclassified is false"
    if settings.ingress_class_names and name not in settings.ingress_class_names:
        allowed = ", ".join(settings.ingress_class_names)
        return (
            f"ingress class {show(name)} is not in startpunkt.ingress.ingressClassNames ({allowed})"
        )
    return None


SOURCE = annotated.annotated_source(
    NAME,
    KINDS,
    switch=lambda settings: settings.ingress,
    derive=derive,
    backends=backends,
    prefilter=class_filter,
)
