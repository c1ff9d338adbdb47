"""Kubeconfig TLS settings against the real kube-apiserver: CA data, skipping verification,
client certificates (files, inline data, and from an exec plugin), token files."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from startpunkt.kube.api import Api, ApiError
from startpunkt.kube.connection import discover
from tests.kube.execplugin import PluginScript, kubeconfig_for
from tests.kubecluster import KubeCluster

pytestmark = pytest.mark.cluster


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def namespace_names(path: Path) -> set[str]:
    async with discover(str(path), environ={}).client(httpx.Timeout(10.0)) as client:
        listing = await Api(client).get("/api/v1/namespaces")
    return {ns["metadata"]["name"] for ns in listing["items"]}


async def test_inline_certificate_authority_data_is_trusted_and_nothing_else(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    admin = {"token": kube_cluster.admin_token}
    ca = b64(Path(kube_cluster.ca_file).read_bytes())
    good = kubeconfig_for(
        kube_cluster, tmp_path / "good", admin, **{"certificate-authority-data": ca}
    )
    assert "default" in await namespace_names(good)
    other_ca = b64(trustme.CA().cert_pem.bytes())
    bad = kubeconfig_for(
        kube_cluster, tmp_path / "bad", admin, **{"certificate-authority-data": other_ca}
    )
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await namespace_names(bad)


async def test_insecure_skip_tls_verify_connects_without_a_ca(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    path = kubeconfig_for(
        kube_cluster,
        tmp_path / "kubeconfig",
        {"token": kube_cluster.admin_token},
        **{"insecure-skip-tls-verify": True},
    )
    assert "default" in await namespace_names(path)


async def test_a_token_file_relative_to_the_kubeconfig(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text(kube_cluster.admin_token + "\n")
    path = kubeconfig_for(kube_cluster, tmp_path / "kubeconfig", {"tokenFile": "secrets/token"})
    assert "default" in await namespace_names(path)


# -- client certificates: a cluster of this module's own that trusts a test CA ----------------


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def cert_cluster(
    client_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeCluster]:
    """A cluster that also accepts client certificates signed by `client_ca`."""
    ca_file = tmp_path_factory.mktemp("client-ca") / "ca.crt"
    client_ca.cert_pem.write_to_path(str(ca_file))
    cluster = KubeCluster(
        tmp_path_factory.mktemp("kube-cert-cluster"), extra_flags=[f"--client-ca-file={ca_file}"]
    )
    cluster.start()
    yield cluster
    cluster.stop()


def admin_cert(ca: trustme.CA) -> tuple[bytes, bytes]:
    """A client certificate for a member of system:masters (O is the group, CN the user)."""
    leaf = ca.issue_cert(
        "carol@example.test", common_name="carol", organization_name="system:masters"
    )
    return leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes()


async def test_inline_client_certificate_data_authenticates(
    cert_cluster: KubeCluster, client_ca: trustme.CA, tmp_path: Path
) -> None:
    cert, key = admin_cert(client_ca)
    user = {"client-certificate-data": b64(cert), "client-key-data": b64(key)}
    assert "default" in await namespace_names(kubeconfig_for(cert_cluster, tmp_path / "k", user))


async def test_client_certificate_files_relative_to_the_kubeconfig(
    cert_cluster: KubeCluster, client_ca: trustme.CA, tmp_path: Path
) -> None:
    cert, key = admin_cert(client_ca)
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "carol.crt").write_bytes(cert)
    (tmp_path / "pki" / "carol.key").write_bytes(key)
    user = {"client-certificate": "pki/carol.crt", "client-key": "pki/carol.key"}
    assert "default" in await namespace_names(kubeconfig_for(cert_cluster, tmp_path / "k", user))


async def test_a_user_identified_by_certificate_alone_is_who_the_certificate_says(
    cert_cluster: KubeCluster, client_ca: trustme.CA, tmp_path: Path
) -> None:
    leaf = client_ca.issue_cert("dave@example.test", common_name="dave")  # no group: no rights
    user = {
        "client-certificate-data": b64(leaf.cert_chain_pems[0].bytes()),
        "client-key-data": b64(leaf.private_key_pem.bytes()),
    }
    with pytest.raises(ApiError) as caught:
        await namespace_names(kubeconfig_for(cert_cluster, tmp_path / "k", user))
    assert caught.value.status == 403
    assert '"dave"' in caught.value.message


async def test_an_exec_plugin_certificate_authenticates_and_is_replaced_after_a_401(
    cert_cluster: KubeCluster, client_ca: trustme.CA, tmp_path: Path
) -> None:
    plugin = PluginScript(tmp_path)
    stranger_cert, stranger_key = admin_cert(trustme.CA())  # signed by a CA nobody trusts
    cert, key = admin_cert(client_ca)
    plugin.plan(
        {"clientCertificateData": stranger_cert.decode(), "clientKeyData": stranger_key.decode()},
        {"clientCertificateData": cert.decode(), "clientKeyData": key.decode()},
    )
    path = kubeconfig_for(cert_cluster, tmp_path / "k", {"exec": plugin.exec_section()})
    async with discover(str(path), environ={}).client(httpx.Timeout(10.0)) as client:
        api = Api(client)
        listing = await api.get("/api/v1/namespaces")
        assert "default" in {ns["metadata"]["name"] for ns in listing["items"]}
        assert len(plugin.runs) == 2
        for _ in range(3):
            await api.get("/version")
        assert len(plugin.runs) == 2


async def test_an_unusable_exec_plugin_certificate_is_a_clear_error(
    kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    plugin = PluginScript(tmp_path)
    plugin.plan({"clientCertificateData": "not a certificate", "clientKeyData": "nor a key"})
    path = kubeconfig_for(kube_cluster, tmp_path / "k", {"exec": plugin.exec_section()})
    async with discover(str(path), environ={}).client(httpx.Timeout(10.0)) as client:
        with pytest.raises(httpx.TransportError, match="client certificate is unusable"):
            await Api(client).get("/version")
