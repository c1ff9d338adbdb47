"""Runs `startpunkt serve` as a real process on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """`with Served(["--manifests", dir]) as s: httpx.get(s.url + "/api/apps")`."""

    def __init__(
        self,
        args: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        ready_path: str = "/livez",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._args = [*args, "--port", str(self.port)]
        self._env = {**os.environ, **(env or {})}
        self._ready_path = ready_path
        self.process: subprocess.Popen[bytes] | None = None
        self.exit_seconds: float | None = None

    def __enter__(self) -> Served:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "startpunkt", "serve", *self._args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self._env,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"startpunkt exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + self._ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"startpunkt did not come up:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, as Kubernetes sends; returns the exit status and records how long it took."""
        assert self.process is not None
        if self.process.poll() is None:
            started = time.monotonic()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.exit_seconds = time.monotonic() - started
        return self.process.returncode

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
        self._log.close()
