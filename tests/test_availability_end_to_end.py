"""Availability as a user sees it: a real app server, real EndpointSlices, a real event stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving import Served
from tests.waiting import wait_until

NAMESPACE = "avail"


class _Handler(BaseHTTPRequestHandler):
    status = 200

    def do_HEAD(self) -> None:
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def app_server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()


def ingress(url: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "shop",
            "namespace": NAMESPACE,
            "annotations": {
                "startpunkt.ullberg.us/enable": "true",
                "startpunkt.ullberg.us/appName": "Shop",
                "startpunkt.ullberg.us/url": url,
            },
        },
        "spec": {
            "rules": [
                {
                    "host": "shop.lab.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "shop", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }


def slice_of(ready: list[bool]) -> dict[str, Any]:
    # Kubernetes 1.20 serves EndpointSlices as discovery.k8s.io/v1beta1; no controller runs in
    # the test cluster, so the test writes them as the endpoint controller would
    return {
        "apiVersion": "discovery.k8s.io/v1beta1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "shop-abc",
            "namespace": NAMESPACE,
            "labels": {"kubernetes.io/service-name": "shop"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [f"10.1.0.{i + 1}"], "conditions": {"ready": r}}
            for i, r in enumerate(ready)
        ],
    }


def shop(base: str) -> dict[str, Any]:
    groups = httpx.get(f"{base}/api/apps", timeout=5).json()["groups"]
    return next(a for g in groups for a in g["applications"] if a["name"] == "Shop")


@pytest.mark.cluster
def test_probes_and_endpoint_readiness_reach_the_api_and_the_stream(
    make_kube_cluster, app_server, tmp_path: Path
) -> None:
    url, handler = app_server
    cluster = make_kube_cluster()
    cluster.api.create_namespace(NAMESPACE)
    cluster.api.apply([ingress(url), slice_of([True, True])])
    config = tmp_path / "startpunkt.yaml"
    config.write_text(
        "startpunkt:\n  availability: {interval: 500ms, timeout: 2, publishDetails: true}\n"
        "  realtime: {heartbeatInterval: 1s}\n"
    )
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    events: list[dict[str, Any]] = []

    with Served(["--kubeconfig", str(kubeconfig), "--config", str(config)], tmp_path / "log") as s:
        wait_until(lambda: httpx.get(s.url + "/readyz").status_code == 200)
        first = shop(s.url)
        assert first["status"] in ("unknown", "up")  # never up before a probe answered
        if first["status"] == "unknown":
            assert first["available"] is None

        def listen() -> None:
            with httpx.stream("GET", s.url + "/api/updates/stream", timeout=30) as response:
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        events.append(json.loads(line.removeprefix("data:")))

        threading.Thread(target=listen, daemon=True).start()
        wait_until(lambda: shop(s.url)["status"] == "up", what="up")
        assert shop(s.url)["available"] is True
        assert shop(s.url)["statusCode"] == 200

        cluster.api.apply(slice_of([True, False]))
        wait_until(lambda: shop(s.url)["status"] == "degraded", what="degraded")

        cluster.api.apply(slice_of([]))
        wait_until(lambda: shop(s.url)["status"] == "scaled-to-zero", what="scaled to zero")

        cluster.api.apply(slice_of([True]))
        handler.status = 503
        wait_until(lambda: shop(s.url)["status"] == "down", what="down")
        assert shop(s.url)["url"] == url  # a down app keeps its link
        assert shop(s.url)["available"] is False

        wait_until(
            lambda: (
                [e["data"]["status"] for e in events if e["type"] == "STATUS_CHANGED"][-1:]
                == ["down"]
            ),
            what="STATUS_CHANGED on the stream",
        )
        metrics = httpx.get(s.url + "/metrics").text
        assert (
            'startpunkt_app_up{group="avail",key="ingress/avail/shop",name="Shop"} 0.0' in metrics
        )
