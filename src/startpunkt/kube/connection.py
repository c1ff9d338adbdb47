"""How to reach the API server: a kubeconfig file or the in-cluster service account.

Supports what a start page needs: bearer tokens (inline or from a file, re-read so rotated
service-account tokens keep working), client certificates, and a CA bundle. Exec and
auth-provider plugins are refused with a clear message rather than half-supported.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from startpunkt import safeyaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# generous for a kubeconfig of many clusters with inline certificates; bounded all the same
TOKEN_FILE_BYTES = 64 * 1024
KUBECONFIG_LIMITS = safeyaml.Limits(max_bytes=16 * 1024 * 1024, max_nodes=1_000_000, max_depth=50)


class ConnectionConfigError(Exception):
    """No usable way to reach a cluster; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Connection:
    server: str
    ca_file: str | None = None
    ca_data: bytes | None = None
    insecure: bool = False
    token: str | None = None
    token_file: str | None = None
    client_cert: tuple[str, str] | None = None  # (cert file, key file)
    namespace: str = "default"  # the context's namespace, or the pod's
    description: str = ""  # where this came from, for logs

    def ssl_context(self) -> ssl.SSLContext | bool:
        if self.insecure:
            return False
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.ca_data:
            context.load_verify_locations(cadata=self.ca_data.decode())
        if self.client_cert:
            context.load_cert_chain(*self.client_cert)
        return context

    def client(self, timeout: httpx.Timeout) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.server,
            verify=self.ssl_context(),
            timeout=timeout,
            auth=_BearerAuth(self.token, self.token_file),
            headers={"Accept": "application/json", "User-Agent": "startpunkt"},
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
        )


class _BearerAuth(httpx.Auth):
    """A static token, or a token file re-read every minute (service-account tokens rotate)."""

    def __init__(self, token: str | None, token_file: str | None) -> None:
        self._token = token
        self._file = token_file
        self._read_at = 0.0

    def _current(self) -> str | None:
        if self._file and time.monotonic() - self._read_at > 60:
            try:
                # bounded, and never a FIFO: this runs on the event loop
                data = safeyaml.read_bytes(self._file, TOKEN_FILE_BYTES)
                self._token = data.decode().strip()
                self._read_at = time.monotonic()
            except (OSError, ValueError):
                pass  # keep the last token; the API server will say if it expired
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if token := self._current():
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


def _decoded(data: object, what: str, source: str) -> bytes:
    try:
        return base64.b64decode(str(data), validate=True)
    except ValueError as e:
        raise ConnectionConfigError(f"{source}: {what} is not base64 ({e})") from e


def _materialise(data: bytes, suffix: str) -> str:
    """Inline base64 credentials -> a private temp file, which is what ssl wants."""
    fd, path = tempfile.mkstemp(prefix="startpunkt-", suffix=suffix)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def _named(entries: Any, name: str, what: str, source: str) -> Mapping[str, Any]:
    for entry in entries or ():
        if isinstance(entry, Mapping) and entry.get("name") == name:
            value = entry.get(what)
            return value if isinstance(value, Mapping) else {}
    raise ConnectionConfigError(f"{source}: no {what} named {name!r}")


def _merge_kubeconfigs(paths: list[Path]) -> tuple[dict[str, Any], Path]:
    """KUBECONFIG may list several files; the first to set a key wins, as kubectl does."""
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    first: Path | None = None
    for path in paths:
        if not path.is_file():
            continue
        try:
            data = safeyaml.load_file(path, KUBECONFIG_LIMITS) or {}
        except OSError as e:
            raise ConnectionConfigError(
                f"{path}: cannot read the kubeconfig ({e.strerror or e})"
            ) from e
        except safeyaml.YamlError as e:
            raise ConnectionConfigError(f"{path}: not a usable kubeconfig: {e}") from e
        if not isinstance(data, Mapping):
            raise ConnectionConfigError(f"{path}: not a kubeconfig (expected a mapping)")
        first = first or path
        for section in ("clusters", "users", "contexts"):
            entries = data.get(section)
            if entries is not None and not isinstance(entries, list):
                raise ConnectionConfigError(f"{path}: {section} must be a list")
            merged[section] += [e for e in entries or () if isinstance(e, Mapping)]
        if not merged.get("current-context"):
            merged["current-context"] = data.get("current-context")
    if first is None:
        raise FileNotFoundError
    return merged, first


