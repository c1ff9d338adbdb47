"""The original's own `application.yaml` files start Startpunkt against a real cluster, read
from where the original's container read them, and name what they set that has no effect."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from startpunkt import __version__
from tests.kubecluster import KubeCluster
from tests.serving import Served
from tests.waiting import wait_until

ORIGINAL_CONFIGS = Path(__file__).parent / "data" / "original-configs"

# the lines each file must produce at start-up, beyond the config's own name
EXPECTED = {
    "v2": ["startpunkt.web.checkForUpdates: accepted and ignored"],
    "v3": [
        "startpunkt.websocket.eventDebounceMs, startpunkt.realtime.eventDebounceMs: accepted and "
        "ignored (changes are sent at once",
        "startpunkt.web.checkForUpdates: accepted and ignored",
    ],
    "v4": [
        "startpunkt.graphql: accepted and ignored (Startpunkt has no GraphQL API",
        "startpunkt.bingimage: accepted and ignored (the page shows no daily background image",
        "startpunkt.websocket.eventDebounceMs: accepted and ignored",
        "startpunkt.watch.resyncPeriodSeconds: accepted and ignored",
        "startpunkt.clusters.remote[0].graphql-url: accepted and ignored (other instances are "
        "not followed over GraphQL; set `url` to the other Startpunkt's address",
        "startpunkt.web.checkForUpdates: accepted and ignored",
        "quarkus.http.port, quarkus.http.cors, quarkus.kubernetes-client.trust-certs, "
        "quarkus.smallrye-graphql.ui.always-include: accepted and ignored (settings of Quarkus",
    ],
}


@pytest.mark.cluster
@pytest.mark.parametrize("version", sorted(EXPECTED))
def test_the_originals_file_in_its_mount_path_starts_the_server(
    kube_cluster: KubeCluster, tmp_path: Path, version: str
) -> None:
    # where the original's Deployment mounted its ConfigMap (the path is moved into tmp_path)
    mounted = tmp_path / "work" / "config" / "application.yaml"
    mounted.parent.mkdir(parents=True)
    shutil.copy(ORIGINAL_CONFIGS / f"{version}-application.yaml", mounted)
    kubeconfig = kube_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    env = {"STARTPUNKT_DEFAULT_CONFIG": str(mounted)}

    with Served(["--kubeconfig", str(kubeconfig)], tmp_path / "log", env=env) as served:
        wait_until(lambda: httpx.get(served.url + "/readyz").status_code == 200, timeout=30)
        config = httpx.get(served.url + "/api/config").json()["config"]
        assert config["version"] == __version__
        assert config["web"]["checkForUpdates"] is False
        assert httpx.get(served.url + "/q/health/ready").status_code == 200
        # the local cluster is used, under the name the file gives it; the remote is not
        wait_until(
            lambda: (
                [
                    (c["name"], c["kind"], c["state"])
                    for c in httpx.get(served.url + "/api/sources").json()["clusters"]
                ]
                == [("local", "local", "synced")]
            ),
            what="the local cluster, alone, in sync",
        )
        assert served.stop() == 0

    log = served.log()
    for line in EXPECTED[version]:
        assert f"Configuration: {line}" in log, log
    assert log.count("accepted and ignored") + log.count("not used yet") == len(EXPECTED[version])
    if version == "v4":
        # quarkus.log.category."us.ullberg".level: DEBUG, as the original's README suggested
        assert " DEBUG   startpunkt: Logging at DEBUG (other libraries: INFO)" in log, log


def test_a_key_no_version_knows_still_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "application.yaml"
    original = (ORIGINAL_CONFIGS / "v4-application.yaml").read_text()
    config.write_text(original.replace("  graphql:\n", "  graphgl:\n  graphql:\n    x: 1\n"))

    result = subprocess.run(
        [sys.executable, "-m", "startpunkt", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "invalid configuration (2 problem(s))" in result.stderr
    assert "startpunkt.graphgl: unknown key" in result.stderr
    assert "startpunkt.graphql.x: unknown key" in result.stderr
