"""Clusters watched directly, besides the local one: each with its own connection, reflectors,
discovery, backoff and health, all in one store under the cluster's name.

A cluster's credentials come from a kubeconfig file, or from a Secret in the local cluster that
is followed with a narrow watch (GET, then WATCH with `metadata.name=`: a Role with get and watch
on that one Secret is enough), so a rotated credential applies without a restart: the cluster's
watchers are started again with it, and the relisting changes nothing a page sees unless the
cluster's objects changed meanwhile.

`supervise` turns the reflectors' health into the cluster's state every half second: synced
while every reflector is; stale (its items kept and marked) once it was synced and a reflector
is reconnecting or the credentials stopped working.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from startpunkt.clusters import Clusters, ClusterState, ClusterStatus
from startpunkt.config import KubeconfigCluster, Settings
from startpunkt.kube.api import TRANSIENT, Api, ApiError, JSONObject
from startpunkt.kube.connection import (
    Connection,
    ConnectionConfigError,
    from_kubeconfig,
    from_kubeconfig_text,
)
from startpunkt.kube.reflector import Backoff
from startpunkt.kube.supervising import Watchers
from startpunkt.shapes.status import ReflectorState
from startpunkt.store import Store

log = logging.getLogger(__name__)

SUPERVISE_INTERVAL = 0.5
CLIENT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def cluster_state(watchers: Watchers) -> tuple[ClusterState, str | None]:
    """The state of a cluster from its reflectors' health, and the first error to show."""
    statuses = [r.status for r in watchers.reflectors]
    error = next((s.last_error for s in statuses if s.last_error), None)
    if any(s.state is ReflectorState.RECONNECTING for s in statuses):
        return ClusterState.STALE, error
    settled = (ReflectorState.ABSENT, ReflectorState.FORBIDDEN)
    if statuses and all(s.synced_once or s.state in settled for s in statuses):
        if any(s.synced_once for s in statuses):
            return ClusterState.SYNCED, None
        if any(s.state is ReflectorState.FORBIDDEN for s in statuses):
            return ClusterState.UNUSABLE, error
    return ClusterState.SYNCING, error


def was_synced(watchers: Watchers) -> bool:
    """Every reflector has listed once (or has nothing to list): the cluster was in sync."""
    statuses = [r.status for r in watchers.reflectors]
    settled = (ReflectorState.ABSENT, ReflectorState.FORBIDDEN)
    return any(s.synced_once for s in statuses) and all(
        s.synced_once or s.state in settled for s in statuses
    )


def report(watchers: Watchers, clusters: Clusters, key: str) -> None:
    """Tells `clusters` how the cluster of `watchers` is doing now."""
    state, error = cluster_state(watchers)
    status = clusters.get(key)
    missed = state is not ClusterState.SYNCED and status is not None and not status.synced_once
    if missed and was_synced(watchers):  # in sync and gone again between two looks
        clusters.report(key, ClusterState.SYNCED)
    clusters.report(key, state, error)


async def supervise(watchers: Watchers, clusters: Clusters, key: str) -> None:
    """Reports the cluster's state until cancelled."""
    while True:
        report(watchers, clusters, key)
        await asyncio.sleep(SUPERVISE_INTERVAL)


class _CredentialsChanged(Exception):
    """The Secret holding the kubeconfig changed: start the watchers again."""


