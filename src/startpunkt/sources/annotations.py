"""Annotations: how Startpunkt reads the Startpunkt, Hajimari, Forecastle and Homepage dialects.

Any Ingress, OpenShift Route, Istio VirtualService or Gateway API HTTPRoute can be put on the page
with annotations. Startpunkt understands its own keys and those of three other start pages, so
objects already annotated for Hajimari, Forecastle or Homepage appear without changes.

For every field the keys below are tried left to right and **the first one present wins**, even
when its value is "false": `startpunkt.ullberg.us/*` beats `hajimari.io/*`, which beats
`forecastle.stakater.com/*`, which beats `gethomepage.dev/*`. A key whose value is empty counts as
absent. Values are used as written: names, groups, URLs, icons and descriptions keep their case.

Keys by dialect, in precedence order from left to right (`-`: the dialect has no such key).
Forecastle keys start with `forecastle.stakater.com/`, Homepage keys with `gethomepage.dev/`.

| Field | Startpunkt: `startpunkt.ullberg.us/` | Hajimari: `hajimari.io/` | Forecastle | Homepage |
|---|---|---|---|---|
| name | `appName`, `name` | `appName` | `appName` | `name` |
| group | `group` | `group` | `group` | `group` |
| url | `url` | `url` | `url` | `href` |
| icon | `icon` | `icon` | `icon` | `icon` |
| iconColor | `iconColor` | `iconColor` | - | - |
| info | `info` | `info` | - | `description` |
| targetBlank | `targetBlank` | `targetBlank` | - | - |
| location | `location` | `location` | - | `weight` |
| enable | `enable`, `enabled` | `enable` | `expose` | `enabled` |
| protocol | `protocol` | - | - | - |
| port | `port` | - | - | - |
| rootPath | `rootPath` | - | - | - |
| tags | `tags` | - | - | - |
| healthUrl | `healthUrl` | - | - | - |
| probe | `probe` | - | - | - |
| acceptedStatusCodes | `acceptedStatusCodes` | - | - | - |
| probeTimeout | `probeTimeout` | - | - | - |

Values and defaults:
- name: default the object's name. group: default the namespace.
- url: default derived from the object (below). icon: an icon name (`mdi:home`, `si:github`,
  Homepage's `mdi-home`, `mdi-home-#f0d453`, `si-github`, or a dashboard-icons name such as
  `grafana.png` when `web.icons.dashboardIconsUrl` is set) or an image URL.
- targetBlank: default false. location: a whole number, ascending; absent or 0 means 1000
  (Homepage's `weight` is read the same way). A value that is not a whole number keeps the
  object at 1000, with a note in diagnostics.
- enable: not set by default (see below). tags: comma-separated, e.g. `admin,dev`.
- protocol: `http` or `https`. port: 1-65535; anything else is ignored with a note.
- rootPath: appended to the URL. healthUrl: the URL the availability check probes, absolute or
  a path on the app's URL (default: the app's URL); on the app's own host unless
  `availability.healthUrlHosts` lists another (else it is ignored with a note).
- probe: `false`/`off` turns availability checks off for this app.
- acceptedStatusCodes: e.g. `200-299,401` (default: the global setting).
- probeTimeout: `5`, `5s` or `500ms` (default: the global setting).

**Showing and hiding.** An explicit `enable: "false"` (in whichever dialect wins) always hides the
object. With `onlyAnnotated: true` (the default for every annotated kind) an object is shown only
when its winning enable key is true. Booleans accept true/false, yes/no, on/off and 1/0.

**Homepage instances and placeholders.** An object that names Homepage instances
(`gethomepage.dev/instance: public`, or keys `gethomepage.dev/instance.<name>`, whatever their
value) is shown only when `homepage.instanceName` in the configuration is one of them, and
`gethomepage.dev/instance.<name>.<field>` then replaces `gethomepage.dev/<field>`; an object that
names none is shown everywhere. This applies when Homepage's keys decide: an enable key of
another dialect that wins shows the object regardless. In `gethomepage.dev/*` values,
`{{HOMEPAGE_VAR_NAME}}` is replaced by the environment variable HOMEPAGE_VAR_NAME of
Startpunkt's container and `{{HOMEPAGE_FILE_NAME}}` by the contents of the file that
HOMEPAGE_FILE_NAME names (a mounted Secret, say), both read once at start-up, so a token need
not be written into the annotation. A placeholder without a value stays as written, with a note.

**URLs.** The `url` annotation replaces the derived URL completely; `protocol` and `port` then do
not apply (they adjust derived URLs only), except that a URL written without a scheme
(`grafana.example.com`) gets the `protocol` annotation's scheme or `defaultProtocol`.
`rootPath` is appended to every URL with exactly one `/` at the join. Derived URLs:
- Ingress: the first rule with a non-wildcard host and its first literal path; `https` when the host
  is listed in `spec.tls[].hosts` (or a TLS entry lists no hosts), else `http`.
- Route: `https` when `spec.tls` is set, else `http`; `spec.host` and `spec.path`.
- VirtualService: the first `spec.hosts` entry that is a fully qualified name (no `*`, not a
  cluster-internal `.svc` name), with `defaultProtocol`.
- HTTPRoute: the first non-wildcard `spec.hostnames` entry (or the listener's hostname) and the
  first `PathPrefix`/`Exact` path; scheme and port from the parent Gateway's listener: the one
  `sectionName` names, else the first HTTPS listener serving the host, else the first HTTP one
  (`HTTPS`/`TLS` means https; ports other than 80/443 are kept). Without the Gateway,
  `defaultProtocol`.
Only `http` and `https` URLs are used: a `javascript:`, `data:` or other scheme is refused and the
object is reported as rejected. An icon that is a URL must be `http(s)` too, or it is dropped.

**Custom resources.** Startpunkt and Hajimari `Application` objects take each field from `spec`
first and fall back to these annotations; `spec.enabled: false` hides them. Bookmarks read only
their `spec`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from startpunkt.config import parse_duration
from startpunkt.sources.fields import Trace, parse_bool, show

STARTPUNKT = "startpunkt.ullberg.us/"
HAJIMARI = "hajimari.io/"
FORECASTLE = "forecastle.stakater.com/"
HOMEPAGE = "gethomepage.dev/"

KEYS: dict[str, tuple[str, ...]] = {
    "name": (
        STARTPUNKT + "appName",
        STARTPUNKT + "name",  # the original README documented this key
        HAJIMARI + "appName",
        FORECASTLE + "appName",
        HOMEPAGE + "name",
    ),
    "group": (STARTPUNKT + "group", HAJIMARI + "group", FORECASTLE + "group", HOMEPAGE + "group"),
    "url": (STARTPUNKT + "url", HAJIMARI + "url", FORECASTLE + "url", HOMEPAGE + "href"),
    "icon": (STARTPUNKT + "icon", HAJIMARI + "icon", FORECASTLE + "icon", HOMEPAGE + "icon"),
    "iconColor": (STARTPUNKT + "iconColor", HAJIMARI + "iconColor"),
    "info": (STARTPUNKT + "info", HAJIMARI + "info", HOMEPAGE + "description"),
    "targetBlank": (STARTPUNKT + "targetBlank", HAJIMARI + "targetBlank"),
    "location": (STARTPUNKT + "location", HAJIMARI + "location", HOMEPAGE + "weight"),
    "enable": (
        STARTPUNKT + "enable",
        STARTPUNKT + "enabled",  # the original's tests used it; accepting it costs nothing
        HAJIMARI + "enable",
        FORECASTLE + "expose",
        HOMEPAGE + "enabled",
    ),
    "protocol": (STARTPUNKT + "protocol",),
    "port": (STARTPUNKT + "port",),
    "rootPath": (STARTPUNKT + "rootPath",),
    "tags": (STARTPUNKT + "tags",),
    "healthUrl": (STARTPUNKT + "healthUrl",),
    "probe": (STARTPUNKT + "probe",),
    "acceptedStatusCodes": (STARTPUNKT + "acceptedStatusCodes",),
    "probeTimeout": (STARTPUNKT + "probeTimeout",),
}

ENABLE_HINT = f'{STARTPUNKT}enable: "true"'
TAG_LIMIT = 32
TAG_LENGTH = 64
PROBE_TIMEOUT_LIMIT = 300.0
_CODES = re.compile(r"\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?")


def _scalar(value: object) -> str | None:
    """Annotation values are strings; a manifest file may hold YAML scalars, read them as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).strip() or None
    return None


