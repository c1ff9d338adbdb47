"""The Startpunkt configuration: the original's YAML format plus environment overrides.

Read once at start-up, validated completely (every problem is reported, not just the first),
then passed explicitly to whoever needs it. Keys and defaults follow the original's shipped
`application.yaml`, so an existing file keeps working.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

CONFIG_ENV = "STARTPUNKT_CONFIG"
REPLAY_BUFFER_LIMIT = 65536  # events kept for resume; each is one encoded app or bookmark
REMOTE_CLUSTER_LIMIT = 100

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
    """The original's verdict: 2xx, 3xx and every 4xx but 404 mean the server answers."""
    return (*range(200, 404), *range(405, 500))


def _map_originals_backoff(data: Any) -> Any:
    """availability.initialDelayMs/maxDelayMs/backoffMultiplier -> availability.backoff.*,
    unless `backoff` sets that value itself. A value that is not a number is left alone: its
    own key reports it."""
    if not isinstance(data, dict):
        return data
    backoff = data.get("backoff")
    if backoff is None:
        backoff = {}
    if not isinstance(backoff, dict):
        return data
    mapped = dict(backoff)
    for original, key, scale in (
        ("initialDelayMs", "initialDelay", 0.001),
        ("maxDelayMs", "maxDelay", 0.001),
        ("backoffMultiplier", "multiplier", 1.0),
    ):
        value = _number(data.get(original))
        if value is not None and key not in mapped and _snake(key) not in mapped:
            mapped[key] = value * scale
    return {**data, "backoff": mapped} if mapped != backoff else data


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


class Availability(Section):
    enabled: bool = True
    interval: PositiveDuration = 60.0
    timeout: PositiveDuration = 5.0
    ignore_certificates: bool = False
    concurrency: int = Field(default=32, ge=1, le=1024)
    max_redirects: int = Field(default=5, ge=0, le=30)
    accepted_status_codes: IntList = Field(default_factory=_default_accepted)
    backoff: Backoff = Backoff()
    # The original's keys (v4.4): its backoff in milliseconds, mapped onto `backoff` unless
    # `backoff.*` says otherwise, and the failures in a row after which a failing app is logged.
    max_retries: int = Field(default=6, ge=0, le=1_000_000)
    initial_delay_ms: int | None = Field(default=None, gt=0)
    max_delay_ms: int | None = Field(default=None, gt=0)
    backoff_multiplier: float | None = Field(default=None, ge=1.0)

    @model_validator(mode="before")
    @classmethod
    def _originals_backoff(cls, data: Any) -> Any:
        return _map_originals_backoff(data)

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
    replay_buffer: int = Field(default=2048, ge=16, le=REPLAY_BUFFER_LIMIT)
    client_queue: int = Field(default=512, ge=8)
    max_connections: int = Field(default=10000, ge=1)
    event_debounce_ms: int = Field(default=0, ge=0)  # the original's; accepted and ignored


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


class WebIcons(Section):
    """Homepage's dashboard-icons names (`grafana.png`): fetched by the server from
    `dashboardIconsUrl` once and cached, so the browser makes no third-party request. Empty
    (the default): such names are drawn as a letter and nothing is fetched."""

    dashboard_icons_url: str = ""
    fetch_timeout: PositiveDuration = 5.0
    max_bytes: int = Field(default=256 * 1024, ge=1024, le=4 * 1024 * 1024)
    cache_entries: int = Field(default=512, ge=1, le=10_000)

    @field_validator("dashboard_icons_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        url = url.strip().rstrip("/")
        if url and not re.match(r"^https?://[^\s/]+", url):
            raise ValueError("must be an http(s) URL such as https://cdn.example/dashboard-icons")
        return url


class Web(Section):
    title: str = "Startpunkt"
    refresh_interval: int = Field(default=60, ge=0)
    github_link: GithubLink = GithubLink()
    check_for_updates: bool = False  # off by default: no third-party calls from the page
    search_engine: str = "https://duckduckgo.com/?q="
    theme: Theme = Theme()
    show_all_on_root: bool = True  # the original showed only untagged apps on `/`
    default_show_all_clusters: bool = False  # the original's multi-cluster view; not used yet
    icons: WebIcons = WebIcons()


class HomepageDialect(Section):
    """Homepage's `gethomepage.dev/instance` and `instance.<name>` annotations restrict an object
    to the Homepage instance of that name; this is the name Startpunkt answers to."""

    instance_name: str = Field(default="", max_length=253)


class LocalCluster(Section):
    enabled: bool = True
    name: str = "local"


class RemoteCluster(Section):
    """Another Startpunkt instance to aggregate (the original's v4.4 GraphQL federation)."""

    name: str = Field(min_length=1)
    graphql_url: str = Field(alias="graphql-url", min_length=1)
    graphql_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("graphql-token", "token"),
        serialization_alias="graphql-token",
    )
    enabled: bool = True


