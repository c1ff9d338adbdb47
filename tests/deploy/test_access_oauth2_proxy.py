"""deploy/components/oauth2-proxy: the proxy in front of Startpunkt, trusted from loopback only,
and every way in from outside the pod passes through it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from startpunkt import config
from tests.deploy.charting import Helm
from tests.deploy.rendering import DEPLOY, Obj, one, render, with_documented_components


@pytest.fixture(scope="module")
def rendered() -> list[Obj]:
    with tempfile.TemporaryDirectory() as tmp:
        return render(with_documented_components(DEPLOY / "overlays" / "cluster-wide", Path(tmp)))


def containers(objs: list[Obj]) -> dict[str, Obj]:
    pod = one(objs, "Deployment", "startpunkt")["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod["containers"]}


def port(container: Obj, name: str) -> int:
    return int(next(p["containerPort"] for p in container["ports"] if p["name"] == name))


def test_the_service_and_so_the_ingress_reach_startpunkt_only_through_the_proxy(
    rendered: list[Obj],
) -> None:
    proxy = containers(rendered)["oauth2-proxy"]
    service = one(rendered, "Service", "startpunkt")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["oauth2-proxy"]
    assert port(proxy, "oauth2-proxy") == 4180
    assert "--http-address=0.0.0.0:4180" in proxy["args"]
    ingress = one(rendered, "Ingress", "startpunkt")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]


def test_the_proxy_forwards_to_startpunkt_on_loopback_with_the_user_headers(
    rendered: list[Obj],
) -> None:
    both = containers(rendered)
    startpunkt_port = port(both["startpunkt"], "http")
    args = both["oauth2-proxy"]["args"]
    assert f"--upstream=http://127.0.0.1:{startpunkt_port}/" in args
    assert "--pass-user-headers=true" in args
    secrets = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in both["oauth2-proxy"]["env"]
        if "valueFrom" in e
    }
    assert secrets == {"oauth2-proxy"}


def test_startpunkt_believes_the_oauth2_proxy_headers_from_loopback_only(
    rendered: list[Obj],
) -> None:
    configmap = one(rendered, "ConfigMap")
    env = {e["name"]: e["value"] for e in containers(rendered)["startpunkt"]["env"] if "value" in e}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "startpunkt.yaml"
        path.write_text(configmap["data"]["startpunkt.yaml"])
        settings = config.load(path, environ=env)
    proxy = settings.access.proxy
    assert proxy is not None
    assert proxy.headers()[:2] == ("X-Forwarded-User", "X-Forwarded-Groups")
    assert proxy.trusted_proxies == ("127.0.0.1/32",)
    assert settings.access.admins == ("admins",)


def test_the_sidecar_meets_the_restricted_pod_security_standard(rendered: list[Obj]) -> None:
    security = containers(rendered)["oauth2-proxy"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["seccompProfile"]["type"] == "RuntimeDefault"
    assert security["readOnlyRootFilesystem"] is True
    image = containers(rendered)["oauth2-proxy"]["image"]
    assert ":v" in image  # a pinned release, never :latest


def test_the_chart_passes_the_access_section_to_startpunkt(helm: Helm) -> None:
    access = {
        "proxy": {"preset": "custom", "userHeader": "X-Auth-Request-User",
                  "groupsHeader": "X-Auth-Request-Groups", "trustedProxies": ["10.42.0.0/16"]},
        "admins": ["admins"],
    }  # fmt: skip
    objs = helm.template({"startpunkt": {"config": {"access": access}}})
    configmap = one(objs, "ConfigMap")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "startpunkt.yaml"
        path.write_text(configmap["data"]["startpunkt.yaml"])
        settings = config.load(path, environ={})
    assert settings.access.proxy is not None
    assert settings.access.proxy.headers()[0] == "X-Auth-Request-User"
    assert settings.access.proxy.trusted_proxies == ("10.42.0.0/16",)
