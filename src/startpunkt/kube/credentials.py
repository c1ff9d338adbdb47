"""Credentials a kubeconfig gets from a program: `exec` plugins (client.authentication.k8s.io).

This is how EKS (`aws eks get-token`), GKE (`gke-gcloud-auth-plugin`), AKS and OIDC
(`kubelogin`) users authenticate. The plugin runs as kubectl runs it: with its args and env,
`KUBERNETES_EXEC_INFO` describing the request, no terminal (Startpunkt runs unattended). Its
token or client certificate is kept until `expirationTimestamp` and fetched again when it
expires or the API server answers 401.

The plugin runs off the event loop (an asyncio subprocess) with a timeout and bounded output;
one run serves every request waiting for it. A plugin that fails is an `ExecCredentialError`,
a transport error to the callers, so reflectors retry it with backoff like a refused connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import signal
import ssl
import tempfile
import time
import urllib.request
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_TIMEOUT = 30.0  # seconds for one plugin run; kubectl has none, but a pod must not hang
MAX_OUTPUT = 1 << 20  # an ExecCredential is a few KB; a certificate chain stays far below this
MAX_STDERR = 64 << 10

# What a kubeconfig names in `auth-provider`, and the exec plugin that replaced it.
AUTH_PROVIDER_REPLACEMENTS = {
    "gcp": "gke-gcloud-auth-plugin",
    "azure": "kubelogin (github.com/Azure/kubelogin)",
    "oidc": "kubelogin (github.com/int128/kubelogin, `kubectl oidc-login`)",
}


class ExecCredentialError(httpx.TransportError):
    """The exec plugin gave no usable credential; the message says why, without secrets.

    A transport error, because to a caller it is one: no request could be sent, and trying
    again later (the plugin installed, the network back) may work.
    """


@dataclass(frozen=True, slots=True)
class ExecPlugin:
    """A kubeconfig user's `exec` section, validated."""

    command: str
    user: str  # the kubeconfig user, for messages
    api_version: str = API_VERSIONS[0]
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    install_hint: str = ""
    cluster_info: Mapping[str, Any] | None = None  # spec.cluster, if provideClusterInfo
    timeout: float = EXEC_TIMEOUT

    def exec_info(self) -> str:
        """KUBERNETES_EXEC_INFO, as kubectl sets it for a run without a terminal."""
        spec: dict[str, Any] = {"interactive": False}
        if self.cluster_info is not None:
            spec["cluster"] = dict(self.cluster_info)
        info = {"kind": "ExecCredential", "apiVersion": self.api_version, "spec": spec}
        return json.dumps(info, default=str)  # YAML may have given the config dates

    def describe(self) -> str:
        return f"exec plugin {Path(self.command).name!r} of user {self.user!r}"


@dataclass(frozen=True, slots=True)
class Credential:
    token: str | None = None
    certificate: tuple[bytes, bytes] | None = None  # (PEM chain, PEM key)
    expires: float | None = None  # seconds since the epoch

    def expired(self, now: float) -> bool:
        return self.expires is not None and now >= self.expires


