"""A cluster holding every kind and dialect shows exactly the apps a user expects."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.kubeobjects import install_crds
from tests.serving import Served
from tests.waiting import wait_until

DATA = Path(__file__).parent / "data"

EXPECTED = {
    "Grafana": "https://grafana.lab.example/",
    "Wiki": "https://wiki.lab.example/start",
    "Legacy Tool": "https://legacy.lab.example/Admin?Tab=Main",
    "Jellyfin": "https://jellyfin.lab.example",
    "Sonarr": "https://sonarr.lab.example",
    "minio": "http://minio.lab.example/Console",
    "Paperless": "https://paperless.lab.example",
    "Console": "https://console.apps.lab.example/dashboards",
    "kiali": "https://kiali.lab.example",
    "Homebox": "https://homebox.lab.example:8443/inventory",
    # a location that is no number keeps the app, at the default place
    "bad-location": "http://bad.lab.example",
}


def apps(base: str) -> dict[str, str]:
    body = httpx.get(f"{base}/api/apps", timeout=5).json()
    return {a["name"]: a.get("url") for g in body["groups"] for a in g["applications"]}


@pytest.mark.cluster
def test_every_kind_and_dialect_becomes_the_right_app(make_kube_cluster, tmp_path: Path) -> None:
    cluster = make_kube_cluster()
    install_crds(cluster)
    cluster.api.apply_yaml(DATA / "foreign-crds" / "crds.yaml")
    cluster.api.create_namespace("mixed")
    cluster.api.apply_yaml(DATA / "mixed" / "cluster.yaml")
    config = tmp_path / "startpunkt.yaml"
    config.write_text("startpunkt:\n  availability: {enabled: false}\n")
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")

    with Served(["--kubeconfig", str(kubeconfig), "--config", str(config)], tmp_path / "log") as s:
        wait_until(lambda: httpx.get(s.url + "/readyz").status_code == 200, what="readiness")
        wait_until(lambda: apps(s.url) == EXPECTED, what=f"the expected apps, not {apps(s.url)}")

        marks = httpx.get(s.url + "/api/bookmarks").json()["groups"]
        assert [(g["name"], [b["name"] for b in g["bookmarks"]]) for g in marks] == [
            ("Reference", ["Hajimari", "Kubernetes docs"])
        ]

        diagnostics = {
            o["name"]: o for o in httpx.get(s.url + "/api/diagnostics").json()["objects"]
        }
        assert diagnostics["not-annotated"]["verdict"] == "hidden"
        assert "not annotated" in diagnostics["not-annotated"]["reason"]
        assert diagnostics["not-annotated"]["urls"] == ["http://hidden.lab.example"]
        assert diagnostics["switched-off"]["verdict"] == "hidden"
        assert diagnostics["bad-location"]["verdict"] == "shown"
        assert diagnostics["bad-location"]["notes"] == [
            "startpunkt.ullberg.us/location: 'first' is not a whole number; "
            "sorted at the default place"
        ]
        assert diagnostics["sneaky"]["verdict"] == "rejected"
        assert "javascript" in diagnostics["sneaky"]["reason"]
        grafana_ingress = next(
            o
            for o in httpx.get(s.url + "/api/diagnostics").json()["objects"]
            if o["name"] == "grafana" and o["kind"] == "Ingress"
        )
        assert grafana_ingress["verdict"] == "hidden"
        assert "already shown by startpunkt-application mixed/grafana" in grafana_ingress["reason"]

        # urlFrom follows its target: editing the ConfigMap moves the link
        cluster.api.patch(
            "/api/v1/namespaces/mixed/configmaps/app-urls",
            {"data": {"wiki": "https://docs.lab.example"}},
        )
        wait_until(
            lambda: apps(s.url)["Wiki"] == "https://docs.lab.example/start",
            what="the re-resolved urlFrom",
        )
        # an Ingress edit that changes nothing visible leaves the page as it was
        before = httpx.get(s.url + "/api/apps").headers["etag"]
        cluster.api.patch(
            "/apis/networking.k8s.io/v1/namespaces/mixed/ingresses/sonarr",
            {"metadata": {"labels": {"team": "media"}}},
        )
        cluster.api.patch(
            "/apis/networking.k8s.io/v1/namespaces/mixed/ingresses/sonarr",
            {"metadata": {"annotations": {"hajimari.io/info": "TV"}}},
        )
        wait_until(lambda: "TV" in httpx.get(s.url + "/api/apps").text, what="the visible edit")
        revision_after = int(
            httpx.get(s.url + "/api/apps").headers["etag"].strip('"r').split("-")[0]
        )
        revision_before = int(before.strip('"r').split("-")[0])
        assert revision_after == revision_before + 1  # the label-only edit recorded nothing
