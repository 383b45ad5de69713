"""Local webhook receivers the tests start (uvicorn on a free loopback port): each path behaves one way and every
request it saw is kept (headers, body) for the test to check."""

from __future__ import annotations

import asyncio
import socket
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from rcm_shared.testing.kafka import eventually


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receivers:
    base_url: str = ""
    seen: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    slow_seconds: float = 2.0
    slow_first_only: bool = True

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"].strip("/")
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen[path].append(Received(headers, body))
        status = 204
        if path == "slow" and (len(self.seen[path]) == 1 or not self.slow_first_only):
            await asyncio.sleep(self.slow_seconds)
        elif path == "failing":
            status = 500
        elif path == "gone":
            status = 410
        elif path == "redirect":
            await send({"type": "http.response.start", "status": 307,
                        "headers": [(b"location", b"http://169.254.169.254/latest/meta-data")]})
            await send({"type": "http.response.body", "body": b""})
            return
        elif path == "huge":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for _ in range(64):
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"


@asynccontextmanager
async def receivers() -> AsyncIterator[Receivers]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    state = Receivers(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}")
    server = uvicorn.Server(uvicorn.Config(state.app, interface="asgi3", log_config=None, access_log=False,
                                           lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: _started(server), timeout=10, interval=0.01, what="receiver started")
    try:
        yield state
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)