class DirectCluster:
    """One more cluster, watched with its own connection."""

    def __init__(
        self,
        spec: KubeconfigCluster,
        store: Store,
        settings: Settings,
        clusters: Clusters,
        local_api: Api | None,
    ) -> None:
        self.spec = spec
        self._store = store
        self._settings = settings
        self._clusters = clusters
        self._local_api = local_api
        # the API server once connected; no file paths, which /api/sources would publish
        secret = spec.secret
        where = f"Secret {secret.namespace}/{secret.name}" if secret else "kubeconfig file"
        self.status = clusters.add(ClusterStatus(spec.name, "kubeconfig", where))
        self.watchers: Watchers | None = None
        # the Secret's kubeconfig as last read; None until read or while missing
        self._text: bytes | None = None
        self._changed = asyncio.Event()

    @property
    def name(self) -> str:
        return f"cluster {self.spec.name}"

    def statuses(self) -> list[Any]:
        return self.watchers.statuses() if self.watchers else []

    async def run(self) -> None:
        """Watches the cluster until cancelled; bad credentials are reported and waited out."""
        if self.spec.secret is None:
            while True:
                connection = await self._from_file()
                if connection is not None:
                    await self._watch(connection)
                await asyncio.sleep(self._settings.watch.absent_recheck)
        if self._local_api is None:
            self._unusable(
                "a kubeconfig in a Secret is read from the local cluster, and there is none "
                "(serving --manifests); use `kubeconfig: /path/to/file`"
            )
            await asyncio.Event().wait()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow_secret(), name=f"{self.name} Secret")
            while True:
                await self._changed.wait()
                self._changed.clear()
                connection = await self._from_secret()
                if connection is None:
                    continue
                try:
                    await self._watch(connection, until_changed=True)
                except* _CredentialsChanged:
                    log.info("The kubeconfig of cluster %s changed; reconnecting", self.spec.name)

    def _unusable(self, error: str) -> None:
        if self.status.error != error:
            log.error("Cluster %s: %s", self.spec.name, error)
        self._clusters.report(self.status.key, ClusterState.UNUSABLE, error)

    async def _from_file(self) -> Connection | None:
        return self._usable(await asyncio.to_thread(self._load_file))

    async def _from_secret(self) -> Connection | None:
        return self._usable(await asyncio.to_thread(self._load_secret, self._text))

    def _usable(self, loaded: Connection | str) -> Connection | None:
        if isinstance(loaded, str):
            self._unusable(loaded)
            return None
        return loaded

    # Reading and parsing a kubeconfig (up to 16 MiB) runs in a worker thread: these return the
    # connection or the problem, and touch no shared state.

    def _load_file(self) -> Connection | str:
        assert self.spec.kubeconfig is not None
        try:
            return from_kubeconfig([Path(self.spec.kubeconfig)], self.spec.context)
        except FileNotFoundError:
            return f"{self.spec.kubeconfig}: kubeconfig file not found"
        except ConnectionConfigError as e:
            return str(e)

    def _load_secret(self, text: str | bytes | None) -> Connection | str:
        secret = self.spec.secret
        assert secret is not None
        where = f"Secret {secret.namespace}/{secret.name} key {secret.key}"
        if text is None:
            return f"{where}: not found, or the key is missing or not base64"
        try:
            return from_kubeconfig_text(
                text, self.spec.context, source=where, allow_exec=self.spec.allow_exec
            )
        except ConnectionConfigError as e:
            return str(e)

    async def _watch(self, connection: Connection, until_changed: bool = False) -> None:
        """Runs the cluster's watchers with `connection` until the credentials change (or, for
        a file, forever)."""
        log.info("Cluster %s: connecting to %s", self.spec.name, connection.server)
        self.status.where = connection.server
        try:
            client = connection.client(CLIENT_TIMEOUT)
        except (OSError, ValueError) as e:  # unreadable certificates
            self._unusable(f"cannot use its TLS settings ({e})")
            return
        watchers = Watchers(
            Api(client), self._store, self._settings, (self.status.key, self.spec.name)
        )
        self.watchers = watchers
        try:
            async with asyncio.TaskGroup() as group:
                watchers.start(group)
                group.create_task(
                    supervise(watchers, self._clusters, self.status.key),
                    name=f"{self.name} supervisor",
                )
                if until_changed:
                    group.create_task(self._until_changed(), name=f"{self.name} credentials")
        finally:
            # what they reached counts, however soon they were replaced
            report(watchers, self._clusters, self.status.key)
            watchers.detach()
            await client.aclose()

    async def _until_changed(self) -> None:
        await self._changed.wait()
        raise _CredentialsChanged

    def _secret_seen(self, obj: JSONObject | None) -> None:
        secret = self.spec.secret
        assert secret is not None
        text: bytes | None = None
        data = obj.get("data") if obj else None
        raw = data.get(secret.key) if isinstance(data, dict) else None
        if isinstance(raw, str):
            try:
                text = base64.b64decode(raw, validate=True)
            except binascii.Error:
                text = None
        if text != self._text or obj is None:
            self._text = text
            self._changed.set()

    async def _follow_secret(self) -> None:
        """GET the Secret, then WATCH it by name; a 410 or a dropped watch starts over."""
        secret = self.spec.secret
        api = self._local_api
        assert secret is not None
        assert api is not None
        collection = f"/api/v1/namespaces/{secret.namespace}/secrets"
        watch = self._settings.watch
        backoff = Backoff(watch.backoff.initial, watch.backoff.max)
        first = True
        while True:
            try:
                try:
                    obj: JSONObject | None = await api.get(f"{collection}/{secret.name}")
                except ApiError as e:
                    if e.status != 404:
                        raise
                    obj = None
                if obj is not None or first:
                    self._secret_seen(obj)
                first = False
                version = str((obj or {}).get("metadata", {}).get("resourceVersion") or "")
                await self._watch_secret(api, collection, version)
                backoff.reset()
            except ApiError as e:
                if e.status == 403:
                    self._unusable(
                        f"cannot read Secret {secret.namespace}/{secret.name} ({e}); grant get "
                        "and watch on it to Startpunkt's service account"
                    )
                else:
                    log.warning("Following Secret %s/%s: %s", secret.namespace, secret.name, e)
                await asyncio.sleep(backoff.next())
            except TRANSIENT as e:
                log.warning("Following Secret %s/%s: %r", secret.namespace, secret.name, e)
                await asyncio.sleep(backoff.next())

    async def _watch_secret(self, api: Api, collection: str, version: str) -> None:
        secret = self.spec.secret
        assert secret is not None
        watch = self._settings.watch
        params: dict[str, str | int] = {
            "watch": 1,
            "fieldSelector": f"metadata.name={secret.name}",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": max(1, round(watch.timeout * random.uniform(0.9, 1.0))),
        }
        if version:
            params["resourceVersion"] = version
        while True:
            opened_at = time.monotonic()
            async for event in api.watch(collection, params, watch.inactivity_timeout):
                kind, obj = event.get("type"), event.get("object")
                if not isinstance(obj, dict):
                    continue
                if kind == "ERROR":
                    error = ApiError.from_status(obj)
                    if error.gone:
                        return  # GET again
                    raise error
                if rv := (obj.get("metadata") or {}).get("resourceVersion"):
                    params["resourceVersion"] = str(rv)
                if kind in ("ADDED", "MODIFIED"):
                    self._secret_seen(obj)
                elif kind == "DELETED":
                    self._secret_seen(None)
            if time.monotonic() - opened_at < 1.0:
                # a server that ends every watch at once must not be asked again in a hot loop
                await asyncio.sleep(watch.backoff.max)


def direct_clusters(
    settings: Settings, store: Store, clusters: Clusters, local_api: Api | None
) -> list[DirectCluster]:
    return [
        DirectCluster(spec, store, settings, clusters, local_api)
        for spec in settings.clusters.kubeconfigs
        if spec.enabled
    ]


def statuses_of(direct: list[DirectCluster]) -> Callable[[], list[Any]]:
    return lambda: [s for cluster in direct for s in cluster.statuses()]
