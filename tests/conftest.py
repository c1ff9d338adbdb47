from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Sequence

import pytest

from tests.kubecluster import KubeCluster, MissingBinaryError

# -- the real kube-apiserver (tests/kubecluster.py) ----------------------------------------------

CLUSTER_FIXTURES = frozenset(
    {"kube_cluster", "kube_cluster_nocache", "kube_cluster_short_watch", "make_kube_cluster"}
)


#: Per-test time limits. An in-process test that needs more than a few seconds is hanging; tests
#: that start apiservers, browsers or server processes, and property tests, get more room.
IN_PROCESS_TIMEOUT = 5
PROPERTY_TIMEOUT = 120
PROCESS_TIMEOUT = 300  # the ini default, for `cluster`, `browser` and `process` tests


def _starts_processes(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return module is not None and ("subprocess" in vars(module) or "Served" in vars(module))


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by these marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by what it starts, even if its author forgot."""
    for item in items:
        if CLUSTER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.cluster)
        if _starts_processes(item):
            item.add_marker(pytest.mark.process)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Set each test's time limit, once every conftest has marked its tests."""
    for item in session.items:
        if item.get_closest_marker("timeout"):
            continue
        if any(item.get_closest_marker(m) for m in ("cluster", "browser", "process")):
            continue
        is_property = hasattr(getattr(item, "obj", None), "hypothesis")
        limit = PROPERTY_TIMEOUT if is_property else IN_PROCESS_TIMEOUT
        item.add_marker(pytest.mark.timeout(limit))


def _started_cluster(factory: pytest.TempPathFactory, extra_flags: Sequence[str]) -> KubeCluster:
    cluster = KubeCluster(factory.mktemp("kube-cluster"), extra_flags=extra_flags)
    try:
        cluster.start()
    except MissingBinaryError as e:  # fail, never skip: a missing cluster is a broken setup
        missing = str(e)
    else:
        return cluster
    pytest.fail(missing, pytrace=False)


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """The shared cluster: watch cache on, so watches get BOOKMARKs."""
    cluster = _started_cluster(tmp_path_factory, ())
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def kube_cluster_nocache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """Watch cache off: `compact_etcd()` makes old resourceVersions give 410 (but no BOOKMARKs)."""
    cluster = _started_cluster(tmp_path_factory, ("--watch-cache=false",))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def kube_cluster_short_watch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """`--min-request-timeout=3`: the server ends every watch after 3-6 s."""
    cluster = _started_cluster(tmp_path_factory, ("--min-request-timeout=3",))
    yield cluster
    cluster.stop()


@pytest.fixture
def make_kube_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., KubeCluster]]:
    """`make_kube_cluster(extra_flags=(...))` starts a private cluster, stopped after the test.

    For tests that kill or restart the apiserver, which would disturb the shared clusters.
    """
    clusters: list[KubeCluster] = []

    def make(extra_flags: Sequence[str] = ()) -> KubeCluster:
        cluster = _started_cluster(tmp_path_factory, extra_flags)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop()


@pytest.fixture
def kube_namespace(kube_cluster: KubeCluster, request: pytest.FixtureRequest) -> str:
    """A fresh namespace in `kube_cluster`, named after the test.

    It is not deleted afterwards: no namespace controller runs, so a deleted namespace would
    stay Terminating with all its objects. Scope watches to the namespace to stay isolated.
    """
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50].strip("-")
    name = f"{stem}-{secrets.token_hex(3)}"
    kube_cluster.api.create_namespace(name)
    return name


@pytest.fixture(scope="session")
def crd_cluster(kube_cluster: KubeCluster) -> KubeCluster:
    """`kube_cluster` with Startpunkt's CRDs installed."""
    from tests.kubeobjects import install_crds  # noqa: PLC0415

    install_crds(kube_cluster)
    return kube_cluster
