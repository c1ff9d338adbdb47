"""The mapping shared by kinds that become apps through annotations (Ingress, Route, ...).

Each kind contributes only what differs: where it says it is served (`derive`), the Services
behind it, and, for Ingress, a class filter. Everything else (dialects, enable rules, url override,
protocol/port/rootPath, probe settings, the verdict) is the same for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from startpunkt.config import Settings, SourceSwitch
from startpunkt.model import Item, Outcome, ResourceKind
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import annotations as ann
from startpunkt.sources import urls
from startpunkt.sources.apps import (
    Meta,
    conclude,
    explicit_url,
    guarded,
    make_application,
    read_display,
)
from startpunkt.sources.base import MappingContext, Source
from startpunkt.sources.fields import Trace, section


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a resource says its app is served."""

    scheme: str
    host: str
    port: int | None = None
    path: str = ""


# (object, its spec, ...) -> the endpoint, or why there is none (the hidden reason)
Derive = Callable[[KubeObject, Mapping[str, Any], Meta, MappingContext, Trace], Endpoint | str]
Backends = Callable[[Mapping[str, Any], str], tuple[str, ...]]
Filter = Callable[[Mapping[str, Any], Meta, MappingContext], str | None]


def _no_backends(_spec: Mapping[str, Any], _namespace: str) -> tuple[str, ...]:
    return ()


def enable_filter(value: bool | None, where: str, only_annotated: bool) -> str | None:
    if value is False:
        return f'disabled by {where}: "false"'
    if only_annotated and value is not True:
        return f"not annotated: add {ann.ENABLE_HINT}"
    return None


def map_annotated(
    obj: KubeObject,
    ctx: MappingContext,
    *,
    source: str,
    kind: ResourceKind,
    switch: SourceSwitch,
    derive: Derive,
    backends: Backends = _no_backends,
    prefilter: Filter | None = None,
) -> Outcome:
    def run(meta: Meta, trace: Trace) -> Outcome:
        enable, where = ann.enabled(None, meta.annotations, trace)
        filtered = prefilter(obj, meta, ctx) if prefilter else None
        filtered = filtered or enable_filter(enable, where, switch.only_annotated)
        filtered = filtered or ann.instance_filter(
            meta.annotations, where, ctx.settings.homepage.instance_name
        )

        def build() -> tuple[Item, str | None]:
            spec = section(obj, "spec")
            display = read_display(meta, None, trace)
            url, missing = _url(obj, spec, meta=meta, ctx=ctx, trace=trace, derive=derive)
            app = make_application(
                source,
                meta,
                display=display,
                name=display.name or meta.name,
                url=url,
                spec=None,
                trace=trace,
                enabled=enable is True or (enable is None and not switch.only_annotated),
                backend_services=backends(spec, meta.namespace),
                health_hosts=ctx.settings.availability.health_url_hosts,
            )
            return app, missing

        return conclude(meta.ref, trace, filtered=filtered, build=build)

    return guarded(kind, obj, run=run, ctx=ctx)


def _url(
    obj: KubeObject,
    spec: Mapping[str, Any],
    *,
    meta: Meta,
    ctx: MappingContext,
    trace: Trace,
    derive: Derive,
) -> tuple[str | None, str | None]:
    """(url, None) or (None, why there is none). The url annotation replaces derivation."""
    if found := meta.annotations.first("url"):
        key, value = found
        return explicit_url(
            value, key, meta=meta, default=ctx.settings.default_protocol, trace=trace
        ), None
    endpoint = derive(obj, spec, meta, ctx, trace)
    if isinstance(endpoint, str):
        return None, endpoint
    scheme = ann.protocol(meta.annotations, trace) or endpoint.scheme
    port = ann.port(meta.annotations, trace) or endpoint.port
    return urls.build(scheme, endpoint.host, port=port, path=endpoint.path), None


def service_name(namespace: str, name: object) -> str | None:
    return f"{namespace}/{name}" if urls.is_hostname(name) else None


def annotated_source(
    name: str,
    kinds: tuple[ResourceKind, ...],
    *,
    switch: Callable[[Settings], SourceSwitch],
    derive: Derive,
    backends: Backends = _no_backends,
    prefilter: Filter | None = None,
) -> Source:
    """A Source for a kind put on the page by annotations; only its URL rules differ."""

    def mapper(obj: KubeObject, ctx: MappingContext) -> Outcome:
        return map_annotated(
            obj,
            ctx,
            source=name,
            kind=kinds[0],
            switch=switch(ctx.settings),
            derive=derive,
            backends=backends,
            prefilter=prefilter,
        )

    return Source(
        name=name,
        kinds=kinds,
        map=mapper,
        enabled=lambda settings: switch(settings).enabled,
        produces="applications",
    )
