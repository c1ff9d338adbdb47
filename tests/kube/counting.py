"""Which requests through the proxy were API discovery reads, for the idle-cost figures."""

from __future__ import annotations

from tests.kube.faultproxy import FaultProxy


def is_discovery(path: str) -> bool:
    """`/api`, `/api/v1`, `/apis`, `/apis/<group>` and `/apis/<group>/<version>`: discovery
    documents, as opposed to collections and objects."""
    parts = path.strip("/").split("/")
    return (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3)


def discovery_reads(proxy: FaultProxy, since: float = 0.0) -> list[str]:
    """Paths of the discovery GETs the proxy forwarded at or after loop time `since`."""
    return [
        path
        for at, path, watch in proxy.faults.requests
        if at >= since and not watch and is_discovery(path)
    ]
