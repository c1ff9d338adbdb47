"""The `clusters` section: the issue's shape, checked with one clear message per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from startpunkt import config


def load(tmp_path: Path, text: str) -> config.Settings:
    path = tmp_path / "startpunkt.yaml"
    path.write_text(text)
    return config.load(path, {})


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        load(tmp_path, text)
    return caught.value.problems


def test_every_way_to_add_a_cluster_is_read(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "startpunkt:\n  clusters:\n"
        "    local: {enabled: true, name: home}\n"
        "    kubeconfigs:\n"
        "      - {name: homelab, kubeconfig: /etc/startpunkt/homelab.yaml, context: admin@lab}\n"
        "      - {name: cloud, secret: {namespace: startpunkt, name: cloud}, allowExec: true}\n"
        "    remote:\n"
        "      - {name: office, url: 'https://start.office.example/', token: s3cret}\n",
    )
    clusters = settings.clusters
    assert clusters.local.name == "home"
    homelab, cloud = clusters.kubeconfigs
    assert (str(homelab.kubeconfig), homelab.context, homelab.allow_exec) == (
        "/etc/startpunkt/homelab.yaml",
        "admin@lab",
        False,
    )
    assert cloud.secret is not None
    assert (cloud.secret.namespace, cloud.secret.name, cloud.secret.key) == (
        "startpunkt",
        "cloud",
        "kubeconfig",
    )
    assert cloud.allow_exec is True
    (office,) = clusters.remote
    assert office.url == "https://start.office.example"
    assert office.token is not None
    assert "s3cret" not in repr(settings)


def test_a_kubeconfig_cluster_needs_exactly_one_source_of_credentials(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "startpunkt:\n  clusters:\n    kubeconfigs:\n"
        "      - {name: a}\n"
        "      - {name: b, kubeconfig: /x, secret: {namespace: n, name: s}}\n",
    )
    assert len(found) == 2
    for problem in found:
        assert "give either `kubeconfig: /path/to/file` or `secret: {namespace, name, key}`" in (
            problem
        )


def test_cluster_names_are_unique_and_usable_in_keys(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "startpunkt:\n  clusters:\n    kubeconfigs: [{name: local, kubeconfig: /x}]\n"
        "    remote: [{name: 'a:b', url: 'https://a.example'}]\n",
    )
    assert any("startpunkt.clusters.remote[0].name" in p for p in found)
    found = problems(
        tmp_path, "startpunkt:\n  clusters:\n    kubeconfigs: [{name: local, kubeconfig: /x}]\n"
    )
    assert found == ["startpunkt.clusters: cluster names must be unique; local is used twice"]


def test_a_remote_url_must_be_http(tmp_path: Path) -> None:
    (problem,) = problems(
        tmp_path, "startpunkt:\n  clusters:\n    remote: [{name: a, url: 'ftp://a.example'}]\n"
    )
    assert problem.startswith("startpunkt.clusters.remote[0].url: must be the http(s) URL")