HOMEPAGE_INSTANCE = HOMEPAGE + "instance"
PLACEHOLDER = re.compile(r"\{\{(HOMEPAGE_(?:VAR|FILE)_[A-Za-z0-9_]{1,100})\}\}")


class Annotations:
    """An object's annotations, read through the dialect table.

    Homepage's own rules are applied on the way in: with `instance` set (this Startpunkt's
    homepage.instanceName), `gethomepage.dev/instance.<instance>.<field>` replaces
    `gethomepage.dev/<field>`; `{{HOMEPAGE_VAR_X}}` and `{{HOMEPAGE_FILE_X}}` in `gethomepage.dev/*`
    values are replaced from `substitutions` (resolved before mapping; a placeholder without a
    value stays as written and is listed in `unresolved`).
    """

    __slots__ = ("_values", "instances", "unresolved")

    def __init__(
        self,
        raw: object,
        substitutions: Mapping[str, str] | None = None,
        instance: str = "",
    ) -> None:
        self._values: dict[str, str] = {}
        self.instances: frozenset[str] = frozenset()  # the Homepage instances it names
        self.unresolved: tuple[tuple[str, str], ...] = ()  # (key, placeholder)
        if not isinstance(raw, Mapping):
            return
        instances: set[str] = set()
        overrides: dict[str, str] = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                continue
            if key.startswith(HOMEPAGE_INSTANCE + "."):
                # `instance.<name>: ""` names an instance; `instance.<name>.<field>` too, and
                # on that instance it replaces the field
                name, _, field = key[len(HOMEPAGE_INSTANCE) + 1 :].partition(".")
                if name:
                    instances.add(name)
                if field and name == instance and (scalar := _scalar(value)) is not None:
                    overrides[HOMEPAGE + field] = scalar
            elif (scalar := _scalar(value)) is not None:
                self._values[key] = scalar
        self._values.update(overrides)
        self.instances = frozenset(instances)
        if substitutions is not None:
            self._substitute(substitutions)

    def _substitute(self, values: Mapping[str, str]) -> None:
        unresolved: list[tuple[str, str]] = []
        for key, value in self._values.items():
            if not key.startswith(HOMEPAGE) or "{{" not in value:
                continue

            def replace(match: re.Match[str], key: str = key) -> str:
                name = match.group(1)
                if name in values:
                    return values[name]
                unresolved.append((key, name))
                return match.group(0)

            self._values[key] = PLACEHOLDER.sub(replace, value).strip()
        self.unresolved = tuple(unresolved)

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def first(self, field: str) -> tuple[str, str] | None:
        """(key, value) of the first key present for `field`, in precedence order."""
        for key in KEYS[field]:
            if (value := self._values.get(key)) is not None:
                return key, value
        return None

    def value(self, field: str) -> str | None:
        hit = self.first(field)
        return hit[1] if hit else None


