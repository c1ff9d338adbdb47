"""The chart grants what a Secret-held kubeconfig needs: get and watch on that Secret, by name,
in its namespace; and nothing when no cluster's kubeconfig is in a Secret."""

from __future__ import annotations

from tests.deploy.charting import Helm
from tests.deploy.rendering import of_kind


def test_a_secret_held_kubeconfig_gets_get_and_watch_on_that_secret_only(helm: Helm) -> None:
    kubeconfigs = [
        {"name": "file", "kubeconfig": "/etc/startpunkt/file.yaml"},
        {"name": "cloud", "secret": {"namespace": "vault", "name": "cloud-kubeconfig"}},
        {"name": "off", "secret": {"namespace": "vault", "name": "off"}, "enabled": False},
    ]
    config = {"clusters": {"kubeconfigs": kubeconfigs}}
    objs = helm.template({"startpunkt": {"config": config}})

    roles = [r for r in of_kind(objs, "Role") if "cluster-credentials" in str(r["metadata"])]
    assert [(r["metadata"]["namespace"], r["rules"]) for r in roles] == [
        (
            "vault",
            [
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": ["cloud-kubeconfig"],
                    "verbs": ["get", "watch"],
                }
            ],
        )
    ]
    (binding,) = [b for b in of_kind(objs, "RoleBinding") if "cluster-credentials" in str(b)]
    assert binding["roleRef"]["name"] == roles[0]["metadata"]["name"]
    assert binding["subjects"][0]["kind"] == "ServiceAccount"


def test_no_secret_no_role(helm: Helm) -> None:
    objs = helm.template({"startpunkt": {"config": {}}})
    assert not [r for r in of_kind(objs, "Role") if "cluster-credentials" in str(r)]
