"""The Startpunkt configuration: the original's YAML format plus environment overrides.

Read once at start-up, validated completely (every problem is reported, not just the first),
then passed explicitly to whoever needs it. Keys and defaults follow the original's shipped
`application.yaml`, so an existing file keeps working.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

CONFIG_ENV = "STARTPUNKT_CONFIG"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class ConfigError(Exception):
    """Configuration that cannot be used; `problems` lists each one with its key path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def __str__(self) -> str:
        lines = [f"invalid configuration ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def parse_duration(value: Any) -> float:
    """`60s`, `5m`, `1h`, `500ms` or a bare number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 60s, 5m or 500ms")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration; use a number of seconds or 60s, 5m, 500ms")
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


StrList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
IntList = Annotated[tuple[int, ...], BeforeValidator(_comma_list)]


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        strict=False,
    )


class NamespaceSelector(Section):
    any: bool = True
    match_names: StrList = ()


class SourceSwitch(Section):
    enabled: bool = True
    only_annotated: bool = True


class IngressSource(SourceSwitch):
    ingress_class_names: StrList = ()
    include_unclassified: bool = True


class HajimariSource(Section):
    enabled: bool = True


class IstioSection(Section):
    virtualservice: SourceSwitch = SourceSwitch()


class GatewayApiSection(Section):
    httproute: SourceSwitch = SourceSwitch()


class Backoff(Section):
    initial_delay: PositiveDuration = 5.0
    max_delay: PositiveDuration = 300.0
    multiplier: float = Field(default=2.0, ge=1.0)


def _default_accepted() -> tuple[int, ...]:
    return (*range(200, 400), 401, 403)


class Availability(Section):
    enabled: bool = True
    interval: PositiveDuration = 60.0
    timeout: PositiveDuration = 5.0
    ignore_certificates: bool = False
    concurrency: int = Field(default=32, ge=1, le=1024)
    max_redirects: int = Field(default=5, ge=0, le=30)
    accepted_status_codes: IntList = Field(default_factory=_default_accepted)
    backoff: Backoff = Backoff()

    @field_validator("accepted_status_codes")
    @classmethod
    def _codes_are_http(cls, codes: tuple[int, ...]) -> tuple[int, ...]:
        bad = [c for c in codes if not 100 <= c <= 599]
        if bad:
            raise ValueError(f"{bad} are not HTTP status codes (100-599)")
        return codes


class WatchBackoff(Section):
    initial: PositiveDuration = 0.5
    max: PositiveDuration = 30.0


class Watch(Section):
    enabled: bool = True
    # server-side watch timeout; the server closes the stream and we resume from the last version
    timeout: PositiveDuration = 300.0
    # no bytes at all for this long (not even a bookmark) means the connection is dead
    inactivity_timeout: PositiveDuration = 330.0
    page_size: int = Field(default=500, ge=1, le=10000)
    backoff: WatchBackoff = WatchBackoff()
    forbidden_retry: PositiveDuration = 60.0
    absent_recheck: PositiveDuration = 30.0
    # with watching off, REST reads LIST on demand behind a cache this old at most
    cache_ttl: Duration = 10.0
    # accepted for compatibility with the original; every watch event is applied in place,
    # so a periodic resync has nothing to repair
    resync_period_seconds: int = Field(default=0, ge=0)


class StatusSection(Section):
    """`.status` on Startpunkt's own Applications and Bookmarks (needs patch on their status)."""

    enabled: bool = True
    # 0: lastChecked is written with real changes only; otherwise also refreshed this often.
    # A refresh costs one write per app per period (5,000 apps at 5m: 17 writes a second).
    refresh: Duration = 0.0


class Realtime(Section):
    enabled: bool = True
    heartbeat_interval: PositiveDuration = 30.0
    replay_buffer: int = Field(default=2048, ge=16)
    client_queue: int = Field(default=512, ge=8)
    max_connections: int = Field(default=10000, ge=1)


class LegacyWebsocket(Section):
    """The original's `websocket.*` keys, accepted so an existing file loads unchanged."""

    enabled: bool = True
    heartbeat_interval: PositiveDuration = 30.0
    event_debounce_ms: int = Field(default=0, ge=0)


class ThemeColors(Section):
    """The light palette; each colour can be overridden on its own."""

    body_bg_color: str = "#F8F6F1"
    body_color: str = "#696969"
    emphasis_color: str = "#000000"
    text_primary_color: str = "#4C432E"
    text_accent_color: str = "#AA9A73"


class DarkThemeColors(ThemeColors):
    # the original's code defaulted dark to the light values (a bug); these are its shipped ones
    body_bg_color: str = "#232530"
    body_color: str = "#696969"
    emphasis_color: str = "#FAB795"
    text_primary_color: str = "#FAB795"
    text_accent_color: str = "#E95678"


class Theme(Section):
    light: ThemeColors = ThemeColors()
    dark: DarkThemeColors = DarkThemeColors()


class GithubLink(Section):
    enabled: bool = True


class Web(Section):
    title: str = "Startpunkt"
    refresh_interval: int = Field(default=60, ge=0)
    github_link: GithubLink = GithubLink()
    check_for_updates: bool = False  # off by default: no third-party calls from the page
    search_engine: str = "https://duckduckgo.com/?q="
    theme: Theme = Theme()
    show_all_on_root: bool = True  # the original showed only untagged apps on `/`


# --- access: who sees what, from the headers of a trusted authenticating proxy ---

PROXY_PRESETS: dict[str, tuple[str, str, str, str | None]] = {
    # preset: (user header, groups header, groups separator, e-mail header)
    "oauth2-proxy": ("X-Forwarded-User", "X-Forwarded-Groups", ",", "X-Forwarded-Email"),
    "authelia": ("Remote-User", "Remote-Groups", ",", "Remote-Email"),
    "authentik": ("X-authentik-username", "X-authentik-groups", "|", "X-authentik-email"),
}
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}")


