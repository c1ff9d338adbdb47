"""A real etcd + kube-apiserver v1.20.2 on loopback, for tests.

See `reference/test-infrastructure.md` §1: Debian ships etcd but no kube-apiserver, so
`scripts/build-kube-apiserver.sh` builds one from Debian's `kubernetes` source package.

    cluster = KubeCluster(workdir, extra_flags=["--watch-cache=false"])
    cluster.start()
    cluster.api.apply_yaml(CRD_YAML)
    cluster.write_kubeconfig(tmp_path / "kubeconfig", user="alice")
    cluster.stop()

Processes never outlive the test run: `stop()` runs in fixture finalizers, an atexit handler
stops whatever is still running, and on Linux the children get SIGKILL if the Python process
dies without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BUILD_HINT = "run scripts/build-kube-apiserver.sh (or set STARTPUNKT_KUBE_APISERVER)"
ETCD_HINT = "install the Debian packages etcd-server and etcd-client"

#: Static token users: name -> groups. Only `admin` has rights; tests grant alice and bob via RBAC.
STATIC_USERS: Mapping[str, tuple[str, ...]] = {
    "admin": ("system:masters",),
    "alice": (),
    "bob": (),
}
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc"

JsonObject = dict[str, Any]


class KubeClusterError(RuntimeError):
    """The cluster could not be started, restarted or driven."""


class MissingBinaryError(KubeClusterError):
    """etcd or kube-apiserver is not installed or built."""


class KubeApiError(Exception):
    """The apiserver answered a request from the admin client with a non-2xx status."""

    def __init__(self, method: str, url: str, status_code: int, body: str) -> None:
        self.method = method
        self.url = url
        self.status_code = status_code
        self.body = body
        try:
            status = json.loads(body)
        except ValueError:
            status = {}
        self.reason: str | None = status.get("reason") if isinstance(status, dict) else None
        super().__init__(f"{method} {url} -> {status_code}: {body[:2000]}")


def kube_apiserver_binary() -> Path:
    """The kube-apiserver to run: `$STARTPUNKT_KUBE_APISERVER` or the build script's output."""
    if explicit := os.environ.get("STARTPUNKT_KUBE_APISERVER"):
        path = Path(explicit)
        where = f"STARTPUNKT_KUBE_APISERVER={explicit}"
    else:
        cache = os.environ.get("STARTPUNKT_CACHE") or Path.home() / ".cache" / "startpunkt"
        path = Path(cache) / "kube-apiserver-v1.20.2-r3"  # scripts/build-kube-apiserver.sh
        where = str(path)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise MissingBinaryError(f"kube-apiserver not found at {where}: {BUILD_HINT}")
    return path


def etcd_binaries() -> tuple[Path, Path]:
    """Debian's `etcd` and `etcdctl`."""
    found = [shutil.which(name) for name in ("etcd", "etcdctl")]
    if None in found:
        raise MissingBinaryError(
            f"etcd/etcdctl not on PATH: {ETCD_HINT}, then {BUILD_HINT} for kube-apiserver"
        )
    etcd, etcdctl = found
    assert etcd is not None
    assert etcdctl is not None
    return Path(etcd), Path(etcdctl)