class Clusters(Section):
    local: LocalCluster = LocalCluster()
    remote: tuple[RemoteCluster, ...] = Field(default=(), max_length=REMOTE_CLUSTER_LIMIT)


class GraphqlSubscription(Section):
    enabled: bool = True


class Graphql(Section):
    subscription: GraphqlSubscription = GraphqlSubscription()


class BingImageFallback(Section):
    urlbase: str = ""
    copyright: str = ""
    title: str = ""


class BingImage(Section):
    fallback: BingImageFallback = BingImageFallback()


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
    status: StatusSection = StatusSection()
    websocket: LegacyWebsocket | None = None
    web: Web = Web()
    homepage: HomepageDialect = HomepageDialect()
    # keys of the original without a meaning here yet: accepted, typed, and logged as such
    clusters: Clusters = Clusters()
    graphql: Graphql = Graphql()
    bingimage: BingImage = BingImage()


def _env_name(path: tuple[str, ...]) -> str:
    """Quarkus' rule: non-alphanumerics become `_`, then upper case."""
    return re.sub(r"[^A-Za-z0-9]", "_", ".".join(path)).upper()


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        key = (*prefix, info.alias or name)
        annotation = info.annotation
        if get_origin(annotation) is tuple and any(
            isinstance(a, type) and issubclass(a, Section) for a in get_args(annotation)
        ):
            continue  # lists of sections (clusters.remote) take indexed names: see _indexed_env
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
    return load_all(path, environ).settings


