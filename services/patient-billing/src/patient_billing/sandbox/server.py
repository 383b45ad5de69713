"""The sandbox processor on a real local port in a background thread (tests, drills): the ``stripe`` client reaches
it over HTTP as it would reach Stripe."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from patient_billing.sandbox.processor import SandboxState, build_app

API_KEY, WEBHOOK_SECRET = "sk_test_sandbox", "whsec_sandbox_tests"


@dataclass
class RunningSandbox:
    url: str
    state: SandboxState
    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET

    def charges(self) -> list[dict[str, Any]]:
        return self.state.charges()


@contextmanager
def sandbox_processor(webhook_url: str | None = None) -> Iterator[RunningSandbox]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    app = build_app(api_key=API_KEY, webhook_url=webhook_url, webhook_secret=WEBHOOK_SECRET, public_url=url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox processor did not start")
        time.sleep(0.02)
    try:
        yield RunningSandbox(url, app.state.sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
