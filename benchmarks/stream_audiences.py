"""Event fan-out per audience: what it costs to send each change to many clients in many
audiences (access configured), against the same clients with access off.

    .venv/bin/python -m benchmarks.stream_audiences [--apps 2000] [--writes 200]

In-process: a Store with the real Startpunkt mappers, the Hub, and `clients` subscriptions with
a sink (the direct-write path every stream uses while it keeps up), so what is measured is the
hub's work and nothing of the kernel's. Each write changes one app; every fifth moves it to
another group. Printed per (clients, audiences): microseconds per write, and how many wire
chunks were built per write (`encodes`): with access on that number follows the audiences,
not the clients. Streams with the same audience share one filtering per batch; viewers whose
groups differ only in groups no item names share the encoding but are filtered each.

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from startpunkt.access import OPEN, Policy, audience
from startpunkt.config import Access, Settings
from startpunkt.events import Batch, Hub
from startpunkt.runtime import build_store

SOURCE = "startpunkt-application"


def app(i: int, group: str, info: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"name": f"App {i}", "group": "Tools", "url": f"https://a{i}.example"}
    if group:
        spec["groups"] = [group]
    if info:
        spec["info"] = info
    return {
        "apiVersion": "startpunkt.ullberg.us/v1alpha4",
        "kind": "Application",
        "metadata": {"namespace": "default", "name": f"app-{i}"},
        "spec": spec,
    }


async def run(
    apps: int, writes: int, clients: int, audiences: int, access: bool, unique: bool = False
) -> str:
    settings = Settings()
    store = build_store(settings)
    groups = [f"team{g}" for g in range(10)]
    for i in range(apps):
        store.apply(SOURCE, "ADDED", app(i, groups[i % 10] if i % 3 else ""))
    hub = Hub(store, client_queue=100_000, max_clients=clients + 1)
    policy = (
        Policy.of(Access.model_validate({"proxy": {"trustedProxies": ["127.0.0.1"]}}))
        if access
        else OPEN
    )
    taken = 0

    def sink(chunk: bytes) -> bool:
        nonlocal taken
        taken += 1
        return True

    for c in range(clients):
        # with `unique`, viewers of one audience also differ in a group no item names
        extra = [f"club{c}"] if unique else []
        viewer = policy.viewer(f"user{c}", [groups[c % audiences], *extra])
        sub = hub.connect(None, None, audience(viewer, policy), policy)
        sub.sink = sink
    rng = random.Random(1)
    built = Batch.built
    started = time.perf_counter()
    for w in range(writes):
        i = rng.randrange(apps)
        group = groups[rng.randrange(10)] if w % 5 == 0 else (groups[i % 10] if i % 3 else "")
        store.apply(SOURCE, "MODIFIED", app(i, group, info=f"write {w}"))
        await asyncio.sleep(0)  # the hub sends each loop iteration's batch
    elapsed = time.perf_counter() - started
    encodes = (Batch.built - built) / writes
    mode = f"{audiences:>2} audiences" if access else "access off  "
    mode += ", each viewer with an extra group of their own" if unique else ""
    return (
        f"{clients:>5} clients, {mode}: {elapsed / writes * 1e6:8.0f} us/write, "
        f"{encodes:5.2f} encodes/write, {taken / writes:7.1f} deliveries/write"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    print(f"apps: {args.apps}, writes: {args.writes} (one app each; every fifth changes group)")
    for clients in (100, 1000, 5000):
        print(asyncio.run(run(args.apps, args.writes, clients, 1, access=False)))
        for audiences in (1, 10):
            print(asyncio.run(run(args.apps, args.writes, clients, audiences, access=True)))
        print(asyncio.run(run(args.apps, args.writes, clients, 10, access=True, unique=True)))


if __name__ == "__main__":
    main()
