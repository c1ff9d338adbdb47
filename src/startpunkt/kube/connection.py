"""How to reach the API server: a kubeconfig file or the in-cluster service account.

Supports kubeconfigs as people have them: bearer tokens (inline or from a file, re-read so
rotated service-account tokens keep working), client certificates (files or inline data), a CA
(file or inline data), `insecure-skip-tls-verify`, `proxy-url` (http, https; socks5 with
httpx's socks extra), and `exec` credential plugins (`kube/credentials.py`). The legacy
`auth-provider` plugins, removed from kubectl, are refused with the exec plugin to use instead.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
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
from startpunkt.kube.credentials import (
    AUTH_PROVIDER_REPLACEMENTS,
    ExecPlugin,
    exec_client,
    exec_plugin_from,
)

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
    exec_plugin: ExecPlugin | None = None
    proxy: str | None = None  # the cluster's proxy-url

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
        headers = {"Accept": "application/json", "User-Agent": "startpunkt"}
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
        if self.exec_plugin is not None:
            return exec_client(
                self.exec_plugin,
                tls=self.ssl_context,
                proxy=self.proxy,
                limits=limits,
                base_url=self.server,
                timeout=timeout,
                headers=headers,
            )
        return httpx.AsyncClient(
            base_url=self.server,
            verify=self.ssl_context(),
            timeout=timeout,
            auth=_BearerAuth(self.token, self.token_file),
            headers=headers,
            limits=limits,
            proxy=self.proxy,
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


def _materialise(data: bytes | None, suffix: str) -> str:
    """Inline credentials -> a private temp file, which is what ssl wants."""
    fd, path = tempfile.mkstemp(prefix="startpunkt-", suffix=suffix)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data or b"")
    return path


def _named(entries: Any, name: str, *, what: str, source: str) -> Mapping[str, Any]:
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


def _relative(path: object, base: Path | None) -> str | None:
    if not path:
        return None
    path = str(path)
    if os.path.isabs(path):
        return path
    if base is None:
        raise ValueError(
            f"{path!r} is a relative path, and this kubeconfig is no file it could be relative "
            "to; use an absolute path or the inline -data form"
        )
    return str(base.parent / path)


def from_kubeconfig(paths: list[Path], context: str | None = None) -> Connection:
    config, first = _merge_kubeconfigs(paths)
    source = ", ".join(str(p) for p in paths)
    return _connection(config, context, source=source, base=first, allow_exec=True)


MAX_KUBECONFIG_TEXT = 1 << 20


def from_kubeconfig_text(
    text: str | bytes,
    context: str | None = None,
    *,
    source: str = "kubeconfig",
    allow_exec: bool = False,
) -> Connection:
    """A kubeconfig held as data (a Secret's key, say), with the same checks as a file.

    File references must be absolute. An `exec` plugin runs a command named by whoever wrote
    the data, so it is refused unless `allow_exec`.
    """
    if len(text) > MAX_KUBECONFIG_TEXT:
        raise ConnectionConfigError(
            f"{source}: the kubeconfig is larger than {MAX_KUBECONFIG_TEXT} bytes"
        )
    try:
        raw = safeyaml.decode(text) if isinstance(text, bytes) else text
        data = safeyaml.load(raw, KUBECONFIG_LIMITS) or {}
    except safeyaml.YamlError as e:
        raise ConnectionConfigError(f"{source}: not a usable kubeconfig: {e}") from e
    if not isinstance(data, Mapping):
        raise ConnectionConfigError(f"{source}: not a kubeconfig (expected a mapping)")
    config = {
        "current-context": data.get("current-context"),
        **{
            section: [e for e in data.get(section) or () if isinstance(e, Mapping)]
            for section in ("clusters", "users", "contexts")
        },
    }
    return _connection(config, context, source=source, base=None, allow_exec=allow_exec)


def _connection(
    config: Mapping[str, Any],
    context: str | None,
    *,
    source: str,
    base: Path | None,
    allow_exec: bool,
) -> Connection:
    """The context's cluster and user -> a Connection; `base`: the file relative paths follow."""
    name = context or config.get("current-context")
    if not name:
        raise ConnectionConfigError(f"{source}: no current-context; pass --context NAME")
    ctx = _named(config["contexts"], name, what="context", source=source)
    cluster = _named(config["clusters"], str(ctx.get("cluster")), what="cluster", source=source)
    user = (
        _named(config["users"], str(ctx.get("user")), what="user", source=source)
        if ctx.get("user")
        else {}
    )
    if not cluster.get("server"):
        raise ConnectionConfigError(f"{source}: cluster {ctx.get('cluster')!r} has no server")
    try:
        return _connection_of(
            name, ctx, cluster=cluster, user=user, base=base, allow_exec=allow_exec
        )
    except ValueError as e:
        raise ConnectionConfigError(f"{source}: {e}") from e


def _connection_of(
    name: str,
    ctx: Mapping[str, Any],
    *,
    cluster: Mapping[str, Any],
    user: Mapping[str, Any],
    base: Path | None,
    allow_exec: bool,
) -> Connection:
    """ValueError, with the fix in its message, for a setting Startpunkt cannot use."""
    user_name = str(ctx.get("user"))
    cert = _relative(user.get("client-certificate"), base)
    key = _relative(user.get("client-key"), base)
    if user.get("client-certificate-data"):
        cert = _materialise(_decoded(user, "client-certificate-data", user_name), ".crt")
    if user.get("client-key-data"):
        key = _materialise(_decoded(user, "client-key-data", user_name), ".key")
    return Connection(
        server=str(cluster["server"]).rstrip("/"),
        ca_file=_relative(cluster.get("certificate-authority"), base),
        ca_data=_decoded(cluster, "certificate-authority-data", str(ctx.get("cluster"))),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        token=user.get("token"),
        token_file=_relative(user.get("tokenFile"), base),
        client_cert=(cert, key) if cert and key else None,
        namespace=str(ctx.get("namespace") or "default"),
        description=f"kubeconfig {base} (context {name})" if base else f"context {name}",
        exec_plugin=_exec_plugin(
            user, user_name, cluster=cluster, base=base, allow_exec=allow_exec
        ),
        proxy=_proxy(cluster),
    )


def _decoded(section: Mapping[str, Any], key: str, owner: str) -> bytes | None:
    if not (value := section.get(key)):
        return None
    try:
        return base64.b64decode("".join(str(value).split()), validate=True)  # line breaks allowed
    except binascii.Error:
        raise ValueError(f"{key} of {owner!r} is not base64") from None


def _exec_plugin(
    user: Mapping[str, Any],
    user_name: str,
    *,
    cluster: Mapping[str, Any],
    base: Path | None,
    allow_exec: bool,
) -> ExecPlugin | None:
    if "auth-provider" in user:
        provider = user["auth-provider"]
        kind = str(provider.get("name")) if isinstance(provider, Mapping) else "?"
        instead = AUTH_PROVIDER_REPLACEMENTS.get(kind, "the provider's exec credential plugin")
        raise ValueError(
            f"user {user_name!r} uses the {kind!r} auth-provider, which kubectl no longer "
            f"supports and Startpunkt does not run; switch the user to an exec plugin: {instead}"
        )
    if "exec" not in user:
        return None
    if not allow_exec:
        raise ValueError(
            f"user {user_name!r} authenticates with an exec plugin, which is not run for a "
            "kubeconfig given as data (it would run a command its writer chose); use a token "
            "or a client certificate"
        )
    return exec_plugin_from(user["exec"], user=user_name, base=base, cluster=cluster)


def _proxy(cluster: Mapping[str, Any]) -> str | None:
    if not (proxy := cluster.get("proxy-url")):
        return None
    scheme = str(proxy).partition("://")[0].lower() if "://" in str(proxy) else ""
    if scheme not in ("http", "https", "socks5"):
        raise ValueError(f"proxy-url {proxy!r} is not an http://, https:// or socks5:// URL")
    if scheme == "socks5" and importlib.util.find_spec("socksio") is None:
        raise ValueError(
            f"proxy-url {proxy!r} needs SOCKS support, which this installation lacks "
            "(pip install 'httpx[socks]'); or use an http:// proxy"
        )
    return str(proxy)


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