def load_all(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Loaded:
    """`load`, plus what start-up needs besides the settings: the original's keys that were
    accepted and ignored, the log levels of the `quarkus:` section, and Homepage's
    substitution values. Raises ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV])
    tree: dict[str, Any] = _read_file(path) if path is not None else {}

    problems: list[str] = []
    unknown_roots = sorted(k for k in tree if k not in ROOT_KEYS)
    problems += [
        f"{k}: unknown root key; the file's root key is `startpunkt:`" for k in unknown_roots
    ]
    root = tree.get("startpunkt") or {}
    if not isinstance(root, dict):
        problems.append("startpunkt: expected a mapping of settings")
        root = {}
    framework = tree.get("quarkus") or {}
    if not isinstance(framework, dict):
        problems.append("quarkus: expected a mapping (the original's framework settings)")
        framework = {}

    for name, raw in environ.items():
        if name in ENV_KEYS:
            # kept as text: validation converts "false", "90s", "a,b" like any file value
            _set_path({"startpunkt": root}, ENV_KEYS[name], raw)
    problems += _indexed_env(root, environ)
    problems += _unknown_env(environ)
    levels, level_problems = _log_levels(framework, environ)
    problems += level_problems
    substitutions, substitution_problems = homepage_substitutions(environ)
    problems += substitution_problems

    try:
        settings = Settings.model_validate(root)
    except ValidationError as e:
        problems += [_describe(err) for err in e.errors()]
        settings = None
    if problems or settings is None:
        raise ConfigError(problems)
    return Loaded(
        settings,
        ignored=ignored_keys(root, framework, environ),
        log_level=levels.get("root"),
        app_log_level=levels.get("app"),
        substitutions=substitutions,
    )


# -- the original's keys ---------------------------------------------------------------------
#
# Every key any release of the original shipped is accepted. Those with a meaning here are
# honoured (availability's backoff, the `quarkus.log` levels); the rest are reported once at
# start-up, with the reason, so nobody wonders why a setting does nothing.

ROOT_KEYS = ("startpunkt", "quarkus")

# key path prefix under `startpunkt:` -> why it has no effect
IGNORED: dict[tuple[str, ...], str] = {
    ("graphql",): "Startpunkt has no GraphQL API; pages follow changes over the event stream",
    ("bingimage",): "the page shows no daily background image (a third-party request)",
    ("websocket", "eventDebounceMs"): "changes are sent at once; a slow client's backlog is "
    "coalesced per item instead",
    ("realtime", "eventDebounceMs"): "changes are sent at once; a slow client's backlog is "
    "coalesced per item instead",
    ("watch", "resyncPeriodSeconds"): "every watch event is applied in place, so there is "
    "nothing to resync",
}
NOT_YET: dict[tuple[str, ...], str] = {
    ("clusters",): "only the cluster Startpunkt runs in is shown for now",
    ("web", "defaultShowAllClusters"): "only the cluster Startpunkt runs in is shown for now",
}
QUARKUS_REASON = "a setting of the original's framework (Quarkus), which Startpunkt does not use"
QUARKUS_LOG_LEVEL = ("log", "level")
QUARKUS_APP_LOG_LEVEL = ("log", "category", "us.ullberg", "level")
_LIST_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Loaded:
    settings: Settings
    ignored: tuple[str, ...] = ()  # one line per reason, naming the keys
    log_level: str | None = None  # quarkus.log.level, as a Python level name
    app_log_level: str | None = None  # quarkus.log.category."us.ullberg".level
    substitutions: Mapping[str, str] = field(default_factory=dict)


def _leaves(node: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*prefix, str(k)))]
    if isinstance(node, list) and node and prefix[-1:] != ("matchNames",):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*prefix, f"[{i}]"))]
    return [prefix]


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(f'"{p}"' if "." in p else p for p in path).replace(".[", "[")


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:_LIST_LIMIT])
    return shown + (f" and {len(paths) - _LIST_LIMIT} more" if len(paths) > _LIST_LIMIT else "")


def ignored_keys(
    root: Mapping[str, Any], framework: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[str, ...]:
    """One line per reason for the keys given (in the file or the environment) that have no
    effect: the original's keys without a meaning here, and the framework's."""
    by_reason: dict[str, list[str]] = {}
    for leaf in _leaves(dict(root), ()):
        for table, verb in ((IGNORED, "accepted and ignored"), (NOT_YET, "accepted, not used yet")):
            for prefix, reason in table.items():
                if leaf[: len(prefix)] == prefix:
                    key = f"{verb} ({reason})"
                    by_reason.setdefault(key, []).append("startpunkt." + _dotted(leaf))
    web = root.get("web")
    if isinstance(web, dict) and str(web.get("checkForUpdates", "")).lower() == "true":
        reason = "accepted and ignored (the page never asks for the original's releases)"
        by_reason.setdefault(reason, []).append("startpunkt.web.checkForUpdates")
    framework_keys = [
        "quarkus." + _dotted(leaf)
        for leaf in _leaves(dict(framework), ())
        if leaf and leaf not in (QUARKUS_LOG_LEVEL, QUARKUS_APP_LOG_LEVEL)
    ]
    framework_keys += sorted(
        name
        for name in environ
        if name.startswith("QUARKUS_") and name not in (QUARKUS_LEVEL_ENV, QUARKUS_APP_LEVEL_ENV)
    )
    if framework_keys:
        by_reason.setdefault(f"accepted and ignored ({QUARKUS_REASON})", []).extend(framework_keys)
    return tuple(f"{_listed(keys)}: {reason}" for reason, keys in by_reason.items())


# -- log levels of the `quarkus:` section ----------------------------------------------------

QUARKUS_LEVEL_ENV = "QUARKUS_LOG_LEVEL"
QUARKUS_APP_LEVEL_ENV = "QUARKUS_LOG_CATEGORY__US_ULLBERG__LEVEL"
# JBoss Logging's level names (which Quarkus takes) -> Python's
LEVELS = {
    "OFF": "CRITICAL",
    "FATAL": "CRITICAL",
    "SEVERE": "ERROR",
    "ERROR": "ERROR",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "INFO": "INFO",
    "CONFIG": "INFO",
    "DEBUG": "DEBUG",
    "FINE": "DEBUG",
    "FINER": "DEBUG",
    "FINEST": "DEBUG",
    "TRACE": "DEBUG",
    "ALL": "DEBUG",
}


def _get(tree: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _log_levels(
    framework: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """{"root": ..., "app": ...} from quarkus.log.level and quarkus.log.category."us.ullberg"
    .level (the environment wins, as in Quarkus), and the problems."""
    levels: dict[str, str] = {}
    problems: list[str] = []
    for name, path, env in (
        ("root", QUARKUS_LOG_LEVEL, QUARKUS_LEVEL_ENV),
        ("app", QUARKUS_APP_LOG_LEVEL, QUARKUS_APP_LEVEL_ENV),
    ):
        value = environ.get(env, _get(framework, path))
        if value is None:
            continue
        where = env if env in environ else "quarkus." + _dotted(path)
        level = LEVELS.get(str(value).strip().upper()) if isinstance(value, str) else None
        if level is None:
            problems.append(
                f"{where}: {str(value)[:40]!r} is not a log level; use one of "
                "ERROR, WARN, INFO, DEBUG, TRACE"
            )
        else:
            levels[name] = level
    return levels, problems


# -- the environment -------------------------------------------------------------------------

# STARTPUNKT_* variables that are not settings: this program's own, and the service links
# Kubernetes injects for a Service named startpunkt or startpunkt-<something>.
OWN_ENV = frozenset({CONFIG_ENV, "STARTPUNKT_LOG_LEVEL", "STARTPUNKT_DEFAULT_CONFIG"})
_SERVICE_LINK = re.compile(
    r"^STARTPUNKT(_[A-Z0-9_]+?)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT"
    r"(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$"
)
_REMOTE_ENV = re.compile(r"^STARTPUNKT_CLUSTERS_REMOTE_(\d{1,3})__([A-Z_]+)$")
_REMOTE_FIELDS = {"NAME": "name", "GRAPHQL_URL": "graphql-url", "ENABLED": "enabled"}
_REMOTE_FIELDS |= {"GRAPHQL_TOKEN": "graphql-token", "TOKEN": "graphql-token"}
_SECTIONS = frozenset(path[1].upper() for path in ENV_KEYS.values() if len(path) > 2)


def _indexed_env(root: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    """`STARTPUNKT_CLUSTERS_REMOTE_0__GRAPHQL_URL`: Quarkus' name for
    `startpunkt.clusters.remote[0].graphql-url`, merged into the file's list."""
    problems: list[str] = []
    for name in sorted(environ):
        if not (match := _REMOTE_ENV.match(name)):
            continue
        index, key = int(match.group(1)), _REMOTE_FIELDS.get(match.group(2))
        if key is None:
            problems.append(f"{name}: unknown setting; a remote cluster has {_remote_names()}")
            continue
        if index >= REMOTE_CLUSTER_LIMIT:
            problems.append(f"{name}: at most {REMOTE_CLUSTER_LIMIT} remote clusters")
            continue
        clusters = root.setdefault("clusters", {})
        remote = clusters.setdefault("remote", []) if isinstance(clusters, dict) else None
        if not isinstance(remote, list):
            continue  # the file's wrong type is reported by validation
        while len(remote) <= index:
            remote.append({})
        if isinstance(remote[index], dict):
            remote[index][key] = environ[name]
    return problems


def _remote_names() -> str:
    return ", ".join(f"STARTPUNKT_CLUSTERS_REMOTE_<n>__{k}" for k in _REMOTE_FIELDS)


def _unknown_env(environ: Mapping[str, str]) -> list[str]:
    """A STARTPUNKT_* variable that looks like a setting but is none is an error, like an
    unknown key in the file: a typo must not be silently ignored. Service links, this
    program's own variables and names that look like no setting at all are left alone."""
    problems: list[str] = []
    for name in sorted(environ):
        if (
            not name.startswith("STARTPUNKT_")
            or name in ENV_KEYS
            or name in OWN_ENV
            or _REMOTE_ENV.match(name)
            or _SERVICE_LINK.match(name)
        ):
            continue
        section = name.removeprefix("STARTPUNKT_").split("_", 1)[0]
        close = difflib.get_close_matches(name, ENV_KEYS, n=1, cutoff=0.9)
        if section in _SECTIONS or close:
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"{name}: unknown setting in the environment{hint}")
    return problems


