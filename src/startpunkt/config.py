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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

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

from startpunkt import originals, safeyaml

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
    """`60s`, `5m`, `1h`, `500ms`, a bare number of seconds, or ISO-8601 (`PT1M30S`) -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 60s, 5m or 500ms")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    elif isinstance(value, str) and (iso := originals.iso_duration(value)) is not None:
        seconds = iso  # Quarkus' other form, which the original's files may use
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


_HOST_PATTERN = re.compile(r"\*|(\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,252})|\[[0-9A-Fa-f:.]+\]")


def _default_accepted() -> tuple[int, ...]:
    """The original's verdict: 2xx, 3xx and every 4xx but 404 mean the server answers."""
    return (*range(200, 404), *range(405, 500))


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
        return originals.map_originals_backoff(data)

    # hosts a healthUrl (or a redirect) may lead to besides the app's own: `*`, `*.svc`, exact
    health_url_hosts: StrList = ()
    # statusCode, latencyMs and error texts in the API, the stream and the page; off, anyone
    # who can create an Application could learn what answers inside the cluster network
    publish_details: bool = False

    @field_validator("health_url_hosts")
    @classmethod
    def _hosts_are_patterns(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        bad = [h for h in hosts if not _HOST_PATTERN.fullmatch(h)]
        if bad:
            raise ValueError(f"{bad}: use host names, `*.example.com` or `*`")
        return hosts

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


class LeaderElection(Section):
    """Several replicas: one holds a coordination.k8s.io Lease and alone probes, writes
    `.status` and publishes availability; the others follow. The durations mean what they
    mean in client-go, whose defaults they are."""

    enabled: bool = True
    lease_name: str = Field(default="startpunkt", pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    # empty: POD_NAMESPACE, else the kubeconfig context's or the service account's namespace
    namespace: str = Field(default="", pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$")
    lease_duration: PositiveDuration = 15.0
    renew_deadline: PositiveDuration = 10.0
    retry_period: PositiveDuration = 2.0

    @model_validator(mode="after")
    def _durations_nest(self) -> LeaderElection:
        # as client-go insists: a leader gives up before its lease can expire for the others,
        # and tries more than once before giving up
        if not self.lease_duration > self.renew_deadline > self.retry_period * 1.2:
            raise ValueError(
                "needs leaseDuration > renewDeadline > 1.2 x retryPeriod "
                f"(got {self.lease_duration:g}s, {self.renew_deadline:g}s, "
                f"{self.retry_period:g}s); the defaults are 15s, 10s and 2s"
            )
        return self


class Realtime(Section):
    enabled: bool = True
    heartbeat_interval: PositiveDuration = 30.0
    replay_buffer: int = Field(default=2048, ge=16, le=REPLAY_BUFFER_LIMIT)
    client_queue: int = Field(default=512, ge=8)
    max_connections: int = Field(default=10000, ge=1)
    event_debounce_ms: int = Field(default=0, ge=0)  # the original's; accepted and ignored


class ServerLimits(Section):
    """Connection limits of the HTTP server, read at start (a reload does not change them)."""

    header_timeout: PositiveDuration = 10.0  # until the request headers are complete
    max_header_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    keep_alive_timeout: PositiveDuration = 5.0  # an idle connection between requests
    # further capped by the open-files limit, keeping some for watches and probes
    max_connections: int = Field(default=11000, ge=1)


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


def _http_url(value: str) -> str:
    """An absolute http(s) URL, as written (or empty: none); the page links to it."""
    if value == "":
        return value
    parts = urlsplit(value)
    if value != value.strip() or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "must be an absolute http or https URL, such as https://duckduckgo.com/?q="
        )
    return value


class Web(Section):
    title: str = "Startpunkt"
    refresh_interval: int = Field(default=60, ge=0)
    github_link: GithubLink = GithubLink()
    check_for_updates: bool = False  # the original's; /api/config always says false
    search_engine: str = "https://duckduckgo.com/?q="
    theme: Theme = Theme()
    show_all_on_root: bool = True  # the original showed only untagged apps on `/`
    # the original's multi-cluster view: false shows the local cluster until a visitor picks more
    default_show_all_clusters: bool = False
    icons: WebIcons = WebIcons()

    @field_validator("search_engine")
    @classmethod
    def _search_engine_is_http(cls, value: str) -> str:
        return _http_url(value)


class HomepageDialect(Section):
    """Homepage's `gethomepage.dev/instance` and `instance.<name>` annotations restrict an object
    to the Homepage instance of that name; this is the name Startpunkt answers to."""

    instance_name: str = Field(default="", max_length=253)


# shown on the page and part of item keys: any text but `:` and `/`, which keys use
CLUSTER_NAME = r"^[^:/\x00-\x1f]{1,63}$"


class LocalCluster(Section):
    """The usual connection: in-cluster, or --kubeconfig / KUBECONFIG."""

    enabled: bool = True
    name: str = Field(default="local", pattern=CLUSTER_NAME)


class SecretKey(Section):
    """A key of a Secret in the local cluster that holds a kubeconfig."""

    namespace: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    key: str = Field(default="kubeconfig", pattern=r"^[-._a-zA-Z0-9]{1,253}$")


class KubeconfigCluster(Section):
    """Another cluster, watched directly with the credentials of a kubeconfig."""

    name: str = Field(pattern=CLUSTER_NAME)
    kubeconfig: Path | None = None
    secret: SecretKey | None = None
    context: str | None = None
    # an exec plugin in a Secret-held kubeconfig runs a command whoever can write the Secret
    # chose; a file's plugins are run, as kubectl would
    allow_exec: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> KubeconfigCluster:
        if (self.kubeconfig is None) == (self.secret is None):
            raise ValueError(
                "give either `kubeconfig: /path/to/file` or `secret: {namespace, name, key}`"
            )
        return self


class RemoteCluster(Section):
    """Another Startpunkt instance, followed over its REST API and event stream. The original's
    `graphql-url` is read so its files load; such an entry is reported and skipped."""

    name: str = Field(pattern=CLUSTER_NAME)
    url: str | None = None
    token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("token", "graphql-token")
    )
    enabled: bool = True
    graphql_url: str | None = Field(default=None, alias="graphql-url")
    # no bytes at all (not even a heartbeat) for this long means the link is dead
    read_timeout: PositiveDuration = 90.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        url = url.strip().rstrip("/")
        if not re.match(r"^https?://[^\s/]+", url):
            raise ValueError(
                "must be the http(s) URL of another Startpunkt, e.g. https://start.example"
            )
        return url


class Clusters(Section):
    local: LocalCluster = LocalCluster()
    kubeconfigs: tuple[KubeconfigCluster, ...] = Field(default=(), max_length=REMOTE_CLUSTER_LIMIT)
    remote: tuple[RemoteCluster, ...] = Field(default=(), max_length=REMOTE_CLUSTER_LIMIT)

    @model_validator(mode="after")
    def _names_unique(self) -> Clusters:
        names = [self.local.name, *(c.name for c in self.kubeconfigs)]
        names += [c.name for c in self.remote]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"cluster names must be unique; {', '.join(dupes)} is used twice")
        return self


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


