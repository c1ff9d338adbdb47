"""Startpunkt writes what it made of its own objects into their `.status`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from startpunkt.kube.reporting import desired_status
from startpunkt.model import (
    Application,
    Availability,
    ObjectRef,
    Outcome,
    State,
)
from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served
from tests.waiting import wait_until

REF = ObjectRef("Startpunkt Application", "apps", "wiki")
APP = Application(
    key="startpunkt-application/apps/wiki",
    name="Wiki",
    group="Docs",
    url="https://wiki.example",
    source="startpunkt-application",
    namespace="apps",
    resource_name="wiki",
)
OBJ: dict[str, Any] = {"metadata": {"name": "wiki", "namespace": "apps", "generation": 3}}


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_a_shown_app_reports_its_url_and_availability() -> None:
    up = Availability(State.UP, 200, 12.0, 1_800_000_000.0)
    status = desired_status(OBJ, Outcome.shown(REF, APP), availability=up, now=1_800_000_100.0)
    assert status["url"] == "https://wiki.example"
    assert status["available"] is True
    assert status["lastChecked"] == "2027-01-15T08:00:00.000Z"
    assert status["observedGeneration"] == 3
    shown, available = conditions(status)["Shown"], conditions(status)["Available"]
    assert (shown["status"], shown["reason"]) == ("True", "Shown")
    assert (available["status"], available["reason"], available["message"]) == (
        "True",
        "Up",
        "HTTP 200",
    )


def test_a_hidden_app_says_why_and_keeps_its_derived_url() -> None:
    outcome = Outcome.hidden(REF, "spec.enabled is false", APP)
    status = desired_status(OBJ, outcome, availability=Availability(), now=0.0)
    shown = conditions(status)["Shown"]
    assert (shown["status"], shown["reason"], shown["message"]) == (
        "False",
        "Hidden",
        "spec.enabled is false",
    )
    assert status["url"] == "https://wiki.example"
    assert status["available"] is None  # unknown is no value, never "up"
    assert conditions(status)["Available"]["status"] == "Unknown"


def test_a_rejected_object_names_the_error() -> None:
    status = desired_status(
        OBJ, Outcome.rejected(REF, "spec.location 'x'"), availability=None, now=0.0
    )
    shown = conditions(status)["Shown"]
    assert (shown["status"], shown["reason"]) == ("False", "Rejected")
    assert "Available" not in conditions(status)


def test_transition_times_move_only_when_a_condition_changes() -> None:
    up = Availability(State.UP, 200, 5.0, 100.0)
    first = desired_status(OBJ, Outcome.shown(REF, APP), availability=up, now=100.0)
    again = desired_status(
        {**OBJ, "status": first}, Outcome.shown(REF, APP), availability=up, now=200.0
    )
    assert (
        conditions(again)["Available"]["lastTransitionTime"]
        == (conditions(first)["Available"]["lastTransitionTime"])
    )
    down = Availability(State.DOWN, 503, 5.0, 300.0)
    later = desired_status(
        {**OBJ, "status": again}, Outcome.shown(REF, APP), availability=down, now=300.0
    )
    assert (
        conditions(later)["Available"]["lastTransitionTime"]
        != (conditions(again)["Available"]["lastTransitionTime"])
    )
    assert (
        conditions(later)["Shown"]["lastTransitionTime"]
        == (conditions(first)["Shown"]["lastTransitionTime"])
    )


class _Ok(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def app_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.cluster
def test_kubectl_sees_availability_and_why_an_app_is_hidden(
    crd_cluster: KubeCluster, kube_namespace: str, app_server: str, tmp_path: Path
) -> None:
    api = crd_cluster.api
    api.post(app_path(kube_namespace), application("up", kube_namespace, url=app_server))
    api.post(app_path(kube_namespace), application("off", kube_namespace, enabled=False))
    config = tmp_path / "startpunkt.yaml"
    config.write_text(
        "startpunkt:\n  availability: {interval: 1s}\n"
        f"  namespaceSelector: {{any: false, matchNames: [{kube_namespace}]}}\n"
    )
    kubeconfig = crd_cluster.write_kubeconfig(tmp_path / "kubeconfig")

    def status(name: str) -> dict[str, Any]:
        return dict(api.get(app_path(kube_namespace, name)).get("status") or {})

    args = ["--kubeconfig", str(kubeconfig), "--config", str(config)]
    with Served(args, tmp_path / "log"):
        wait_until(lambda: status("up").get("available") is True, what="available in .status")
        written = status("up")
        assert written["url"] == app_server
        assert written["lastChecked"].endswith("Z")
        assert conditions(written)["Shown"]["status"] == "True"
        wait_until(lambda: "conditions" in status("off"), what="the hidden app's status")
        shown = conditions(status("off"))["Shown"]
        assert (shown["status"], shown["reason"]) == ("False", "Hidden")
        assert "enabled" in shown["message"]

        # a written status arrives back as a watch event and must not be written again
        version = api.get(app_path(kube_namespace, "up"))["metadata"]["resourceVersion"]
        later_url = app_server + "later"  # its own link: the same one would be a duplicate
        api.post(app_path(kube_namespace), application("later", kube_namespace, url=later_url))
        wait_until(lambda: status("later").get("available") is True, what="a later write")
        assert api.get(app_path(kube_namespace, "up"))["metadata"]["resourceVersion"] == version
