"""Running the real helm (scripts/install-helm.sh) on deploy/helm/startpunkt, and the value sets
the tests render it with."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.rendering import DEPLOY, NAMESPACE, Obj

CHART = DEPLOY / "helm" / "startpunkt"
RELEASE = "startpunkt"  # with NAMESPACE, the names kustomize's overlays use
INSTALL_HINT = "run scripts/install-helm.sh (or set STARTPUNKT_HELM)"


def helm_binary() -> Path:
    """`$STARTPUNKT_HELM`, or the helm scripts/install-helm.sh put into the tool cache."""
    if explicit := os.environ.get("STARTPUNKT_HELM"):
        path, where = Path(explicit), f"STARTPUNKT_HELM={explicit}"
    else:
        cache = os.environ.get("STARTPUNKT_CACHE") or Path.home() / ".cache" / "startpunkt"
        path = Path(cache) / "helm"
        where = str(path)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"helm not found at {where}: {INSTALL_HINT}", pytrace=False)
    return path


class Helm:
    """helm with its own cache, configuration and data directories, so nothing of the
    machine's helm setup (repositories, plugins) takes part."""

    def __init__(self, home: Path, kubeconfig: Path | None = None) -> None:
        self.binary = helm_binary()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        if kubeconfig is not None:
            self.env["KUBECONFIG"] = str(kubeconfig)

    def run(
        self, *args: str, values: dict[str, Any] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`helm ARGS`, with `values` (if any) given as a values file on stdin (`-f -`)."""
        command: list[str] = [str(self.binary), *args]
        if values is not None:
            command += ["-f", "-"]
        return subprocess.run(
            command,
            input=yaml.safe_dump(values) if values is not None else None,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=180,
            check=False,
        )

    def template(
        self,
        values: dict[str, Any],
        *extra: str,
        release: str = RELEASE,
        namespace: str = NAMESPACE,
    ) -> list[Obj]:
        """`helm template`, parsed; fails the test with helm's message if it fails."""
        result = self.run("template", release, str(CHART), "-n", namespace, *extra, values=values)
        assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    def template_error(self, values: dict[str, Any], *extra: str) -> str:
        """helm's message when `helm template` refuses `values`."""
        result = self.run("template", RELEASE, str(CHART), *extra, values=values)
        assert result.returncode != 0, "helm template accepted the values"
        return result.stderr


def base_configuration() -> dict[str, Any]:
    """deploy/base/startpunkt.yaml below its root key: every key, with its default."""
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "base" / "startpunkt.yaml").read_text())
    return dict(loaded["startpunkt"])


PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


def every_optional_on() -> dict[str, Any]:
    """Every optional part of the chart switched on, with a configuration that sets every key."""
    config = base_configuration()
    config["availability"] = {**config["availability"], "acceptedStatusCodes": [200, 204, 401]}
    config["websocket"] = {"enabled": True, "heartbeatInterval": "30s", "eventDebounceMs": 100}
    config["realtime"] = {**config["realtime"], "maxConnections": 1000000}
    return {
        "startpunkt": {
            "config": config,
            "labels": {"team": "platform"},
            "image": {"name": "registry.example.com/startpunkt", "tag": "0.1.0-mirror",
                      "pullPolicy": "Always", "pullSecrets": [{"name": "regcred"}]},
            "deployment": {
                "replicas": 3,
                "annotations": {"example.com/owner": "platform"},
                "podAnnotations": {"example.com/scrape": "yes"},
                "podLabels": {"tier": "frontend"},
                "affinity": {"podAntiAffinity": {PREFERRED: [{"weight": 100, "podAffinityTerm": {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "startpunkt"}},
                }}]}},
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web",
                                 "effect": "NoSchedule"}],
                "topologySpreadConstraints": [{
                    "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "startpunkt"}},
                }],
                "priorityClassName": "startpunkt-critical",
                "env": [{"name": "STARTPUNKT_LOG_LEVEL", "value": "debug"}],
                "envFrom": [{"configMapRef": {"name": "startpunkt-extra", "optional": True}}],
            },
            "ports": {"http": 9090},
            "podDisruptionBudget": {"minAvailable": 2},
            "serviceAccount": {"annotations": {"example.com/role": "startpunkt"}},
            "rbac": {"urlFrom": {"enabled": True}},
            "service": {"type": "NodePort", "port": 8000,
                        "annotations": {"example.com/exposed": "true"}},
            "ingress": {"enabled": True, "className": "nginx",
                        "tls": [{"hosts": ["startpunkt.example.com"],
                                 "secretName": "startpunkt-tls"}]},
            "route": {"enabled": True, "host": "startpunkt.apps.example.com",
                      "additionalLabels": {"router": "public"}},
            "httpRoute": {"enabled": True},
            "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        }
    }  # fmt: skip


#: the value sets every rendering test runs with
VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "namespaced": {"startpunkt": {"rbac": {"namespaced": ["apps", "media"]}}},
    "every-optional-on": every_optional_on(),
}

#: more configurations for the RBAC checks, which must follow each
RBAC_SETS: dict[str, dict[str, Any]] = {
    "few-sources": {  # sources switched off are not granted
        "startpunkt": {
            "config": {
                "hajimari": {"enabled": False},
                "openshift": {"enabled": False},
                "istio": {"virtualservice": {"enabled": "false"}},
                "gatewayapi": {"httproute": {"enabled": False}},
                "status": {"enabled": False},
            },
            "rbac": {"namespaced": ["apps"]},
        }
    },
    "namespaced-by-config": {  # the configuration's own namespaceSelector, as a string
        "startpunkt": {"config": {"namespaceSelector": {"any": False, "matchNames": "apps, media"}}}
    },
    "reads-no-namespace": {"startpunkt": {"config": {"namespaceSelector": {"any": False}}}},
}