def _network(value: str) -> str:
    """A CIDR (or a single address) as `ipaddress` writes it; a clear error otherwise."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as e:
        try:
            loose = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an address or CIDR range; write e.g. 10.0.0.0/8 or 127.0.0.1"
            ) from e
        raise ValueError(f"{value!r} has host bits set; did you mean {loose}?") from e


def _header(value: str | None) -> str | None:
    if value is not None and not _HEADER_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an HTTP header name")
    return value


class AccessProxy(Section):
    """The authenticating proxy in front of Startpunkt, and where its requests come from."""

    preset: Literal["oauth2-proxy", "authelia", "authentik", "custom"] = "oauth2-proxy"
    user_header: str | None = None  # custom only
    groups_header: str | None = None  # custom only
    groups_separator: str = Field(default=",", min_length=1, max_length=1)  # custom only
    email_header: str | None = None  # custom only
    trusted_proxies: StrList = Field(default=(), validate_default=True)

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if not values:
            raise ValueError(
                "list the addresses the proxy connects from (CIDRs, e.g. [10.0.0.0/8]); "
                "identity headers from anywhere else are ignored"
            )
        networks, problems = [], []
        for value in values:
            try:
                networks.append(_network(value))
            except ValueError as e:
                problems.append(str(e))
        if problems:
            raise ValueError("; ".join(problems))
        return tuple(networks)

    @field_validator("user_header", "groups_header", "email_header")
    @classmethod
    def _header_names(cls, value: str | None) -> str | None:
        return _header(value)

    @model_validator(mode="after")
    def _custom_only(self) -> AccessProxy:
        own = {
            "userHeader": self.user_header,
            "groupsHeader": self.groups_header,
            "emailHeader": self.email_header,
        }
        if self.preset == "custom":
            if self.user_header is None:
                raise ValueError("userHeader: required with preset: custom")
        elif given := [k for k, v in own.items() if v is not None]:
            raise ValueError(
                f"{', '.join(given)}: set only with preset: custom; the {self.preset} preset "
                f"reads {PROXY_PRESETS[self.preset][0]} and {PROXY_PRESETS[self.preset][1]}"
            )
        return self

    def headers(self) -> tuple[str, str | None, str, str | None]:
        """(user header, groups header, groups separator, e-mail header) in effect."""
        if self.preset == "custom":
            assert self.user_header is not None
            return self.user_header, self.groups_header, self.groups_separator, self.email_header
        return PROXY_PRESETS[self.preset]


class Access(Section):
    """Without `proxy` everyone sees everything, as before; `default`, `admins` and
    `operatorEndpoints: admins` need it, since only the proxy can say who is asking."""

    proxy: AccessProxy | None = None
    # items without groups: everyone | authenticated (signed-in users only) | nobody
    default: Literal["everyone", "authenticated", "nobody"] = "everyone"
    admins: StrList = ()
    # /metrics, /api/diagnostics, /api/sources (and /diagnostics): public, admins only,
    # or only on `operatorPort` (for Prometheus and operators, behind no proxy)
    operator_endpoints: Literal["public", "admins", "port"] = "public"
    operator_port: int = Field(default=9090, ge=1, le=65535)

    @model_validator(mode="after")
    def _needs_proxy(self) -> Access:
        if self.proxy is not None:
            return self
        wanted = [
            name
            for name, on in (
                (f"default: {self.default}", self.default != "everyone"),
                ("admins", bool(self.admins)),
                ("operatorEndpoints: admins", self.operator_endpoints == "admins"),
            )
            if on
        ]
        if wanted:
            raise ValueError(
                f"{', '.join(wanted)} needs access.proxy (the authenticating proxy's preset and "
                "trustedProxies), since only the proxy can say who is asking"
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.proxy is not None


class Settings(Section):
    """`startpunkt:` in the YAML file."""

    default_protocol: Literal["http", "https"] = "http"
    default_language: str = Field(default="en-US", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    namespace_selector: NamespaceSelector = NamespaceSelector()
    ingress: IngressSource = IngressSource()
    openshift: SourceSwitch = SourceSwitch()
    hajimari: HajimariSource = HajimariSource()
    istio: IstioSection = IstioSection()
    gatewayapi: GatewayApiSection = GatewayApiSection()
    availability: Availability = Availability()
    watch: Watch = Watch()
    realtime: Realtime = Realtime()
    access: Access = Access()
    status: StatusSection = StatusSection()
    websocket: LegacyWebsocket | None = None
    web: Web = Web()


def _env_name(path: tuple[str, ...]) -> str:
    """Quarkus' rule: non-alphanumerics become `_`, then upper case."""
    return re.sub(r"[^A-Za-z0-9]", "_", ".".join(path)).upper()


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        key = (*prefix, info.alias or name)
        annotation = info.annotation
        nested = [
            a
            for a in getattr(annotation, "__args__", (annotation,))
            if isinstance(a, type) and issubclass(a, Section)
        ]
        if nested:
            paths += _leaf_paths(nested[0], key)
        else:
            paths.append(key)
    return paths