# -- Homepage's substitutions ----------------------------------------------------------------

HOMEPAGE_VAR = "HOMEPAGE_VAR_"
HOMEPAGE_FILE = "HOMEPAGE_FILE_"
SUBSTITUTION_LIMIT = 64 * 1024  # bytes of one file
SUBSTITUTION_FILES = 256


def homepage_substitutions(environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """`{{HOMEPAGE_VAR_X}}` -> $HOMEPAGE_VAR_X and `{{HOMEPAGE_FILE_X}}` -> the contents of the
    file named by $HOMEPAGE_FILE_X (a mounted Secret, say; one final line break dropped), as
    Homepage substitutes them in `gethomepage.dev/*` values. Read once, here, so the mapping of
    objects stays free of I/O. An unreadable file is a problem (exit 2), not a silent blank."""
    values: dict[str, str] = {}
    problems: list[str] = []
    files = 0
    for name in sorted(environ):
        if name.startswith(HOMEPAGE_VAR) and len(name) > len(HOMEPAGE_VAR):
            values[name] = environ[name]
        elif name.startswith(HOMEPAGE_FILE) and len(name) > len(HOMEPAGE_FILE):
            files += 1
            if files > SUBSTITUTION_FILES:
                problems.append(f"{name}: more than {SUBSTITUTION_FILES} HOMEPAGE_FILE_ variables")
                continue
            try:
                values[name] = _small_file(Path(environ[name]))
            except (OSError, ValueError) as e:
                problems.append(f"{name}: cannot read {environ[name]!r} ({_why(e)})")
    return values, problems


def _small_file(path: Path) -> str:
    with path.open("rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError("not a regular file")
        data = handle.read(SUBSTITUTION_LIMIT + 1)
    if len(data) > SUBSTITUTION_LIMIT:
        raise ValueError(f"larger than {SUBSTITUTION_LIMIT // 1024} KiB")
    text = data.decode("utf-8")
    return text[:-1] if text.endswith("\n") else text


def _why(error: OSError | ValueError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error)
