"""The real server process (`startpunkt serve`), its limits and its shutdown, over raw sockets."""

from __future__ import annotations

import socket
from pathlib import Path

from startpunkt.web import stream
from tests.serving import Served


def open_stream(port: int) -> socket.socket:
    """An event stream over a raw socket, read up to the end of its first message."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET {stream.PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"\n\n" not in head.partition(b"\r\n\r\n")[2]:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 200 "), head
    return sock


def rest(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (a reset also ends it)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def test_sigterm_with_open_streams_ends_them_cleanly_and_exits_0(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    served = Served(["--manifests", str(manifests)], tmp_path / "log")
    with served:
        streams = [open_stream(served.port) for _ in range(3)]
        status = served.stop()
        endings = [rest(sock) for sock in streams]
        for sock in streams:
            sock.close()

    assert status == 0
    for ending in endings:  # the chunked response's last chunk: the stream was completed
        assert ending.endswith(b"0\r\n\r\n"), ending[-40:]
    log = served.log()
    assert "Shutting down" in log
    assert "timeout graceful shutdown exceeded" not in log, log
    print(f"exit after SIGTERM with 3 open streams: {served.exit_seconds:.2f} s")


def test_half_open_connections_do_not_take_the_server_down(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    config = tmp_path / "startpunkt.yaml"
    config.write_text("startpunkt:\n  server: {headerTimeout: 1s, maxConnections: 200}\n")
    served = Served(["--manifests", str(manifests), "--config", str(config)], tmp_path / "log")
    with served:
        half_open = []
        for _ in range(300):  # more than the cap: the extra ones are refused at once
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            sock.sendall(b"GET /api/apps HTTP/1.1\r\nHost: x\r\n")
            half_open.append(sock)
        try:
            # every one of them is closed by the server: 408 after the header timeout, or 503
            # (or a reset, which may overtake the 503) for those over the cap
            answers = [rest(sock) for sock in half_open]
            assert {a[:12] for a in answers} <= {b"HTTP/1.1 408", b"HTTP/1.1 503", b""}
            assert any(a.startswith(b"HTTP/1.1 408 ") for a in answers)
            # and the server answers normally afterwards
            probe = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            probe.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert rest(probe).startswith(b"HTTP/1.1 200 ")
            probe.close()
        finally:
            for sock in half_open:
                sock.close()
        assert served.process is not None
        assert served.process.poll() is None
    assert "Too many open files" not in served.log()