def pick(
    spec: Mapping[str, Any] | None, spec_key: str, *, annotations: Annotations, field: str
) -> tuple[object, str] | None:
    """(value, where) from `spec.<spec_key>` if set, else the winning annotation for `field`."""
    if spec is not None:
        value = spec.get(spec_key)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value, f"spec.{spec_key}"
    hit = annotations.first(field)
    return (hit[1], hit[0]) if hit else None


def instance_filter(annotations: Annotations, enable_key: str, instance: str) -> str | None:
    """Why Homepage's instance annotations keep this object off this instance, or None.

    An object that names Homepage instances (`gethomepage.dev/instance: <name>`, or keys
    `gethomepage.dev/instance.<name>[.<field>]`) is shown only on those; one that names none is
    shown everywhere. It applies when Homepage's keys decide: an enable key of another dialect
    that wins (`startpunkt.ullberg.us/enable`, say) shows the object regardless.
    """
    if enable_key and not enable_key.startswith(HOMEPAGE):
        return None
    named = set(annotations.instances)
    if wanted := annotations.get(HOMEPAGE_INSTANCE):
        named.add(wanted)
    if not named or instance in named:
        return None
    listed = ", ".join(repr(n[:63]) for n in sorted(named)[:5])
    this = f"this one is {instance!r}" if instance else "this one has no homepage.instanceName"
    return f"meant for Homepage instance {listed} ({HOMEPAGE_INSTANCE}); {this}"


