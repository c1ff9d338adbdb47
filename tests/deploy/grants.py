"""What a rendering of deploy/ (kustomize or the Helm chart) lets Startpunkt do, checked the same
way for both: the roles that read the sources grant exactly what the rendered configuration
makes Startpunkt list and watch, in the scope it reads it; the leader-election Role grants its
Lease and the availability ConfigMap in Startpunkt's own namespace and nothing else.

Each check returns a list of problems (empty: fine), so a test shows all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tests.deploy.rendering import (
    NEVER_READ,
    READ_VERBS,
    STATUS_WRITES,
    Grant,
    Obj,
    granted,
    needed,
    of_kind,
    rules,
    settings_of,
)
from tests.kubecluster import KubeApi
from tests.waiting import wait_until

SOURCE_READER = "source-reader"
LEADER_ELECTION = "leader-election"
COMPONENT_LABEL = "app.kubernetes.io/component"
#: the ConfigMap in which the leader publishes availability for the other replicas
AVAILABILITY_CONFIGMAP = "startpunkt-availability"
DEFAULT_LEASE = "startpunkt"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")

NamedRule = tuple[str, str, str, str | None]  # (apiGroup, resource, verb, resourceName or None)


def component(obj: Obj) -> str | None:
    labels: dict[str, str] = obj["metadata"].get("labels") or {}
    return labels.get(COMPONENT_LABEL)


def named_rules(role: Obj) -> set[NamedRule]:
    """Every (apiGroup, resource, verb, resourceName) a role grants; None: any name."""
    result: set[NamedRule] = set()
    for rule in role.get("rules") or []:
        names: list[str | None] = list(rule.get("resourceNames") or [None])
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    result |= {(group, resource, verb, name) for name in names}
    return result


def leader_election_grants(lease: str) -> set[NamedRule]:
    """Hold the Lease (get, list and watch it by name, renew it with update or patch); create
    it, which RBAC cannot limit to a name; read, create and update the availability ConfigMap,
    and list and watch ConfigMaps to follow it."""
    lease_verbs = ("get", "list", "watch", "update", "patch")
    coordination = "coordination.k8s.io"
    return (
        {(coordination, "leases", verb, lease) for verb in lease_verbs}
        | {(coordination, "leases", "create", None)}
        | {("", "configmaps", verb, AVAILABILITY_CONFIGMAP) for verb in ("get", "update", "patch")}
        | {("", "configmaps", verb, None) for verb in ("create", "list", "watch")}
    )


def role_components_problems(objs: list[Obj]) -> list[str]:
    """Every Role and ClusterRole says what it is for; there is nothing else."""
    return [
        f"{r['kind']} {r['metadata']['name']} is labelled {component(r)!r}"
        for r in of_kind(objs, "Role", "ClusterRole")
        if component(r) not in {SOURCE_READER, LEADER_ELECTION}
    ]


def binding_problems(objs: list[Obj], role: Obj, subject: tuple[str, str]) -> list[str]:
    """`role` is bound, once, to the ServiceAccount `subject` (namespace, name) and nobody else."""
    kind = "ClusterRoleBinding" if role["kind"] == "ClusterRole" else "RoleBinding"
    namespace = role["metadata"].get("namespace")
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": role["kind"]}
    ref["name"] = role["metadata"]["name"]
    bindings = [
        b
        for b in of_kind(objs, kind)
        if b["roleRef"] == ref and b["metadata"].get("namespace") == namespace
    ]
    where = f"{role['kind']} {role['metadata']['name']} in {namespace or 'the cluster'}"
    if len(bindings) != 1:
        return [f"{where} has {len(bindings)} bindings, not one"]
    expected = [{"kind": "ServiceAccount", "name": subject[1], "namespace": subject[0]}]
    if bindings[0]["subjects"] != expected:
        return [f"{where} is bound to {bindings[0]['subjects']}, not {expected}"]
    return []


def source_reader_problems(
    objs: list[Obj], subject: tuple[str, str], extra: Iterable[Grant] = ()
) -> list[str]:
    """The source-reading roles grant get, list and watch on exactly what the rendered
    configuration makes Startpunkt read (the runtime's own watch plan), plus `extra` (urlFrom
    targets), in each scope it reads: a ClusterRole for every namespace or a Role in each listed
    one. No wildcards, no Secrets, Nodes or Namespaces, no resourceNames, and no write but patch
    on the status of Startpunkt's own objects while `status.enabled`."""
    settings = settings_of(objs)
    plan = needed(settings)
    readers = [r for r in of_kind(objs, "Role", "ClusterRole") if component(r) == SOURCE_READER]
    scopes = {r["metadata"].get("namespace"): r for r in readers}
    problems = []
    if len(scopes) != len(readers):
        problems.append("two source-reading roles in one scope")
    if set(scopes) != set(plan):
        problems.append(f"roles in {sorted(map(str, scopes))}, reads in {sorted(map(str, plan))}")
    if None not in plan and of_kind(objs, "ClusterRole", "ClusterRoleBinding"):
        problems.append("reads only listed namespaces, yet grants something cluster-wide")
    writes = set(STATUS_WRITES) if settings.status.enabled else set()
    for scope, role in scopes.items():
        where = f"{role['kind']} in {scope or 'the cluster'}"
        triples = set(rules(role))
        reads = plan.get(scope, set()) | set(extra)
        if granted(role) != reads:
            problems.append(f"{where} grants reads {sorted(granted(role))}, needs {sorted(reads)}")
        if {t for t in triples if t[2] not in READ_VERBS} != writes:
            problems.append(
                f"{where} writes {sorted(t for t in triples if t[2] not in READ_VERBS)}"
            )
        if any("*" in t for t in triples):
            problems.append(f"{where} has a wildcard")
        if {r for _, r, _ in triples} & NEVER_READ:
            problems.append(f"{where} reads {sorted({r for _, r, _ in triples} & NEVER_READ)}")
        if any(rule.get("resourceNames") for rule in role["rules"]):
            problems.append(f"{where} limits sources to names")
        problems += binding_problems(objs, role, subject)
    return problems