class ManifestsLimits(Section):
    """`serve --manifests DIR`: a file beyond these is reported and skipped."""

    max_file_bytes: int = Field(default=1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    # values (scalars, lists, mappings) per file after YAML aliases are expanded
    max_nodes: int = Field(default=250_000, ge=1000, le=50_000_000)


class UrlFrom(Section):
    """`spec.urlFrom` may read objects in the Application's own namespace, and in these
    (`"*"`: any namespace). Empty by default, so nobody publishes another namespace's data."""

    allowed_namespaces: StrList = ()


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
    leader_election: LeaderElection = LeaderElection()
    server: ServerLimits = ServerLimits()
    websocket: LegacyWebsocket | None = None
    web: Web = Web()
    manifests: ManifestsLimits = ManifestsLimits()
    url_from: UrlFrom = UrlFrom()
    homepage: HomepageDialect = HomepageDialect()
    clusters: Clusters = Clusters()
    # keys of the original without a meaning here: accepted, typed, and logged as such
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
            continue  # lists of sections (clusters.remote) take indexed names (indexed_env)
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


# the configuration file and what it may contain; a real one is a few kilobytes
FILE_LIMITS = safeyaml.Limits(max_bytes=1024 * 1024, max_nodes=100_000, max_depth=50)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = safeyaml.load_file(path, FILE_LIMITS)
    except OSError as e:
        raise ConfigError(
            [f"{path}: cannot read the configuration file ({e.strerror or e})"]
        ) from e
    except safeyaml.YamlError as e:
        what = f"not valid YAML at {e}" if e.line else f"cannot use the configuration file: {e}"
        raise ConfigError([f"{path}: {what}"]) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with the root key `startpunkt:`"])
    return data


def _not_text(name: str, value: str) -> str | None:
    """A problem for an environment value that is not UTF-8 (Python keeps such bytes as lone
    surrogates, which would fail much later, wherever the value is first written out)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{name}: the environment value is not UTF-8 text; set it again as UTF-8"
    return None


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
    unknown_roots = sorted(k for k in tree if k not in originals.ROOT_KEYS)
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
            if bad := _not_text(name, raw):
                problems.append(bad)
                continue
            # kept as text: validation converts "false", "90s", "a,b" like any file value
            _set_path({"startpunkt": root}, ENV_KEYS[name], raw)
    problems += originals.indexed_env(root, environ, REMOTE_CLUSTER_LIMIT)
    problems += originals.unknown_env(environ, ENV_KEYS)
    levels, level_problems = originals.log_levels(framework, environ)
    problems += level_problems
    substitutions, substitution_problems = originals.homepage_substitutions(environ)
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
        ignored=originals.ignored_keys(root, framework, environ),
        log_level=levels.get("root"),
        app_log_level=levels.get("app"),
        substitutions=substitutions,
    )


@dataclass(frozen=True, slots=True)
class Loaded:
    settings: Settings
    ignored: tuple[str, ...] = ()  # one line per reason, naming the keys
    log_level: str | None = None  # quarkus.log.level, as a Python level name
    app_log_level: str | None = None  # quarkus.log.category."us.ullberg".level
    substitutions: Mapping[str, str] = field(default_factory=dict)
