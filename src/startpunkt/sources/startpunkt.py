"""Startpunkt's own custom resources (startpunkt.ullberg.us Application and Bookmark).

The Hajimari resources have the same shape, so `crd_application` and `crd_bookmark` serve both.
Fixed against the original: `spec.enabled: false` hides the app, nothing is lowercased, a missing
name or a bad location rejects only this object, and `urlFrom` is honoured on every path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from startpunkt.model import Bookmark, Item, Outcome, ResourceKind
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import annotations as ann
from startpunkt.sources import urlfrom, urls
from startpunkt.sources.apps import (
    Meta,
    conclude,
    explicit_url,
    guarded,
    info_text,
    make_application,
    read_display,
)
from startpunkt.sources.audiences import read_groups
from startpunkt.sources.base import MappingContext, Source
from startpunkt.sources.fields import Rejected, Trace, flag, section, text, whole

GROUP = "startpunkt.ullberg.us"
VERSIONS = ("v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1")
APPLICATION_KINDS = tuple(
    ResourceKind(GROUP, v, "applications", "Application", "Startpunkt Application")
    for v in VERSIONS
)
BOOKMARK_KINDS = tuple(
    ResourceKind(GROUP, v, "bookmarks", "Bookmark", "Startpunkt Bookmark") for v in VERSIONS
)


def _url(
    spec: Mapping[str, Any],
    meta: Meta,
    *,
    ctx: MappingContext,
    trace: Trace,
    url_from: bool,
    required: bool,
) -> tuple[str | None, str | None]:
    """(url, None) or (None, why there is none): urlFrom, then spec.url, then the annotation."""
    static = ann.pick(spec, "url", annotations=meta.annotations, field="url")
    failure = None
    if url_from and spec.get("urlFrom") is not None:
        resolved, failure = urlfrom.resolve(spec["urlFrom"], meta.namespace, ctx=ctx, trace=trace)
        if resolved is not None:
            return resolved, None
        if static is not None:
            trace.note(f"spec.urlFrom: {failure}; using {static[1]}")
    if static is not None:
        value, where = static
        return explicit_url(
            value, where, meta=meta, default=ctx.settings.default_protocol, trace=trace
        ), None
    if required:
        raise Rejected("spec.url is required")
    if failure is not None:
        return None, f"no URL: spec.urlFrom: {failure}, and spec.url is not set"
    return None, "no URL: set spec.url or spec.urlFrom"


def crd_application(
    obj: KubeObject,
    ctx: MappingContext,
    *,
    source: str,
    kind: ResourceKind,
    url_from: bool,
    url_required: bool,
) -> Outcome:
    def run(meta: Meta, trace: Trace) -> Outcome:
        raw_spec = obj.get("spec")
        enable, where = ann.enabled(
            raw_spec if isinstance(raw_spec, Mapping) else None, meta.annotations, trace
        )
        filtered = f"disabled: {where} is false" if enable is False else None

        def build() -> tuple[Item, str | None]:
            spec = section(obj, "spec")
            display = read_display(meta, spec, trace)
            if display.name is None:
                raise Rejected("spec.name is required")
            url, missing = _url(
                spec, meta, ctx=ctx, trace=trace, url_from=url_from, required=url_required
            )
            app = make_application(
                source,
                meta,
                display=display,
                name=display.name,
                url=url,
                spec=spec,
                trace=trace,
                enabled=enable is not False,
                health_hosts=ctx.settings.availability.health_url_hosts,
            )
            return app, missing

        return conclude(meta.ref, trace, filtered=filtered, build=build)

    return guarded(kind, obj, run=run, ctx=ctx)


def crd_bookmark(
    obj: KubeObject, ctx: MappingContext, *, source: str, kind: ResourceKind
) -> Outcome:
    def run(meta: Meta, trace: Trace) -> Outcome:
        def build() -> tuple[Item, str | None]:
            spec = section(obj, "spec")
            raw_url = text(spec.get("url"), "spec.url", None)
            if raw_url is None:
                raise Rejected("spec.url is required")
            bookmark = Bookmark(
                key=f"{source}/{meta.namespace}/{meta.name}",
                name=text(spec.get("name"), "spec.name") or meta.name,
                group=text(spec.get("group"), "spec.group") or meta.namespace,
                url=urls.absolute(raw_url, "spec.url", ctx.settings.default_protocol),
                source=source,
                namespace=meta.namespace,
                resource_name=meta.name,
                icon=urls.icon(text(spec.get("icon"), "spec.icon", None), "spec.icon", trace),
                info=info_text(spec.get("info"), "spec.info", trace),
                target_blank=flag(spec.get("targetBlank"), "spec.targetBlank", trace),
                location=whole(spec.get("location"), "spec.location", trace),
                has_owner_references=meta.owned,
                groups=read_groups(meta.annotations, spec),
            )
            return bookmark, None

        return conclude(meta.ref, trace, filtered=None, build=build)

    return guarded(kind, obj, run=run, ctx=ctx)


def map_application(obj: KubeObject, ctx: MappingContext) -> Outcome:
    return crd_application(
        obj,
        ctx,
        source="startpunkt-application",
        kind=APPLICATION_KINDS[0],
        url_from=True,
        url_required=False,
    )


def map_bookmark(obj: KubeObject, ctx: MappingContext) -> Outcome:
    return crd_bookmark(obj, ctx, source="startpunkt-bookmark", kind=BOOKMARK_KINDS[0])


APPLICATION = Source(
    name="startpunkt-application",
    kinds=APPLICATION_KINDS,
    map=map_application,
    enabled=lambda settings: True,
    produces="applications",
)
BOOKMARK = Source(
    name="startpunkt-bookmark",
    kinds=BOOKMARK_KINDS,
    map=map_bookmark,
    enabled=lambda settings: True,
    produces="bookmarks",
)