def leader_election_problems(objs: list[Obj], subject: tuple[str, str], lease: str) -> list[str]:
    """One Role in Startpunkt's own namespace grants exactly `leader_election_grants(lease)`,
    bound to Startpunkt's ServiceAccount."""
    roles = [r for r in of_kind(objs, "Role", "ClusterRole") if component(r) == LEADER_ELECTION]
    if len(roles) != 1:
        return [f"{len(roles)} leader-election roles, not one"]
    (role,) = roles
    problems = []
    if role["kind"] != "Role" or role["metadata"].get("namespace") != subject[0]:
        problems.append(f"the leader-election role is not a Role in {subject[0]}")
    expected = leader_election_grants(lease)
    if (found := named_rules(role)) != expected:
        problems.append(f"grants {sorted(found - expected, key=str)} too")
        problems.append(f"misses {sorted(expected - found, key=str)}")
    return problems + binding_problems(objs, role, subject)


# -- asking the apiserver's authorizer -----------------------------------------------------------


class Reviewer:
    """Asks the apiserver's authorizer what a ServiceAccount may do (SubjectAccessReview)."""

    def __init__(self, api: KubeApi, namespace: str, name: str = "startpunkt") -> None:
        self.api = api
        self.user = f"system:serviceaccount:{namespace}:{name}"
        self.groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
        self.groups.append("system:authenticated")

    def allowed(
        self, verb: str, group: str, resource: str, namespace: str | None, name: str | None = None
    ) -> bool:
        attributes = {"verb": verb, "group": group, "resource": resource}
        if namespace:
            attributes["namespace"] = namespace
        if name:
            attributes["name"] = name
        return self._review({"resourceAttributes": attributes})

    def may_discover(self) -> bool:
        return self._review({"nonResourceAttributes": {"verb": "get", "path": "/apis"}})

    def _review(self, attributes: dict[str, Any]) -> bool:
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": self.user, "groups": self.groups, **attributes},
        }
        review = self.api.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
        return bool(review["status"]["allowed"])


