"""`spec.urlFrom` (Startpunkt Application v1alpha4): read the URL out of another object.

Only the Reference is built here; the runtime resolves kind -> resource through discovery (the
original guessed `kind.lower() + "s"`, which breaks for Ingress and friends) and re-maps the
Application when the referenced object changes, because it is listed in `depends_on`.

A reference stays in the Application's own namespace unless `urlFrom.allowedNamespaces` lists
the other one (`"*"`: any, cluster-scoped objects included). Otherwise whoever may create an
Application in one namespace could publish, on an unauthenticated page, any value Startpunkt's
service account can read elsewhere. A refused reference is not looked up or watched; it is a
diagnostic, and spec.url is used if set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from startpunkt.model import Reference
from startpunkt.shapes.kube import KubeObject
from startpunkt.sources import urls
from startpunkt.sources.base import MappingContext
from startpunkt.sources.fields import Rejected, Trace, as_list, as_str, lookup, show

PATH_LIMIT = 64  # steps; deeper paths are typos or abuse
# one step: `.name`, `[3]`, or `['key.with.dots']` / `["..."]`
_STEP = re.compile(r"""\.?(?:([^.\[\]'"]+)|\[(\d{1,6})\]|\[(['"])(.*?)\3\])""")
_REQUIRED = ("apiVersion", "kind", "name", "property")


def parse_property(path: str) -> list[str | int] | None:
    """`status.loadBalancer.ingress[0].ip`, `data['a.b']`, `{.data.x}` -> steps; None if invalid."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]  # kubectl's JSONPath braces
    path = path.removeprefix("$")
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None or match.end() == position or len(steps) == PATH_LIMIT:
            return None
        name, index, _, quoted = match.groups()
        steps.append(int(index) if index is not None else name if name is not None else quoted)
        position = match.end()
    return steps or None


def extract(obj: KubeObject, steps: list[str | int]) -> object:
    value: object = obj
    for step in steps:
        if isinstance(step, int):
            items = as_list(value)
            value = items[step] if step < len(items) else None
        else:
            value = value.get(step) if isinstance(value, Mapping) else None
        if value is None:
            return None
    return value


def reference(url_from: Mapping[str, Any], namespace: str) -> Reference:
    """apiGroup, if set, replaces the group part of apiVersion; namespace defaults to the app's."""
    api_version = str(url_from["apiVersion"]).strip()
    group, _, version = api_version.rpartition("/")
    if isinstance(api_group := url_from.get("apiGroup"), str):
        group = api_group.strip()
    return Reference(
        f"{group}/{version}" if group else version,
        str(url_from["kind"]).strip(),
        as_str(url_from.get("namespace")) or namespace,
        str(url_from["name"]).strip(),
    )


def resolve(
    url_from: object, namespace: str, *, ctx: MappingContext, trace: Trace
) -> tuple[str | None, str | None]:
    """(url, None) or (None, why not). Never raises: any failure falls back to spec.url."""
    if not isinstance(url_from, Mapping):
        return None, "must be an object"
    missing = [key for key in _REQUIRED if as_str(url_from.get(key)) is None]
    if missing:
        return None, f"{', '.join(missing)} not set"
    target = reference(url_from, namespace)
    allowed = ctx.settings.url_from.allowed_namespaces
    if not _may_read(target.namespace or "", namespace, allowed):
        return None, _refused(target.namespace or "", namespace)
    trace.depend(target)  # even when the path is bad: fixing the target may be the user's fix
    steps = parse_property(str(url_from["property"]))
    if steps is None:
        return None, f"property {show(url_from['property'])} is not a path like data.url"
    found = lookup(ctx, target, trace)
    if found is None:
        return None, f"{target} not found"
    found_in = _namespace_of(found)
    if not _may_read(found_in, namespace, allowed):  # a cluster-scoped object, found instead
        return None, _refused(found_in, namespace)
    value = extract(found, steps)
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value):
        return None, f"{url_from['property']} is not set to a value in {target}"
    template = url_from.get("urlTemplate")
    url = template.replace("{0}", str(value).strip()) if isinstance(template, str) else str(value)
    try:
        return urls.absolute(url, "spec.urlFrom", ctx.settings.default_protocol), None
    except Rejected as e:
        return None, e.reason.removeprefix("spec.urlFrom: ")


def _may_read(target: str, own: str, allowed: tuple[str, ...]) -> bool:
    return target == own or "*" in allowed or (bool(target) and target in allowed)


def _namespace_of(obj: KubeObject) -> str:
    meta = obj.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
    return namespace if isinstance(namespace, str) else ""


def _refused(target: str, own: str) -> str:
    where = f"namespace {target}" if target else "a cluster-scoped object"
    return (
        f"refers to {where}; an Application may read objects in its own namespace ({own}) "
        "only, unless the configuration lists the other in urlFrom.allowedNamespaces"
    )