def unresolved_notes(annotations: Annotations, trace: Trace) -> None:
    for key, name in annotations.unresolved:
        trace.note(f"{key}: {{{{{name}}}}} has no value (set {name} in Startpunkt's environment)")


def enabled(
    spec: Mapping[str, Any] | None, annotations: Annotations, trace: Trace
) -> tuple[bool | None, str]:
    """The winning enable setting and where it came from; (None, "") when nothing says."""
    found = pick(spec, "enabled", annotations=annotations, field="enable")
    if found is None:
        return None, ""
    value, where = found
    result = parse_bool(value)
    if result is None:
        trace.note(f"{where}: {show(value)} is not true or false; ignored")
    return result, where


def protocol(annotations: Annotations, trace: Trace) -> str | None:
    raw = annotations.get(STARTPUNKT + "protocol")
    if raw is None:
        return None
    word = raw.lower().removesuffix("://")
    if word in ("http", "https"):
        return word
    trace.note(f"{STARTPUNKT}protocol: {show(raw)} is not http or https; ignored")
    return None


def port(annotations: Annotations, trace: Trace) -> int | None:
    raw = annotations.get(STARTPUNKT + "port")
    if raw is None:
        return None
    if raw.isdigit() and 1 <= int(raw) <= 65535:
        return int(raw)
    trace.note(f"{STARTPUNKT}port: {show(raw)} is not a port number (1-65535); ignored")
    return None


def tags(value: object, where: str, trace: Trace) -> tuple[str, ...]:
    """Comma-separated (or, in a manifest file, a list); kept as written, duplicates dropped."""
    if isinstance(value, str):
        parts: list[object] = list(value.split(","))
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        trace.note(f"{where} must be a comma-separated string; ignored")
        return ()
    result: list[str] = []
    for part in parts:
        if not isinstance(part, str | int) or isinstance(part, bool):
            continue
        tag = str(part).strip()
        if not tag or tag in result:
            continue
        if len(tag) > TAG_LENGTH:
            trace.note(f"{where}: tag {show(tag)} is longer than {TAG_LENGTH} characters; dropped")
        elif len(result) == TAG_LIMIT:
            trace.note(f"{where}: more than {TAG_LIMIT} tags; the rest are dropped")
            break
        else:
            result.append(tag)
    return tuple(result)


def status_codes(value: object, where: str, trace: Trace) -> frozenset[int] | None:
    """`200-299,401` (or a list of codes in a CRD); None, with a note, when unreadable."""
    parts = value if isinstance(value, list | tuple) else str(value).split(",")
    codes: set[int] = set()
    for part in parts:
        match = _CODES.fullmatch(str(part)) if isinstance(part, str | int) else None
        low = int(match.group(1)) if match else 0
        high = int(match.group(2) or low) if match else 0
        if not match or not 100 <= low <= high <= 599:
            trace.note(f"{where}: {show(value)} is not a list of HTTP status codes; ignored")
            return None
        codes.update(range(low, high + 1))
    return frozenset(codes) or None


def probe_timeout(value: object, where: str, trace: Trace) -> float | None:
    try:
        seconds = parse_duration(value)
    except ValueError:
        seconds = 0.0
    if 0 < seconds <= PROBE_TIMEOUT_LIMIT:
        return seconds
    trace.note(
        f"{where}: {show(value)} is not a timeout between 0 and {PROBE_TIMEOUT_LIMIT:g}s; ignored"
    )
    return None