def wait_for_authorizer(review: Reviewer, objs: list[Obj]) -> None:
    """Waits until the authorizer grants the first permission of every rule of every role in
    `objs` (just applied): it learns of new roles and bindings through watches, moments later."""
    for role in of_kind(objs, "Role", "ClusterRole"):
        namespace = role["metadata"].get("namespace")
        for rule in role["rules"]:
            group, resource, verb = rule["apiGroups"][0], rule["resources"][0], rule["verbs"][0]
            name = (rule.get("resourceNames") or [None])[0]
            wait_until(
                lambda: review.allowed(verb, group, resource, namespace, name),  # noqa: B023
                what=f"{verb} {group}/{resource} {name or ''} in {namespace} to be allowed",
            )


def access_problems(
    review: Reviewer,
    plan: dict[str | None, set[Grant]],
    scope: Callable[[str | None], str | None],
    extra: set[Grant],
    own_namespace: str,
) -> list[str]:
    """What the authorizer says the ServiceAccount may do, against the watch plan: it may get,
    list and watch what Startpunkt reads (plus `extra`) where it reads it, may write none of it,
    and may not list what it never reads. `scope` maps a plan's namespace to the cluster's."""
    problems = []
    unneeded = [("", r) for r in sorted(NEVER_READ)] + [("", "pods"), ("apps", "deployments")]
    for namespace, reads in plan.items():
        where = scope(namespace)
        at = where or "all namespaces"
        for group, resource in sorted(reads | extra):
            problems += [
                f"cannot {verb} {group}/{resource} in {at}"
                for verb in sorted(READ_VERBS)
                if not review.allowed(verb, group, resource, where)
            ]
            problems += [
                f"may {verb} {group}/{resource} in {at}"
                for verb in WRITE_VERBS
                if review.allowed(verb, group, resource, where)
            ]
        problems += [
            f"may list {group}/{resource} in {at}"
            for group, resource in [*unneeded, ("", "configmaps"), ("", "services")]
            if (group, resource) not in extra and review.allowed("list", group, resource, where)
        ]
    if None not in plan:  # namespaced: nothing at the cluster scope or in its own namespace
        for elsewhere in (None, own_namespace):
            problems += [
                f"may list {group}/{resource} in {elsewhere or 'all namespaces'}"
                for group, resource in sorted(set().union(*plan.values()))
                if review.allowed("list", group, resource, elsewhere)
            ]
    return problems


def lease_access_problems(review: Reviewer, namespace: str, lease: str) -> list[str]:
    """The authorizer lets the ServiceAccount hold `lease` and keep the availability ConfigMap in
    `namespace`, and no other Lease, ConfigMap write or Secret there or anywhere else."""
    coordination = "coordination.k8s.io"
    may = [
        *[(v, coordination, "leases", namespace, lease) for v in ("get", "watch", "update")],
        ("create", coordination, "leases", namespace, None),
        *[(v, "", "configmaps", namespace, AVAILABILITY_CONFIGMAP) for v in ("get", "update")],
        ("create", "", "configmaps", namespace, None),
        ("watch", "", "configmaps", namespace, None),
    ]
    may_not = [
        ("update", coordination, "leases", namespace, "someone-else"),
        ("get", coordination, "leases", namespace, "someone-else"),
        ("delete", coordination, "leases", namespace, lease),
        ("update", coordination, "leases", "kube-system", lease),
        ("create", coordination, "leases", None, None),
        ("update", "", "configmaps", namespace, "someone-else"),
        ("delete", "", "configmaps", namespace, AVAILABILITY_CONFIGMAP),
        ("get", "", "secrets", namespace, None),
        ("list", "", "secrets", namespace, None),
    ]
    return [f"cannot {v} {g}/{r} {n or ''} in {ns}" for v, g, r, ns, n in may
            if not review.allowed(v, g, r, ns, n)] + [
        f"may {v} {g}/{r} {n or ''} in {ns or 'all namespaces'}"
        for v, g, r, ns, n in may_not
        if review.allowed(v, g, r, ns, n)
    ]  # fmt: skip
