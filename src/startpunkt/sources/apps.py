"""What every application source shares: metadata, display fields, probe settings, the verdict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from startpunkt.model import (
    DEFAULT_LOCATION,
    Application,
    Item,
    ObjectRef,
    Outcome,
    ProbeSettings,
    ResourceKind,
)
from startpunkt.sources import annotations as ann
from startpunkt.sources import hosts, urls
from startpunkt.sources.audiences import read_groups
from startpunkt.sources.base import MappingContext
from startpunkt.sources.fields import (
    INFO_LIMIT,
    NAME_LIMIT,
    URL_LIMIT,
    Rejected,
    Trace,
    flag,
    has_owner_references,
    json_type,
    object_ref,
    text,
    whole,
)

ICON_COLOR_LIMIT = 64


@dataclass(frozen=True, slots=True)
class Meta:
    ref: ObjectRef
    namespace: str
    name: str
    annotations: ann.Annotations
    owned: bool


def read_meta(obj: object, kind: ResourceKind, ctx: MappingContext | None = None) -> Meta:
    if not isinstance(obj, Mapping):
        raise Rejected("the object is not a JSON object")
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        raise Rejected("metadata is missing or not an object")
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or not name:
        raise Rejected("metadata.name is missing")
    if not isinstance(namespace, str) or not namespace:
        raise Rejected("metadata.namespace is missing")
    return Meta(
        ref=object_ref(obj, kind),
        namespace=namespace,
        name=name,
        annotations=ann.Annotations(
            metadata.get("annotations"),
            ctx.substitutions if ctx else None,
            ctx.settings.homepage.instance_name if ctx else "",
        ),
        owned=has_owner_references(metadata),
    )


@dataclass(frozen=True, slots=True)
class Display:
    """The fields a user writes by hand, before the URL is known."""

    name: str | None
    group: str
    icon: str | None
    icon_color: str | None
    info: str | None
    target_blank: bool
    location: int
    root_path: str | None
    tags: tuple[str, ...]


def info_text(value: object, where: str, trace: Trace) -> str | None:
    """A description; an overlong one is shortened (with a note) rather than rejected."""
    info = text(value, where, None)
    if info is not None and len(info) > INFO_LIMIT:
        trace.note(f"{where} is longer than {INFO_LIMIT} characters; shortened")
        info = info[: INFO_LIMIT - 1] + "…"
    return info


def read_display(meta: Meta, spec: Mapping[str, Any] | None, trace: Trace) -> Display:
    """Each field from `spec` (custom resources) if set, else the winning annotation.

    The name stays None when neither sets it: each kind has its own fallback.
    """
    a = meta.annotations

    def field(spec_key: str, name: str, limit: int | None = NAME_LIMIT) -> tuple[str | None, str]:
        found = ann.pick(spec, spec_key, annotations=a, field=name)
        if found is None:
            return None, ""
        return text(found[0], found[1], limit), found[1]

    name, _ = field("name", "name")
    group, _ = field("group", "group")
    icon, icon_where = field("icon", "icon", None)
    icon_color, color_where = field("iconColor", "iconColor", None)
    if icon_color is not None and len(icon_color) > ICON_COLOR_LIMIT:
        trace.note(f"{color_where} is longer than {ICON_COLOR_LIMIT} characters; ignored")
        icon_color = None
    found_info = ann.pick(spec, "info", annotations=a, field="info")
    info = info_text(*found_info, trace) if found_info else None
    root_path, _ = field("rootPath", "rootPath", URL_LIMIT)
    blank = ann.pick(spec, "targetBlank", annotations=a, field="targetBlank")
    location = ann.pick(spec, "location", annotations=a, field="location")
    tag_value = ann.pick(spec, "tags", annotations=a, field="tags")
    return Display(
        name=name,
        group=group or meta.namespace,
        icon=urls.icon(icon, icon_where, trace),
        icon_color=icon_color,
        info=info,
        target_blank=bool(blank and flag(blank[0], blank[1], trace)),
        location=whole(*location, trace) if location else DEFAULT_LOCATION,
        root_path=root_path,
        tags=ann.tags(*tag_value, trace) if tag_value else (),
    )


def read_probe(
    meta: Meta,
    spec: Mapping[str, Any] | None,
    *,
    url: str | None,
    trace: Trace,
    health_hosts: tuple[str, ...] = (),
) -> ProbeSettings:
    """Per-app availability settings; a bad value is ignored with a note, never fatal.

    A healthUrl on another host than the app's URL is refused unless `health_hosts`
    (`availability.healthUrlHosts`) lists that host.
    """
    a = meta.annotations
    enabled = True
    if found := ann.pick(spec, "probe", annotations=a, field="probe"):
        enabled = flag(found[0], found[1], trace) is not False
    health: str | None = None
    if found := ann.pick(spec, "healthUrl", annotations=a, field="healthUrl"):
        health = _health_url(found[0], found[1], app_url=url, trace=trace)
        if health is not None and not hosts.allowed(health, url, health_hosts):
            trace.note(
                f"{found[1]}: {hosts.host_of(health)} is not the app's own host; the app URL is "
                "probed instead (availability.healthUrlHosts lists other hosts a health URL "
                "may use)"
            )
            health = None
    accepted = None
    if found := ann.pick(spec, "acceptedStatusCodes", annotations=a, field="acceptedStatusCodes"):
        accepted = ann.status_codes(found[0], found[1], trace)
    timeout = None
    if found := ann.pick(spec, "probeTimeout", annotations=a, field="probeTimeout"):
        timeout = ann.probe_timeout(found[0], found[1], trace)
    return ProbeSettings(enabled=enabled, url=health, accepted=accepted, timeout=timeout)


def _health_url(value: object, where: str, *, app_url: str | None, trace: Trace) -> str | None:
    if not isinstance(value, str):
        trace.note(f"{where} must be a string; ignored")
        return None
    if value.strip().startswith("/"):
        # a path is resolved against the app's URL, so one annotation survives host changes
        if app_url is None:
            trace.note(f"{where} is a path but the app has no URL; ignored")
            return None
        value = urljoin(app_url, value.strip())
    try:
        return urls.absolute(value, where, "http")
    except Rejected as e:
        trace.note(f"{e.reason}; the app URL is probed instead")
        return None


def explicit_url(value: object, where: str, *, meta: Meta, default: str, trace: Trace) -> str:
    """A URL the user wrote (annotation, spec.url); a scheme-less one gets the protocol."""
    if not isinstance(value, str):
        raise Rejected(f"{where} must be a string, not {json_type(value)}")
    scheme = ann.protocol(meta.annotations, trace) or default
    return urls.absolute(value, where, scheme)


def make_application(
    source: str,
    meta: Meta,
    *,
    display: Display,
    name: str,
    url: str | None,
    spec: Mapping[str, Any] | None,
    trace: Trace,
    enabled: bool,
    backend_services: tuple[str, ...] = (),
    health_hosts: tuple[str, ...] = (),
) -> Application:
    if url is not None:
        url = urls.checked_length(urls.join(url, display.root_path), "url")
    return Application(
        key=f"{source}/{meta.namespace}/{meta.name}",
        name=name,
        group=display.group,
        url=url,
        source=source,
        namespace=meta.namespace,
        resource_name=meta.name,
        icon=display.icon,
        icon_color=display.icon_color,
        info=display.info,
        target_blank=display.target_blank,
        location=display.location,
        enabled=enabled,
        root_path=display.root_path,
        tags=display.tags,
        has_owner_references=meta.owned,
        probe=read_probe(meta, spec, url=url, trace=trace, health_hosts=health_hosts),
        backend_services=tuple(sorted(set(backend_services))),
        groups=read_groups(meta.annotations, spec),
    )


Build = Callable[[], tuple[Item, str | None]]


def conclude(ref: ObjectRef, trace: Trace, *, filtered: str | None, build: Build) -> Outcome:
    """The verdict. `build` returns the item and, if it has no URL, why.

    A filter (disabled, not annotated, another ingress class) wins over a rejection: an object
    not meant for this page should not be reported as broken. A hidden object keeps the item it
    would have shown in `derived`, so diagnostics can show what was derived for it.
    """
    try:
        item, missing = build()
    except Rejected as e:
        outcome = Outcome.hidden(ref, filtered) if filtered else Outcome.rejected(ref, e.reason)
        return trace.finish(outcome)
    if filtered:
        return trace.finish(Outcome.hidden(ref, filtered, item))
    if missing:
        return trace.finish(Outcome.hidden(ref, missing, item))
    return trace.finish(Outcome.shown(ref, item))


def guarded(
    kind: ResourceKind,
    obj: object,
    *,
    run: Callable[[Meta, Trace], Outcome],
    ctx: MappingContext | None = None,
) -> Outcome:
    """Reads the metadata, then runs the kind's mapping; a malformed header is a rejection."""
    try:
        meta = read_meta(obj, kind, ctx)
    except Rejected as e:
        return Outcome.rejected(object_ref(obj, kind), e.reason)
    trace = Trace()
    ann.unresolved_notes(meta.annotations, trace)
    return run(meta, trace)
