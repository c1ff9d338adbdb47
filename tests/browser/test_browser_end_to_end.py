"""The real thing, end to end: a change in the kube-apiserver, or an edited manifest file,
shows up on a page open in Chromium without a reload."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.kubecluster import KubeCluster
from tests.kubeobjects import app_path, application
from tests.serving import Served


def open_live(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#live")).to_have_attribute("data-state", "connected")
    page.evaluate("window.__sameDocument = true")


def card(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("li.card", has=page.locator(".card-name", has_text=name))


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "startpunkt.yaml"
    path.write_text("startpunkt:\n  availability: {enabled: false}\n" + extra)
    return path


@pytest.mark.cluster
def test_a_change_in_the_cluster_appears_on_the_open_page(
    crd_cluster: KubeCluster, kube_namespace: str, page: Page, tmp_path: Path
) -> None:
    crd_cluster.api.post(
        app_path(kube_namespace), application("ledger", kube_namespace, info="Household budget")
    )
    kubeconfig = crd_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    scope = f"  namespaceSelector: {{any: false, matchNames: [{kube_namespace}]}}\n"
    args = ["--kubeconfig", str(kubeconfig), "--config", str(config(tmp_path, scope))]
    with Served(args, tmp_path / "log", ready_path="/readyz") as served:
        open_live(page, served.url)
        expect(card(page, "Ledger")).to_contain_text("Household budget")

        crd_cluster.api.post(app_path(kube_namespace), application("recipes", kube_namespace))
        expect(card(page, "Recipes")).to_be_visible()
        crd_cluster.api.patch(
            app_path(kube_namespace, "ledger"), {"spec": {"info": "Bills and budget"}}
        )
        expect(card(page, "Ledger")).to_contain_text("Bills and budget")
        crd_cluster.api.delete(app_path(kube_namespace, "recipes"))
        expect(card(page, "Recipes")).to_have_count(0)
        assert page.evaluate("window.__sameDocument") is True


def test_a_file_edit_appears_on_the_open_page(page: Page, tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    root.mkdir()
    manifest = root / "app.yaml"
    manifest.write_text(
        "apiVersion: startpunkt.ullberg.us/v1alpha4\nkind: Application\n"
        "metadata: {name: notes, namespace: default}\n"
        "spec: {name: Notes, group: Tools, url: 'https://notes.example', info: Jotting}\n"
    )
    args = ["--manifests", str(root), "--config", str(config(tmp_path))]
    with Served(args, tmp_path / "log") as served:
        open_live(page, served.url)
        expect(card(page, "Notes")).to_contain_text("Jotting")
        manifest.write_text(manifest.read_text().replace("Jotting", "Ideas and lists"))
        later = time.time_ns() + 10**9
        os.utime(manifest, ns=(later, later))
        expect(card(page, "Notes")).to_contain_text("Ideas and lists")
        assert page.evaluate("window.__sameDocument") is True
