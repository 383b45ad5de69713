"""A service's readiness probe: another process that took the port first must not pass for ours."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rcm_cli.platform import _http_ready


class _Readyz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ready", "service": "claims", "checks": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def claims_answering() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Readyz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_a_service_is_ready_only_when_its_own_process_answers(claims_answering: str) -> None:
    assert _http_ready(claims_answering, "claims")
    assert not _http_ready(claims_answering, "eligibility"), "claims on eligibility's port is not eligibility ready"
    assert _http_ready(claims_answering), "a probe naming no service asks only for a 200"
