"""Many event-stream clients in a process of their own, so the server's memory is measured alone.

    python -m tests.web.streamclients PORT READERS STALLED

Opens STALLED streams that never read (a 4 KiB receive buffer) and READERS streams that read
everything and note the `id:` of every event, then prints `ready`. Commands on stdin:
`expect N` waits (up to 60 s) until every reader has seen id N and prints one JSON line
{"sequences": [[ids...], ...]} with each distinct id sequence the readers saw and
"ended" (readers whose stream ended); `quit` closes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import sys

EVENT_ID = re.compile(rb"\nid: (\d+)\n")
PATH = "/api/updates/stream"


class Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.ids: list[int] = []
        self.ended = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        tail = b""
        while True:
            try:
                data = await loop.sock_recv(self.sock, 65536)
            except ConnectionError:
                data = b""
            if not data:
                self.ended = True
                return
            text = tail + data
            self.ids += [int(m) for m in EVENT_ID.findall(text)]
            # keep what a marker split between two reads may have begun with
            tail = text[-40:] if EVENT_ID.search(text[-40:]) is None else b""


async def connect(port: int, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, f"GET {PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


async def main(port: int, readers_count: int, stalled_count: int) -> None:
    stalled = [await connect(port, receive_buffer=4096) for _ in range(stalled_count)]
    readers = [Reader(await connect(port)) for _ in range(readers_count)]
    tasks = [asyncio.create_task(r.run()) for r in readers]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not command or command[0] == "quit":
            break
        last = int(command[1])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                # polling: the condition spans 950 readers, none of which knows `last`
                while not all(r.ids[-1:] == [last] or r.ended for r in readers):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        sequences = sorted({tuple(r.ids) for r in readers})
        ended = sum(r.ended for r in readers)
        print(json.dumps({"sequences": sequences, "ended": ended}), flush=True)
    for task in tasks:
        task.cancel()
    for sock in [*stalled, *(r.sock for r in readers)]:
        sock.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