ENV_KEYS: dict[str, tuple[str, ...]] = {
    _env_name(path): path for path in _leaf_paths(Settings, ("startpunkt",))
}


def _set_path(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([f"{path}: cannot read the configuration file ({e.strerror})"]) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError([f"{path}: not valid YAML{where}: {problem}"]) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with the root key `startpunkt:`"])
    return data


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts)


def _describe(error: Mapping[str, Any]) -> str:
    key = "startpunkt." + _location(tuple(error["loc"]))
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (check the spelling against the configuration reference)"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] != "missing" and not isinstance(value, dict | list):
        return f"{key}: {message} (got {value!r})"
    return f"{key}: {message}"


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Reads the file (if any), applies environment overrides, validates everything.

    Raises ConfigError listing every problem.
    """
    environ = os.environ if environ is None else environ
    if path is None and environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV])
    tree: dict[str, Any] = _read_file(path) if path is not None else {}

    problems: list[str] = []
    unknown_roots = sorted(k for k in tree if k != "startpunkt")
    problems += [
        f"{k}: unknown root key; the file's root key is `startpunkt:`" for k in unknown_roots
    ]
    root = tree.get("startpunkt") or {}
    if not isinstance(root, dict):
        problems.append("startpunkt: expected a mapping of settings")
        root = {}

    for name, raw in environ.items():
        if name in ENV_KEYS:
            # kept as text: validation converts "false", "90s", "a,b" like any file value
            _set_path({"startpunkt": root}, ENV_KEYS[name], raw)

    try:
        settings = Settings.model_validate(root)
    except ValidationError as e:
        problems += [_describe(err) for err in e.errors()]
        settings = None
    if problems or settings is None:
        raise ConfigError(problems)
    return settings
