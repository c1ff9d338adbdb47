"""Finding the cluster: kubeconfig files, contexts, inline credentials, the in-cluster account."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
import yaml

from startpunkt.kube.api import Api
from startpunkt.kube.connection import ConnectionConfigError, discover, in_cluster
from tests.kubecluster import KubeCluster


def kubeconfig(path: Path, **user: object) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "home",
                "clusters": [
                    {"name": "lab", "cluster": {"server": "https://lab.example:6443/"}},
                    {
                        "name": "home",
                        "cluster": {
                            "server": "https://home.example:6443",
                            "certificate-authority": "ca.crt",
                        },
                    },
                ],
                "users": [{"name": "me", "user": user or {"token": "secret"}}],
                "contexts": [
                    {
                        "name": "home",
                        "context": {"cluster": "home", "user": "me", "namespace": "apps"},
                    },
                    {"name": "lab", "context": {"cluster": "lab", "user": "me"}},
                ],
            }
        )
    )
    return path


def test_the_current_context_is_used_and_relative_paths_follow_the_file(tmp_path: Path) -> None:
    conn = discover(str(kubeconfig(tmp_path / "config")), environ={})
    assert conn.server == "https://home.example:6443"
    assert conn.ca_file == str(tmp_path / "ca.crt")
    assert conn.token == "secret"
    assert conn.namespace == "apps"


def test_context_flag_and_kubeconfig_variable(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config")
    conn = discover(None, "lab", environ={"KUBECONFIG": f"{tmp_path / 'missing'}:{path}"})
    assert conn.server == "https://lab.example:6443"
    with pytest.raises(ConnectionConfigError, match="no context named 'nope'"):
        discover(str(path), "nope", environ={})


def test_inline_client_certificates_are_written_to_private_files(tmp_path: Path) -> None:
    data = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    path = kubeconfig(
        tmp_path / "config", **{"client-certificate-data": data, "client-key-data": data}
    )
    conn = discover(str(path), environ={})
    assert conn.client_cert is not None
    cert, key = conn.client_cert
    assert Path(cert).read_bytes() == b"-----BEGIN CERTIFICATE-----\n"
    assert Path(key).stat().st_mode & 0o077 == 0


def test_legacy_auth_providers_are_refused_naming_the_exec_plugin_to_use(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", **{"auth-provider": {"name": "gcp"}})
    with pytest.raises(ConnectionConfigError, match=r"'gcp' auth-provider.*gke-gcloud-auth-plugin"):
        discover(str(path), environ={})


def test_a_missing_explicit_kubeconfig_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(ConnectionConfigError, match="kubeconfig file not found"):
        discover(str(tmp_path / "nope"), environ={})


def test_nothing_at_all_names_both_ways_and_the_manifests_mode(tmp_path: Path) -> None:
    with pytest.raises(ConnectionConfigError) as caught:
        discover(None, environ={"HOME": str(tmp_path)})
    message = str(caught.value)
    assert "kubeconfig" in message
    assert "in-cluster service account" in message
    assert "--manifests DIR" in message


@pytest.mark.cluster
async def test_the_in_cluster_service_account_reaches_the_real_apiserver(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(kube_cluster.admin_token + "\n")
    (account / "ca.crt").write_bytes(Path(kube_cluster.ca_file).read_bytes())
    (account / "namespace").write_text("startpunkt")
    port = kube_cluster.server.rsplit(":", 1)[1]
    conn = in_cluster(
        {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port}, account
    )
    assert conn.namespace == "startpunkt"
    async with conn.client(httpx.Timeout(10)) as client:
        version = await Api(client).get("/version")
    assert version["gitVersion"] == "v1.20.2"
