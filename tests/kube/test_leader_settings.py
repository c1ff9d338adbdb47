"""Where the Lease lives, who holds it, and durations that cannot work are refused."""

from __future__ import annotations

import os
import socket

import pytest

from startpunkt import config
from startpunkt.config import LeaderElection
from startpunkt.kube.leading import identity, lease_config, micro_time


def test_the_pod_name_is_the_identity_and_outside_a_pod_host_and_process() -> None:
    assert identity({"POD_NAME": "startpunkt-7d9f-abcde"}) == "startpunkt-7d9f-abcde"
    assert identity({}) == f"{socket.gethostname()}_{os.getpid()}"


def test_the_namespace_is_the_configured_one_else_the_pods_else_the_connections() -> None:
    pod = {"POD_NAMESPACE": "startpunkt", "POD_NAME": "p"}
    assert lease_config(LeaderElection(), "default", environ=pod).namespace == "startpunkt"
    assert (
        lease_config(LeaderElection(), "from-kubeconfig", environ={}).namespace == "from-kubeconfig"
    )
    chosen = LeaderElection(namespace="elsewhere", lease_name="portal")
    lease = lease_config(chosen, "default", environ=pod)
    assert (lease.namespace, lease.name) == ("elsewhere", "portal")
    assert lease.path == "/apis/coordination.k8s.io/v1/namespaces/elsewhere/leases/portal"


def test_defaults_are_client_gos() -> None:
    lease = lease_config(LeaderElection(), "default", environ={})
    assert (lease.lease_duration, lease.renew_deadline, lease.retry_period) == (15, 10, 2)


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"STARTPUNKT_LEADERELECTION_RENEWDEADLINE": "20s"}, "leaseDuration > renewDeadline"),
        ({"STARTPUNKT_LEADERELECTION_RETRYPERIOD": "9s"}, "1.2 x retryPeriod"),
        ({"STARTPUNKT_LEADERELECTION_LEASENAME": "Not A Name"}, "leaderElection.leaseName"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_the_key(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(config.ConfigError) as raised:
        config.load(environ=env)
    assert problem in str(raised.value)
    assert "startpunkt.leaderElection" in str(raised.value)


def test_times_are_kubernetes_micro_times() -> None:
    assert micro_time(1_800_000_000.25) == "2027-01-15T08:00:00.250000Z"