def exec_plugin_from(
    spec: Any, *, user: str, base: Path | None, cluster: Mapping[str, Any]
) -> ExecPlugin:
    """A kubeconfig `exec` section -> ExecPlugin; ValueError with the fix in its message."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"user {user!r}: exec must be a mapping")
    api_version = spec.get("apiVersion")
    if api_version not in API_VERSIONS:
        raise ValueError(
            f"user {user!r}: exec apiVersion {api_version!r} is not supported; "
            f"use {' or '.join(API_VERSIONS)} (update the plugin or regenerate the kubeconfig)"
        )
    command = spec.get("command")
    if not isinstance(command, str) or not command:
        raise ValueError(f"user {user!r}: exec has no command")
    if os.sep in command and not os.path.isabs(command):
        # kubectl: a relative path with a separator is relative to the kubeconfig file
        if base is None:
            raise ValueError(
                f"user {user!r}: exec command {command!r} is a relative path, and this "
                "kubeconfig is no file it could be relative to; use an absolute path or a "
                "command on PATH"
            )
        command = str(base.parent / command)
    args = spec.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ValueError(f"user {user!r}: exec args must be a list of strings")
    env: list[tuple[str, str]] = []
    for entry in spec.get("env") or []:
        if not (
            isinstance(entry, Mapping)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("value"), str)
        ):
            raise ValueError(f"user {user!r}: exec env entries need a name and a string value")
        env.append((entry["name"], entry["value"]))
    mode = spec.get("interactiveMode") or "IfAvailable"
    if mode == "Always":
        raise ValueError(
            f"user {user!r}: exec interactiveMode is Always, but Startpunkt runs without a "
            "terminal; configure the plugin to get credentials without asking "
            "(interactiveMode Never or IfAvailable, e.g. a service principal or a cached login)"
        )
    if mode not in ("Never", "IfAvailable"):
        raise ValueError(
            f"user {user!r}: exec interactiveMode {mode!r} is not one of Never, IfAvailable"
        )
    hint = spec.get("installHint")
    return ExecPlugin(
        command=command,
        user=user,
        api_version=api_version,
        args=tuple(args),
        env=tuple(env),
        install_hint=hint.strip() if isinstance(hint, str) else "",
        cluster_info=_cluster_info(cluster, base) if spec.get("provideClusterInfo") else None,
    )


def _cluster_info(cluster: Mapping[str, Any], base: Path | None) -> dict[str, Any]:
    """ExecCredential spec.cluster: what kubectl tells a plugin that asks about the cluster."""
    info: dict[str, Any] = {"server": cluster.get("server")}
    for key in ("tls-server-name", "insecure-skip-tls-verify", "proxy-url"):
        if cluster.get(key):
            info[key] = cluster[key]
    if cluster.get("certificate-authority-data"):
        info["certificate-authority-data"] = cluster["certificate-authority-data"]
    elif ca_file := cluster.get("certificate-authority"):
        path = Path(str(ca_file))
        if not path.is_absolute() and base is not None:
            path = base.parent / path
        try:  # kubectl hands the plugin the CA's content, not the file's name
            info["certificate-authority-data"] = base64.b64encode(path.read_bytes()).decode()
        except OSError as e:
            raise ValueError(f"cannot read certificate-authority {str(ca_file)!r}: {e}") from e
    for extension in cluster.get("extensions") or ():
        if isinstance(extension, Mapping) and extension.get("name") == (
            "client.authentication.k8s.io/exec"
        ):
            info["config"] = extension.get("extension")
    return info


async def _read_bounded(stream: asyncio.StreamReader | None, limit: int, *, strict: bool) -> bytes:
    """Up to `limit` bytes; past it, an error (`strict`) or the rest read and dropped."""
    if stream is None:
        return b""
    data = bytearray()
    while chunk := await stream.read(65536):
        if len(data) + len(chunk) > limit:
            if strict:
                raise OverflowError
            data += chunk[: max(0, limit - len(data))]
        else:
            data += chunk
    return bytes(data)


def _first_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
    return next((line[:300] for line in lines if line), "")


async def run_plugin(plugin: ExecPlugin, request: httpx.Request | None = None) -> Credential:
    """Runs the plugin once and parses its ExecCredential; ExecCredentialError if it fails."""

    def fail(message: str) -> ExecCredentialError:
        return ExecCredentialError(f"{plugin.describe()}: {message}", request=request)

    env = {**os.environ, **dict(plugin.env), "KUBERNETES_EXEC_INFO": plugin.exec_info()}
    try:
        proc = await asyncio.create_subprocess_exec(
            plugin.command,
            *plugin.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # no terminal, and a group to kill with its children
        )
    except FileNotFoundError:
        hint = plugin.install_hint or "install it, or put it on Startpunkt's PATH"
        raise fail(f"command {plugin.command!r} not found. {hint}") from None
    except OSError as e:
        raise fail(f"cannot run {plugin.command!r}: {e.strerror or e}") from None
    # stderr drains alongside, so a chatty plugin cannot stall on a full pipe
    stderr_reader = asyncio.ensure_future(_read_bounded(proc.stderr, MAX_STDERR, strict=False))
    finished = False
    try:
        async with asyncio.timeout(plugin.timeout):
            stdout = await _read_bounded(proc.stdout, MAX_OUTPUT, strict=True)
            stderr = await stderr_reader
            status = await proc.wait()
            finished = True
    except TimeoutError:
        raise fail(f"gave no credential within {plugin.timeout:.0f} s; stopped it") from None
    except OverflowError:
        raise fail(f"printed more than {MAX_OUTPUT} bytes; stopped it") from None
    finally:
        if not finished:  # the whole group: children that keep the pipes open go too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        stderr_reader.cancel()
        await asyncio.wait([stderr_reader])
    if status != 0:
        detail = _first_line(stderr)
        raise fail(f"exited with status {status}" + (f": {detail}" if detail else ""))
    return _parse(stdout, plugin, fail)


def _parse(
    stdout: bytes, plugin: ExecPlugin, fail: Callable[[str], ExecCredentialError]
) -> Credential:
    # never quote the output in errors: it holds the credential
    try:
        document = json.loads(stdout)
    except (ValueError, RecursionError):
        raise fail("printed no ExecCredential JSON") from None
    if not isinstance(document, Mapping) or document.get("kind") != "ExecCredential":
        raise fail("printed JSON that is no ExecCredential")
    if document.get("apiVersion") != plugin.api_version:
        raise fail(
            f"answered with apiVersion {document.get('apiVersion')!r}, but the kubeconfig asks "
            f"for {plugin.api_version!r}; make the kubeconfig's exec apiVersion match the plugin"
        )
    status = document.get("status")
    if not isinstance(status, Mapping):
        raise fail("printed an ExecCredential without status")
    token, cert, key = (
        status.get("token"),
        status.get("clientCertificateData"),
        status.get("clientKeyData"),
    )
    certificate = None
    if isinstance(cert, str) and isinstance(key, str) and cert and key:
        certificate = (cert.encode(), key.encode())
    elif cert or key:
        raise fail("printed clientCertificateData without clientKeyData, or the other way round")
    if not (isinstance(token, str) and token) and certificate is None:
        raise fail("printed an ExecCredential with neither a token nor a client certificate")
    expires: float | None = None
    if stamp := status.get("expirationTimestamp"):
        try:
            expires = datetime.fromisoformat(str(stamp)).timestamp()
        except ValueError:
            raise fail(f"printed an expirationTimestamp that is no time: {stamp!r}") from None
    return Credential(
        token=token if isinstance(token, str) and token else None,
        certificate=certificate,
        expires=expires,
    )


class ExecAuth(httpx.Auth):
    """Bearer token or client certificate from an exec plugin, cached until it expires.

    One plugin run at a time; requests that find a fresh credential on the way use it. A 401
    runs the plugin again once for that request, unless another request already did.
    """

    def __init__(
        self,
        plugin: ExecPlugin,
        use_certificate: Callable[[bytes, bytes], Awaitable[None]] | None = None,
    ) -> None:
        self._plugin = plugin
        self._use_certificate = use_certificate
        self._lock = asyncio.Lock()
        self._credential: Credential | None = None
        self._generation = 0  # bumped by every plugin run

    async def _current(self, request: httpx.Request, rejected: int | None) -> int:
        """The generation of a usable credential; runs the plugin if there is none."""
        async with self._lock:
            credential = self._credential
            if (
                credential is None
                or credential.expired(time.time())
                or rejected == self._generation
            ):
                credential = await run_plugin(self._plugin, request)
                if credential.certificate is not None:
                    if self._use_certificate is None:
                        raise ExecCredentialError(
                            f"{self._plugin.describe()}: gave a client certificate, "
                            "which this client cannot use",
                            request=request,
                        )
                    await self._use_certificate(*credential.certificate)
                self._credential = credential
                self._generation += 1
                log.info("Got a credential from the %s", self._plugin.describe())
            return self._generation

    def _apply(self, request: httpx.Request) -> None:
        credential = self._credential
        if credential is not None and credential.token:
            request.headers["Authorization"] = f"Bearer {credential.token}"
        else:
            request.headers.pop("Authorization", None)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        generation = await self._current(request, None)
        self._apply(request)
        response = yield request
        if response.status_code == 401:
            await self._current(request, generation)
            self._apply(request)
            yield request

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("exec plugin credentials need an httpx.AsyncClient")


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class CertificateTransport(httpx.AsyncBaseTransport):
    """Sends through a pool whose TLS context holds the plugin's current client certificate.

    A TLS connection keeps the certificate it was opened with, so a new certificate gets a
    new pool and the old one is closed: open watches end and reconnect with the new one, as
    kubectl's certificate rotation does.
    """

    def __init__(
        self,
        tls: Callable[[], ssl.SSLContext | bool],
        pool: Callable[[ssl.SSLContext | bool], httpx.AsyncBaseTransport],
    ) -> None:
        self._tls = tls
        self._pool = pool
        self._transport = pool(tls())
        self._certificate: tuple[bytes, bytes] | None = None

    def _context_with(self, cert: bytes, key: bytes) -> ssl.SSLContext:
        context = self._tls()
        if not isinstance(context, ssl.SSLContext):
            context = _unverified()
        # ssl loads certificates from files only: a private directory, gone right after
        with tempfile.TemporaryDirectory(prefix="startpunkt-") as directory:
            cert_file, key_file = Path(directory) / "tls.crt", Path(directory) / "tls.key"
            cert_file.write_bytes(cert)
            key_file.write_bytes(key)
            context.load_cert_chain(cert_file, key_file)
        return context

    async def use_certificate(self, cert: bytes, key: bytes) -> None:
        if self._certificate == (cert, key):
            return
        try:
            context = await asyncio.to_thread(self._context_with, cert, key)
        except (ssl.SSLError, OSError) as e:
            message = f"the exec plugin's client certificate is unusable: {e}"
            raise ExecCredentialError(message) from e
        old, self._transport = self._transport, self._pool(context)
        self._certificate = (cert, key)
        await old.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._transport.aclose()


def environment_proxy(url: str) -> str | None:
    """HTTPS_PROXY/HTTP_PROXY/NO_PROXY for `url`, which httpx ignores given a transport."""
    parsed = httpx.URL(url)
    if urllib.request.proxy_bypass(parsed.host):
        return None
    proxies = urllib.request.getproxies_environment()
    return proxies.get(parsed.scheme) or proxies.get("all")


def exec_client(
    plugin: ExecPlugin,
    *,
    tls: Callable[[], ssl.SSLContext | bool],
    proxy: str | None,
    limits: httpx.Limits,
    **client: Any,
) -> httpx.AsyncClient:
    """An AsyncClient authenticated by `plugin`; `client` are AsyncClient's other arguments."""
    transport = CertificateTransport(
        tls,
        lambda verify: httpx.AsyncHTTPTransport(
            verify=verify,
            proxy=proxy or environment_proxy(str(client.get("base_url", ""))),
            limits=limits,
        ),
    )
    return httpx.AsyncClient(
        auth=ExecAuth(plugin, transport.use_certificate), transport=transport, **client
    )