def wait_for(
    condition: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll `condition` until it returns something truthy; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        if result := condition():
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class KubeCluster:
    """etcd + kube-apiserver on loopback, with static tokens, RBAC and service-account tokens."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        extra_flags: Sequence[str] = (),
        ready_timeout: float = 120.0,
    ) -> None:
        self.extra_flags = tuple(extra_flags)
        self.ready_timeout = ready_timeout
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="startpunkt-kube-"))
        self._tokens = {user: f"{user}-{secrets.token_hex(16)}" for user in STATIC_USERS}
        self._etcd: subprocess.Popen[bytes] | None = None
        self._apiserver: subprocess.Popen[bytes] | None = None
        self._api: KubeApi | None = None
        self._log_offset = 0
        self.port = self.etcd_port = self.etcd_peer_port = 0

    # -- addresses and credentials -------------------------------------------------------------

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def etcd_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def ca_file(self) -> Path:
        """The self-signed serving certificate (with its CA) written by `--cert-dir`."""
        return self.workdir / "certs" / "apiserver.crt"

    @property
    def apiserver_log(self) -> Path:
        return self.workdir / "apiserver.log"

    @property
    def admin_token(self) -> str:
        return self._tokens["admin"]

    def token_for(self, user: str) -> str:
        try:
            return self._tokens[user]
        except KeyError:
            raise KeyError(f"no static token for {user!r}; users: {sorted(self._tokens)}") from None

    @property
    def api(self) -> KubeApi:
        """A synchronous admin (system:masters) client for test setup."""
        if self._api is None:
            raise KubeClusterError("kube-apiserver is not running")
        return self._api

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def http_client(
        self, *, user: str = "admin", token: str | None = None, **kwargs: Any
    ) -> httpx.Client:
        """A new httpx client for `server`, authenticated as `user` (or with `token`)."""
        kwargs.setdefault("timeout", 30.0)
        return httpx.Client(
            base_url=self.server,
            verify=self.ssl_context(),
            headers={"Authorization": f"Bearer {token or self.token_for(user)}"},
            **kwargs,
        )

    def write_kubeconfig(
        self,
        path: Path | str,
        *,
        user: str = "admin",
        token: str | None = None,
        namespace: str | None = None,
    ) -> Path:
        """Write a kubeconfig for `user` (its static token, or `token` if given)."""
        context: JsonObject = {"cluster": "startpunkt-test", "user": user}
        if namespace:
            context["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "startpunkt-test",
                    "cluster": {"server": self.server, "certificate-authority": str(self.ca_file)},
                }
            ],
            "users": [{"name": user, "user": {"token": token or self.token_for(user)}}],
            "contexts": [{"name": "startpunkt-test", "context": context}],
            "current-context": "startpunkt-test",
        }
        path = Path(path)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> KubeCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start etcd and kube-apiserver on free loopback ports; return when /readyz is ok."""
        if self._etcd is not None:
            raise KubeClusterError("the cluster is already running")
        apiserver = kube_apiserver_binary()
        etcd, _ = etcd_binaries()
        self._prepare_files()
        _RUNNING.add(self)
        try:
            for attempt in range(3):  # a free port can be taken between picking and binding
                self.port, self.etcd_port, self.etcd_peer_port = _free_ports(3)
                try:
                    self._start_etcd(etcd)
                    self._spawn_apiserver(apiserver)
                    self._wait_ready()
                    return
                except _PortTakenError:
                    self._terminate_all()
                    if attempt == 2:
                        raise
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop kube-apiserver and etcd (SIGTERM, then SIGKILL), drop etcd's data. Idempotent."""
        self._terminate_all()
        _RUNNING.discard(self)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:  # keep the logs for a failed test; the etcd data is 60+ MB of preallocated WAL
            shutil.rmtree(self.workdir / "etcd", ignore_errors=True)

    def kill_apiserver(self) -> None:
        """SIGKILL kube-apiserver (etcd keeps running), for fault tests."""
        proc = self._apiserver
        if proc is None:
            raise KubeClusterError("kube-apiserver is not running")
        proc.kill()
        proc.wait()
        self._apiserver = None
        if self._api is not None:
            self._api.close()
            self._api = None

    def start_apiserver(self) -> None:
        """Start kube-apiserver again on the same port and etcd; return when /readyz is ok."""
        if self._etcd is None:
            raise KubeClusterError("the cluster is not running; use start()")
        if self._apiserver is not None:
            raise KubeClusterError("kube-apiserver is already running")
        self._spawn_apiserver(kube_apiserver_binary())
        try:
            self._wait_ready()
        except _PortTakenError as e:
            raise KubeClusterError(f"port {self.port} is taken, cannot restart: {e}") from e

    def compact_etcd(self) -> int:
        """Compact etcd at its current revision R and return R.

        A watch from resourceVersion < R - 1 then gets ERROR 410 Expired (with the watch cache
        off). A watch from exactly R - 1 starts at R but its previous value is gone: 500.
        """
        status = json.loads(self._etcdctl("endpoint", "status", "-w", "json"))
        revision = int(status[0]["Status"]["header"]["revision"])
        try:
            self._etcdctl("compact", "--physical", str(revision))
        except KubeClusterError as e:
            if "required revision has been compacted" not in str(e):
                raise
        return revision

    # -- internals -----------------------------------------------------------------------------

    def _prepare_files(self) -> None:
        (self.workdir / "certs").mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self.workdir / "sa.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        (self.workdir / "sa.pub").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        lines = []
        for user, groups in STATIC_USERS.items():
            line = f"{self._tokens[user]},{user},{user}"
            lines.append(f'{line},"{",".join(groups)}"' if groups else line)
        (self.workdir / "tokens.csv").write_text("\n".join(lines) + "\n")

    def _start_etcd(self, etcd: Path) -> None:
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        self._etcd = _spawn(
            [
                str(etcd),
                "--name=startpunkt-test",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_endpoint}",
                f"--advertise-client-urls={self.etcd_endpoint}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=startpunkt-test={peer}",
                "--logger=zap",
                "--log-outputs=stderr",
                "--log-level=warn",
            ],
            self.workdir / "etcd.log",
        )
        with httpx.Client(timeout=2.0) as client:

            def healthy() -> bool:
                self._check_alive(self._etcd, "etcd", self.workdir / "etcd.log", 0)
                try:
                    health = client.get(f"{self.etcd_endpoint}/health").json()
                except (httpx.TransportError, ValueError):
                    return False
                return isinstance(health, dict) and health.get("health") == "true"

            self._wait(healthy, "etcd /health", self.workdir / "etcd.log", 0)

    def _spawn_apiserver(self, binary: Path) -> None:
        w = self.workdir
        log = self.apiserver_log
        self._log_offset = log.stat().st_size if log.exists() else 0
        self._apiserver = _spawn(
            [
                str(binary),
                f"--etcd-servers={self.etcd_endpoint}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                "--insecure-port=0",
                f"--cert-dir={w / 'certs'}",
                f"--token-auth-file={w / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                f"--service-account-key-file={w / 'sa.pub'}",
                f"--service-account-signing-key-file={w / 'sa.key'}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--enable-admission-plugins=NamespaceLifecycle",
                "--disable-admission-plugins=ServiceAccount",
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                *self.extra_flags,
            ],
            log,
        )

    def _wait_ready(self) -> None:
        """Poll /readyz, then wait for the `default` namespace the bootstrap controller makes."""
        client: httpx.Client | None = None

        def ready() -> bool:
            nonlocal client
            self._check_alive(
                self._apiserver, "kube-apiserver", self.apiserver_log, self._log_offset
            )
            if client is None:
                try:
                    client = self.http_client(timeout=5.0)
                except (OSError, ssl.SSLError):  # no certificate yet, or half written
                    return False
            try:
                readyz = client.get("/readyz")
                if readyz.status_code != 200 or readyz.text != "ok":
                    return False
                return client.get("/api/v1/namespaces/default").status_code == 200
            except httpx.TransportError:
                return False

        try:
            self._wait(ready, "kube-apiserver /readyz", self.apiserver_log, self._log_offset)
        finally:
            if client is not None:
                client.close()
        if self._api is not None:
            self._api.close()
        self._api = KubeApi(self.http_client())

    def _wait(self, condition: Callable[[], bool], what: str, log: Path, offset: int) -> None:
        try:
            wait_for(condition, timeout=self.ready_timeout, what=what, interval=0.1)
        except TimeoutError as e:
            raise KubeClusterError(f"{e}; last lines of {log}:\n{_tail(log, offset)}") from None

    @staticmethod
    def _check_alive(
        proc: subprocess.Popen[bytes] | None, name: str, log: Path, offset: int
    ) -> None:
        if proc is None or proc.poll() is None:
            return
        tail = _tail(log, offset)
        message = f"{name} exited with status {proc.returncode}; last lines of {log}:\n{tail}"
        if "address already in use" in tail:
            raise _PortTakenError(message)
        raise KubeClusterError(message)

    def _terminate_all(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        for proc in (self._apiserver, self._etcd):  # the apiserver first: it needs etcd to exit
            if proc is not None:
                _terminate(proc)
        self._apiserver = self._etcd = None

    def _etcdctl(self, *args: str) -> str:
        _, etcdctl = etcd_binaries()
        result = subprocess.run(
            [str(etcdctl), f"--endpoints={self.etcd_endpoint}", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "ETCDCTL_API": "3"},
            check=False,
        )
        if result.returncode != 0:
            raise KubeClusterError(f"etcdctl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout


class KubeApi:
    """A small synchronous admin client for test setup, independent of the project's code."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self._discovery: dict[str, dict[str, tuple[str, bool]]] = {}

    def close(self) -> None:
        self.client.close()

    # -- raw requests --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> httpx.Response:
        content = None if body is None else json.dumps(body).encode()
        response = self.client.request(
            method, path, content=content, params=params, headers={"Content-Type": content_type}
        )
        if check and not response.is_success:
            raise KubeApiError(method, str(response.url), response.status_code, response.text)
        return response

    def get(self, path: str, params: Mapping[str, str] | None = None) -> JsonObject:
        return self._json(self.request("GET", path, params=params))

    def post(self, path: str, body: object) -> JsonObject:
        return self._json(self.request("POST", path, body=body))

    def put(self, path: str, body: object) -> JsonObject:
        return self._json(self.request("PUT", path, body=body))

    def patch(
        self, path: str, body: object, content_type: str = "application/merge-patch+json"
    ) -> JsonObject:
        return self._json(self.request("PATCH", path, body=body, content_type=content_type))

    def delete(self, path: str, params: Mapping[str, str] | None = None) -> JsonObject:
        return self._json(self.request("DELETE", path, params=params))

    @staticmethod
    def _json(response: httpx.Response) -> JsonObject:
        result: JsonObject = response.json()
        return result

    # -- discovery and paths -------------------------------------------------------------------

    def resource_path(
        self, api_version: str, kind: str, *, namespace: str | None = None, name: str | None = None
    ) -> str:
        """The URL path of a kind's collection (or of one object, given `name`)."""
        plural, namespaced = self._resource(api_version, kind)
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespaced:
            path += f"/namespaces/{namespace or 'default'}"
        path += f"/{plural}"
        return f"{path}/{name}" if name else path

    def _resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a kind, from discovery; looks again once on a miss."""
        for refresh in (False, True):
            if found := self._discover(api_version, refresh=refresh).get(kind):
                return found
        raise LookupError(f"the apiserver serves no {kind} in {api_version} (CRD not applied?)")

    def _discover(self, api_version: str, *, refresh: bool = False) -> dict[str, tuple[str, bool]]:
        if refresh or api_version not in self._discovery:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            response = self.request("GET", path, check=False)
            if response.status_code == 404:
                resources = {}
            elif not response.is_success:
                raise KubeApiError("GET", path, response.status_code, response.text)
            else:
                resources = {
                    r["kind"]: (r["name"], r["namespaced"])
                    for r in response.json()["resources"]
                    if "/" not in r["name"]  # subresources such as deployments/scale
                }
            self._discovery[api_version] = resources
        return self._discovery[api_version]

    # -- objects -------------------------------------------------------------------------------

    def apply(
        self, obj_or_list: Mapping[str, Any] | Iterable[Mapping[str, Any]], *, wait: bool = True
    ) -> list[JsonObject]:
        """Create or replace each object; a `kind: List` is unpacked.

        With `wait`, a CustomResourceDefinition is waited for until it is established and
        served, so later objects (or the next call) can use it.
        """
        objs = [obj_or_list] if isinstance(obj_or_list, Mapping) else list(obj_or_list)
        results = []
        for obj in objs:
            if obj.get("kind") == "List":
                results.extend(self.apply(obj.get("items") or [], wait=wait))
                continue
            result = self._apply_one(obj)
            if wait and obj["kind"] == "CustomResourceDefinition":
                self.wait_for_crd(result["metadata"]["name"])
            results.append(result)
        return results

    def apply_yaml(
        self, text_or_path: str | os.PathLike[str], *, wait: bool = True
    ) -> list[JsonObject]:
        """Apply multi-document YAML, given as text or as a file (a Path, or a one-line str)."""
        if isinstance(text_or_path, os.PathLike) or (
            "\n" not in text_or_path and Path(text_or_path).is_file()
        ):
            text = Path(text_or_path).read_text()
        else:
            text = text_or_path
        return self.apply([doc for doc in yaml.safe_load_all(text) if doc], wait=wait)

    def _apply_one(self, obj: Mapping[str, Any]) -> JsonObject:
        body = copy.deepcopy(dict(obj))
        meta = body.setdefault("metadata", {})
        collection = self.resource_path(
            body["apiVersion"], body["kind"], namespace=meta.get("namespace")
        )
        created = self.request("POST", collection, body=body, check=False)
        if created.status_code != 409:
            if not created.is_success:
                raise KubeApiError("POST", collection, created.status_code, created.text)
            return self._json(created)
        path = f"{collection}/{meta['name']}"
        for _ in range(5):  # replace; retry if someone else updated it in between
            meta["resourceVersion"] = self.get(path)["metadata"]["resourceVersion"]
            replaced = self.request("PUT", path, body=body, check=False)
            if replaced.status_code != 409:
                if not replaced.is_success:
                    raise KubeApiError("PUT", path, replaced.status_code, replaced.text)
                return self._json(replaced)
        raise KubeApiError("PUT", path, replaced.status_code, replaced.text)

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> JsonObject:
        metadata: JsonObject = {"name": name, "labels": dict(labels or {})}
        return self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})[0]

    def wait_for_crd(self, name: str, timeout: float = 60.0) -> JsonObject:
        """Wait until the CRD is Established and each served version shows up in discovery."""
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"

        def served() -> JsonObject | None:
            crd = self.get(path)
            conditions = (crd.get("status") or {}).get("conditions") or []
            if not any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                return None
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served", True):
                    api_version = f"{spec['group']}/{version['name']}"
                    if spec["names"]["kind"] not in self._discover(api_version, refresh=True):
                        return None
            return crd

        result: JsonObject = wait_for(served, timeout=timeout, what=f"CRD {name} to be served")
        return result

    def request_token(
        self,
        namespace: str,
        serviceaccount: str,
        audiences: Sequence[str] | None = None,
        expiration_seconds: int = 3600,
    ) -> str:
        """A bound service-account token from the TokenRequest API (the SA must exist)."""
        spec: JsonObject = {"expirationSeconds": expiration_seconds}
        if audiences is not None:
            spec["audiences"] = list(audiences)
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{serviceaccount}/token"
        token: str = self.post(path, body)["status"]["token"]
        return token


class _PortTakenError(KubeClusterError):
    pass


# -- processes -----------------------------------------------------------------------------------

_RUNNING: set[KubeCluster] = set()


@atexit.register
def _stop_all() -> None:
    for cluster in list(_RUNNING):
        cluster.stop()


if sys.platform == "linux":
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
    _PR_SET_PDEATHSIG = 1

    def _die_with_parent() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

else:  # pragma: no cover
    _die_with_parent = None  # type: ignore[assignment]


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so only the main thread uses it.
    main_thread = threading.current_thread() is threading.main_thread()
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C goes to pytest, which then stops us in order
            preexec_fn=_die_with_parent if main_thread else None,  # noqa: PLW1509
        )


def _terminate(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sockets.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(log: Path, offset: int, lines: int = 40) -> str:
    with contextlib.suppress(OSError), log.open("rb") as f:
        f.seek(offset)
        return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
    return f"({log} is missing)"