def _relative(path: object, base: Path) -> str | None:
    if not path:
        return None
    return str(path) if os.path.isabs(str(path)) else str(base.parent / str(path))


def from_kubeconfig(paths: list[Path], context: str | None = None) -> Connection:
    config, first = _merge_kubeconfigs(paths)
    name = context or config.get("current-context")
    source = ", ".join(str(p) for p in paths)
    if not name:
        raise ConnectionConfigError(f"{source}: no current-context; pass --context NAME")
    ctx = _named(config["contexts"], name, "context", source)
    cluster = _named(config["clusters"], str(ctx.get("cluster")), "cluster", source)
    user = _named(config["users"], str(ctx.get("user")), "user", source) if ctx.get("user") else {}
    if "exec" in user or "auth-provider" in user:
        raise ConnectionConfigError(
            f"{source}: user {ctx.get('user')!r} authenticates with an exec or auth-provider "
            "plugin, which Startpunkt does not run; use a token or client certificate"
        )
    server = cluster.get("server")
    if not server:
        raise ConnectionConfigError(f"{source}: cluster {ctx.get('cluster')!r} has no server")
    cert = _relative(user.get("client-certificate"), first)
    key = _relative(user.get("client-key"), first)
    if data := user.get("client-certificate-data"):
        cert = _materialise(_decoded(data, "client-certificate-data", source), ".crt")
    if data := user.get("client-key-data"):
        key = _materialise(_decoded(data, "client-key-data", source), ".key")
    ca_data = cluster.get("certificate-authority-data")
    return Connection(
        server=str(server).rstrip("/"),
        ca_file=_relative(cluster.get("certificate-authority"), first),
        ca_data=_decoded(ca_data, "certificate-authority-data", source) if ca_data else None,
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        token=user.get("token"),
        token_file=_relative(user.get("tokenFile"), first),
        client_cert=(cert, key) if cert and key else None,
        namespace=str(ctx.get("namespace") or "default"),
        description=f"kubeconfig {first} (context {name})",
    )


def in_cluster(environ: Mapping[str, str], sa_dir: Path = SERVICE_ACCOUNT_DIR) -> Connection:
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    token = sa_dir / "token"
    if not host or not port or not token.is_file():
        raise FileNotFoundError
    namespace_file = sa_dir / "namespace"
    host = f"[{host}]" if ":" in host else host
    return Connection(
        server=f"https://{host}:{port}",
        ca_file=str(sa_dir / "ca.crt"),
        token_file=str(token),
        namespace=namespace_file.read_text().strip() if namespace_file.is_file() else "default",
        description="in-cluster service account",
    )


def discover(
    kubeconfig: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """--kubeconfig, then KUBECONFIG, then ~/.kube/config, then the in-cluster service account."""
    environ = os.environ if environ is None else environ
    if kubeconfig:
        paths = [Path(kubeconfig)]
    elif environ.get("KUBECONFIG"):
        paths = [Path(p) for p in environ["KUBECONFIG"].split(os.pathsep) if p]
    else:
        paths = [Path(environ.get("HOME", "~")).expanduser() / ".kube" / "config"]
    try:
        return from_kubeconfig(paths, context)
    except FileNotFoundError:
        if kubeconfig:
            raise ConnectionConfigError(f"{kubeconfig}: kubeconfig file not found") from None
    try:
        return in_cluster(environ)
    except FileNotFoundError:
        pass
    raise ConnectionConfigError(
        "no Kubernetes cluster to watch: found no kubeconfig ("
        + ", ".join(str(p) for p in paths)
        + ") and no in-cluster service account ("
        f"{SERVICE_ACCOUNT_DIR}/token with KUBERNETES_SERVICE_HOST). "
        "Point KUBECONFIG or --kubeconfig at a cluster, or run without one: "
        "startpunkt serve --manifests DIR"
    )
