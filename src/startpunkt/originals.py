"""What an installation of the original brings along, and how it is read.

Every key any release of the original shipped is accepted. Those with a meaning here are
honoured (availability's backoff, the `quarkus.log` levels); the rest are reported once at
start-up, with the reason, so nobody wonders why a setting does nothing. Environment variables
follow Quarkus' names, including the indexed ones of lists; a STARTPUNKT_* variable that looks
like a setting but is none is an error, like an unknown key in the file. Homepage's
`{{HOMEPAGE_VAR_*}}` and `{{HOMEPAGE_FILE_*}}` values are read here, once, so the mapping of
objects stays free of I/O.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT_KEYS = ("startpunkt", "quarkus")

# key path prefix under `startpunkt:` -> why it has no effect
IGNORED: dict[tuple[str, ...], str] = {
    ("graphql",): "Startpunkt has no GraphQL API; pages follow changes over the event stream",
    ("bingimage",): "the page shows no daily background image, which would be a third-party "
    "request",
    ("websocket", "eventDebounceMs"): "changes are sent at once; a slow client's backlog is "
    "coalesced per item instead",
    ("realtime", "eventDebounceMs"): "changes are sent at once; a slow client's backlog is "
    "coalesced per item instead",
    ("watch", "resyncPeriodSeconds"): "every watch event is applied in place, so there is "
    "nothing to resync",
}
NOT_YET: dict[tuple[str, ...], str] = {}
QUARKUS_REASON = "settings of Quarkus, the original's framework, which Startpunkt does not use"
QUARKUS_LOG_LEVEL = ("log", "level")
QUARKUS_APP_LOG_LEVEL = ("log", "category", "us.ullberg", "level")
_LIST_LIMIT = 20
_DEPTH_LIMIT = 16


def _leaves(node: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    if len(prefix) >= _DEPTH_LIMIT:
        return [prefix]  # deeper than any real key: named by its first levels
    if isinstance(node, dict) and node:
        # `~` is how Quarkus' YAML gives a value to a key that also has children
        return [
            leaf
            for k, v in node.items()
            for leaf in _leaves(v, prefix if k in (None, "~") else (*prefix, str(k)))
        ]
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
    leaves = _leaves(dict(root), ())
    for table, verb in ((IGNORED, "accepted and ignored"), (NOT_YET, "accepted, not used yet")):
        for prefix, reason in table.items():
            if any(leaf[: len(prefix)] == prefix for leaf in leaves):
                key = f"{verb} ({reason})"
                by_reason.setdefault(key, []).append("startpunkt." + _dotted(prefix))
    if graphql := graphql_remotes(root):
        by_reason.setdefault(f"accepted and ignored ({GRAPHQL_REMOTE_REASON})", []).extend(graphql)
    web = root.get("web")
    if isinstance(web, dict) and str(web.get("checkForUpdates", "")).lower() == "true":
        reason = "accepted and ignored (the page never asks for the original's releases, and "
        reason += "/api/config says false)"
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


GRAPHQL_REMOTE_REASON = (
    "other instances are not followed over GraphQL; set `url` to the other Startpunkt's address "
    "to follow it over its REST API and event stream"
)


def graphql_remotes(root: Mapping[str, Any]) -> list[str]:
    """`clusters.remote[n].graphql-url` entries without a `url`: the original's federation."""
    clusters = root.get("clusters")
    remote = clusters.get("remote") if isinstance(clusters, dict) else None
    return [
        f"startpunkt.clusters.remote[{i}].graphql-url"
        for i, entry in enumerate(remote if isinstance(remote, list) else ())
        if isinstance(entry, dict) and entry.get("graphql-url") and not entry.get("url")
    ]


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


def log_levels(
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
OWN_ENV = frozenset({"STARTPUNKT_CONFIG", "STARTPUNKT_LOG_LEVEL", "STARTPUNKT_DEFAULT_CONFIG"})
_SERVICE_LINK = re.compile(
    r"^STARTPUNKT(_[A-Z0-9_]+?)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT"
    r"(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$"
)
_REMOTE_ENV = re.compile(r"^STARTPUNKT_CLUSTERS_REMOTE_(\d{1,3})__([A-Z_]+)$")
_REMOTE_FIELDS = {"NAME": "name", "GRAPHQL_URL": "graphql-url", "ENABLED": "enabled"}
_REMOTE_FIELDS |= {"GRAPHQL_TOKEN": "graphql-token", "TOKEN": "token", "URL": "url"}


def indexed_env(root: dict[str, Any], environ: Mapping[str, str], limit: int) -> list[str]:
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
        if index >= limit:
            problems.append(f"{name}: at most {limit} remote clusters")
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


def unknown_env(environ: Mapping[str, str], known: Mapping[str, tuple[str, ...]]) -> list[str]:
    """A STARTPUNKT_* variable that looks like a setting but is none is an error, like an
    unknown key in the file: a typo must not be silently ignored. Service links, this
    program's own variables and names that look like no setting at all are left alone."""
    sections = {path[1].upper() for path in known.values() if len(path) > 2}
    problems: list[str] = []
    for name in sorted(environ):
        if (
            not name.startswith("STARTPUNKT_")
            or name in known
            or name in OWN_ENV
            or _REMOTE_ENV.match(name)
            or _SERVICE_LINK.match(name)
        ):
            continue
        section = name.removeprefix("STARTPUNKT_").split("_", 1)[0]
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.9)
        if section in sections or close:
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
    # non-blocking, so a FIFO or a device is refused instead of waited on
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as handle:
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


# -- availability's backoff in the original's names -------------------------------------------


def map_originals_backoff(data: Any) -> Any:
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


# -- Quarkus' durations ----------------------------------------------------------------------

_ISO_DURATION = re.compile(
    r"^\s*P(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,9}(?:\.\d{1,9})?)S)?)?\s*$",
    re.IGNORECASE,
)


def iso_duration(text: str) -> float | None:
    """`PT30S`, `PT1M30S`, `P1DT2H` (ISO-8601, which Quarkus accepts) -> seconds, else None."""
    match = _ISO_DURATION.match(text)
    if match is None or not any(match.groups()) or text.strip().upper().endswith("T"):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds
