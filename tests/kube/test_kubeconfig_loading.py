"""Kubeconfig checks when loading: exec plugin settings, and kubeconfigs given as data (a
Secret's key) rather than as a file."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from startpunkt.kube.api import Api
from startpunkt.kube.connection import ConnectionConfigError, discover, from_kubeconfig_text
from tests.kubecluster import KubeCluster


def kubeconfig_text(user: dict[str, Any] | None = None, **cluster: Any) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "lab",
            "clusters": [
                {"name": "lab", "cluster": {"server": "https://lab.example:6443", **cluster}},
                {"name": "home", "cluster": {"server": "https://home.example:6443"}},
            ],
            "users": [{"name": "me", "user": user or {"token": "secret"}}],
            "contexts": [
                {"name": "lab", "context": {"cluster": "lab", "user": "me", "namespace": "apps"}},
                {"name": "home", "context": {"cluster": "home", "user": "me"}},
            ],
        }
    )


def exec_user(**fields: Any) -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "aws",
            "args": ["eks", "get-token"],
            "interactiveMode": "IfAvailable",
            **fields,
        }
    }


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"interactiveMode": "Always"}, "interactiveMode is Always.*without a terminal"),
        ({"interactiveMode": "Sometimes"}, "interactiveMode 'Sometimes' is not one of"),
        ({"apiVersion": "client.authentication.k8s.io/v1alpha1"}, "v1alpha1.*not supported"),
        ({"command": ""}, "exec has no command"),
        ({"args": "eks get-token"}, "args must be a list of strings"),
        ({"env": [{"name": "AWS_PROFILE"}]}, "env entries need a name and a string value"),
    ],
)
def test_exec_settings_startpunkt_cannot_honour_are_refused_when_loading(
    tmp_path: Path, fields: dict[str, Any], error: str
) -> None:
    path = tmp_path / "config"
    path.write_text(kubeconfig_text(exec_user(**fields)))
    with pytest.raises(ConnectionConfigError, match=error) as caught:
        discover(str(path), environ={})
    assert str(caught.value).startswith(f"{path}: user 'me'")


def test_an_exec_command_with_a_relative_path_follows_the_kubeconfig_file(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(kubeconfig_text(exec_user(command="bin/get-token")))
    plugin = discover(str(path), environ={}).exec_plugin
    assert plugin is not None
    assert plugin.command == str(tmp_path / "bin" / "get-token")
    path.write_text(kubeconfig_text(exec_user(command="aws")))  # a bare name: looked up on PATH
    plugin = discover(str(path), environ={}).exec_plugin
    assert plugin is not None
    assert plugin.command == "aws"


# -- kubeconfigs as data ----------------------------------------------------------------------


def test_a_kubeconfig_given_as_text_or_bytes_with_a_context() -> None:
    conn = from_kubeconfig_text(kubeconfig_text())
    assert (conn.server, conn.token, conn.namespace) == (
        "https://lab.example:6443",
        "secret",
        "apps",
    )
    conn = from_kubeconfig_text(kubeconfig_text().encode(), "home", source="secret x/y")
    assert conn.server == "https://home.example:6443"
    assert conn.description == "context home"


@pytest.mark.parametrize(
    ("text", "context", "error"),
    [
        (kubeconfig_text(), "office", "secret startpunkt/homelab: no context named 'office'"),
        ("just a string", None, "not a kubeconfig"),
        (b"\xff\xfe kubeconfig", None, "not UTF-8 text"),
        ("clusters: [", None, "not a usable kubeconfig"),
        (b"x" * (2 << 20), None, "larger than"),
        ("[" * 100_000, None, "nested deeper than"),
        (
            kubeconfig_text(**{"certificate-authority": "ca.crt"}),
            None,
            "'ca.crt' is a relative path.*absolute path or the inline -data form",
        ),
        (
            kubeconfig_text(**{"certificate-authority-data": "%%%"}),
            None,
            "certificate-authority-data of 'lab' is not base64",
        ),
        (
            kubeconfig_text(exec_user()),
            None,
            "exec plugin, which is not run for a kubeconfig given",
        ),
    ],
)
def test_a_bad_kubeconfig_as_data_is_one_clear_error_naming_its_source(
    text: str | bytes, context: str | None, error: str
) -> None:
    with pytest.raises(ConnectionConfigError, match=error) as caught:
        from_kubeconfig_text(text, context, source="secret startpunkt/homelab")
    assert str(caught.value).startswith("secret startpunkt/homelab: ")


def test_a_kubeconfig_as_data_may_run_an_exec_plugin_when_allowed() -> None:
    conn = from_kubeconfig_text(kubeconfig_text(exec_user()), allow_exec=True)
    assert conn.exec_plugin is not None
    assert conn.exec_plugin.args == ("eks", "get-token")
    with pytest.raises(ConnectionConfigError, match="relative path"):
        from_kubeconfig_text(kubeconfig_text(exec_user(command="./get-token")), allow_exec=True)


def test_absolute_file_references_in_a_kubeconfig_as_data_are_kept(tmp_path: Path) -> None:
    ca = str(tmp_path / "ca.crt")
    conn = from_kubeconfig_text(kubeconfig_text(**{"certificate-authority": ca}))
    assert conn.ca_file == ca


@pytest.mark.cluster
async def test_a_kubeconfig_as_data_reaches_the_real_apiserver(kube_cluster: KubeCluster) -> None:
    ca = base64.b64encode(Path(kube_cluster.ca_file).read_bytes()).decode()
    text = yaml.safe_dump(
        {
            "clusters": [
                {
                    "name": "c",
                    "cluster": {"server": kube_cluster.server, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": "u", "user": {"token": kube_cluster.admin_token}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }
    )
    conn = from_kubeconfig_text(text.encode(), source="secret startpunkt/homelab")
    async with conn.client(httpx.Timeout(10.0)) as client:
        namespace = await Api(client).get("/api/v1/namespaces/default")
    assert namespace["metadata"]["name"] == "default"
