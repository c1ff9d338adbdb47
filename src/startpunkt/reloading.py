"""Follows the configuration file while Startpunkt runs.

A ConfigMap edit reaches the mounted file within a minute or so; the parts of it that only
change how objects are shown (titles, theme, language, which objects count as annotated, the
ingress class filter) apply at once: every object is mapped again, the differences go out as
ordinary app events, and open pages receive CONFIG_CHANGED and reload. Parts that decide what
is watched or probed (namespaces, which sources run, watch, availability, realtime) need new
connections, so they are reported as waiting for a restart and the running values stay.

An edit that does not validate (or is not UTF-8, nested too deeply, too large) is reported and
changes nothing; the file is read and parsed in a worker thread, so a large one never stalls
the page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from startpunkt import config
from startpunkt.config import Settings

log = logging.getLogger(__name__)

# whole sections that decide what runs
RESTART_SECTIONS = (
    "namespace_selector",
    "watch",
    "availability",
    "realtime",
    "status",
    "leader_election",
    "websocket",
    "manifests",
    "clusters",
    # who is believed decides the server's own set-up (proxy headers, the operator port), and
    # open streams keep the viewer they connected as
    "access",
)
# sections whose `enabled` flag starts or stops a source (the rest of them applies live)
SOURCE_SWITCHES = (
    ("ingress",),
    ("openshift",),
    ("hajimari",),
    ("istio", "virtualservice"),
    ("gatewayapi", "httproute"),
)


def _get(settings: Settings, path: tuple[str, ...]) -> object:
    node: object = settings
    for part in path:
        node = getattr(node, part)
    return node


def _with(settings: Settings, path: tuple[str, ...], value: object) -> Settings:
    """`settings` with the value at `path` replaced (the models are frozen)."""
    if len(path) == 1:
        return settings.model_copy(update={path[0]: value})
    parent = getattr(settings, path[0])
    return settings.model_copy(update={path[0]: _with(parent, path[1:], value)})


def split(running: Settings, wanted: Settings) -> tuple[Settings, list[str]]:
    """The settings to apply now, and the changed keys that wait for a restart."""
    applied = wanted
    waiting: list[str] = []
    paths = [(name,) for name in RESTART_SECTIONS] + [(*p, "enabled") for p in SOURCE_SWITCHES]
    for path in paths:
        if _get(running, path) != _get(wanted, path):
            waiting.append(".".join(path))
            applied = _with(applied, path, _get(running, path))
    return applied, waiting


def changed_sections(before: Settings, after: Settings) -> list[str]:
    return [name for name in Settings.model_fields if getattr(before, name) != getattr(after, name)]


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


class ConfigFollower:
    def __init__(
        self,
        path: Path,
        settings: Settings,
        *,
        apply: Callable[[Settings, list[str]], None],
        poll_interval: float = 2.0,
    ) -> None:
        self._path = path
        self._running = settings
        self._apply = apply
        self._poll = poll_interval
        self._stamp = _stamp(path)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            stamp = _stamp(self._path)
            if stamp is None or stamp == self._stamp:
                continue
            self._stamp = stamp
            self._use(await asyncio.to_thread(self._read))

    def reload(self) -> None:
        """Reads the file again and applies what it changes, in the calling thread."""
        self._use(self._read())

    def _read(self) -> Settings | None:
        try:
            return config.load(self._path)
        except config.ConfigError as e:
            log.error("%s: %s\nKeeping the configuration in use.", self._path, e)
            return None

    def _use(self, wanted: Settings | None) -> None:
        if wanted is None:
            return
        applied, waiting = split(self._running, wanted)
        if waiting:
            log.warning(
                "%s changed %s; these take effect after a restart", self._path, ", ".join(waiting)
            )
        changed = changed_sections(self._running, applied)
        if not changed:
            return
        log.info("Configuration reloaded from %s: %s", self._path, ", ".join(changed))
        self._running = applied
        self._apply(applied, changed)
