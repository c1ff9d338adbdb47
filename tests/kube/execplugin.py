"""A credential plugin of the tests' own, and kubeconfigs that point at the test cluster.

The plugin follows a plan (one step per run, the last one repeated) and records each run, so a
test can say what it should print and count how often the client ran it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.kubecluster import KubeCluster

SCRIPT = """
import json, os, sys, time
from datetime import datetime, timedelta, timezone

plan_file, log_file = sys.argv[1], sys.argv[2]
with open(log_file, "a") as log:
    log.write(json.dumps({
        "pid": os.getpid(),
        "args": sys.argv[3:],
        "info": json.loads(os.environ.get("KUBERNETES_EXEC_INFO", "null")),
        "greeting": os.environ.get("PLUGIN_GREETING"),
    }) + "\\n")
with open(log_file) as log:
    run = sum(1 for _ in log) - 1
with open(plan_file) as f:
    plan = json.load(f)
step = plan[min(run, len(plan) - 1)]
if step.get("hang"):
    time.sleep(3600)
if step.get("flood"):
    while True:
        sys.stdout.write("x" * 65536)
if step.get("exit"):
    print(step.get("stderr", ""), file=sys.stderr)
    sys.exit(step["exit"])
status = {}
for key in ("token", "clientCertificateData", "clientKeyData"):
    if key in step:
        status[key] = step[key]
if "expires_in" in step:
    expires = datetime.now(timezone.utc) + timedelta(seconds=step["expires_in"])
    status["expirationTimestamp"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
print(json.dumps({"apiVersion": info["apiVersion"], "kind": "ExecCredential", "status": status}))
"""


class PluginScript:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "credential-plugin"
        self.path.write_text(f"#!{sys.executable}\n{SCRIPT}")
        self.path.chmod(0o755)
        self.plan_file = directory / "plan.json"
        self.log_file = directory / "runs.jsonl"
        self.log_file.touch()

    def plan(self, *steps: dict[str, Any]) -> None:
        self.plan_file.write_text(json.dumps(steps))

    @property
    def runs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_file.read_text().splitlines()]

    def exec_section(
        self, api_version: str = "client.authentication.k8s.io/v1", **extra: Any
    ) -> dict[str, Any]:
        return {
            "apiVersion": api_version,
            "command": str(self.path),
            "args": [str(self.plan_file), str(self.log_file), "--region", "lab"],
            "env": [{"name": "PLUGIN_GREETING", "value": "hello"}],
            "interactiveMode": "Never",
            **extra,
        }


def kubeconfig_for(
    cluster: KubeCluster, path: Path, user: dict[str, Any], **cluster_fields: Any
) -> Path:
    """A kubeconfig for the test cluster with `user`; `cluster_fields` replace the CA file."""
    fields = cluster_fields or {"certificate-authority": str(cluster.ca_file)}
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "test",
                "clusters": [{"name": "test", "cluster": {"server": cluster.server, **fields}}],
                "users": [{"name": "someone", "user": user}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "someone"}}],
            }
        )
    )
    return path
