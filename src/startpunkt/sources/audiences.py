"""Which groups may see an item: `spec.groups` or the `startpunkt.ullberg.us/groups` annotation.

Hajimari, Forecastle and Homepage have no such key, so Startpunkt's annotation is read on every
kind (Ingress, Route, VirtualService, HTTPRoute, Hajimari resources too). Custom resources take
`spec.groups` (a list) first. Names are kept exactly as written: they are compared with the
groups the authenticating proxy sends, case included.

A value that is present but names no usable group rejects the object instead of dropping the
restriction: an item meant for `admins` must never fall back to the default audience because
its annotation was misspelt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from startpunkt.sources import annotations as ann
from startpunkt.sources.fields import Rejected, show

ANNOTATION = ann.STARTPUNKT + "groups"
GROUP_LIMIT = 32
GROUP_LENGTH = 256


def read_groups(annotations: ann.Annotations, spec: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The groups that may see the item, as written, duplicates dropped; () for no restriction."""
    value: object = None
    where = ANNOTATION
    if spec is not None and spec.get("groups") is not None:
        value, where = spec["groups"], "spec.groups"
    else:
        value = annotations.get(ANNOTATION)
    if value is None or (isinstance(value, list | tuple) and not value):
        return ()
    return parse_groups(value, where)


def parse_groups(value: object, where: str) -> tuple[str, ...]:
    """`family,admins` (or a list); raises Rejected when the value restricts to nobody nameable."""
    if isinstance(value, str):
        parts: list[object] = list(value.split(","))
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise Rejected(f"{where} must be a list of group names or a comma-separated string")
    result: list[str] = []
    for part in parts:
        if not isinstance(part, str) or isinstance(part, bool):
            raise Rejected(f"{where}: {show(part)} is not a group name")
        name = part.strip()
        if not name:
            continue
        if len(name) > GROUP_LENGTH:
            raise Rejected(f"{where}: group {show(name)} is longer than {GROUP_LENGTH} characters")
        if name not in result:
            result.append(name)
    if not result:
        raise Rejected(f"{where}: {show(value)} names no group; write e.g. family,admins")
    if len(result) > GROUP_LIMIT:
        raise Rejected(f"{where}: more than {GROUP_LIMIT} groups")
    return tuple(result)
