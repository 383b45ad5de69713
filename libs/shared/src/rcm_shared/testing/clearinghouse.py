"""Real clearinghouse mailbox servers for tests: an SFTP server (asyncssh) and an HTTPS API (uvicorn with a
self-signed certificate), both on 127.0.0.1 and a free port.

A pytest plugin (the root conftest loads it): fixtures ``sftp_site`` and ``https_site``; or use the classes
directly. The SFTP server records writes and renames and can refuse removals; the HTTPS
API can answer with an error status or an HTML page instead of a listing.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rcm_shared.clearinghouse import HttpsMailbox, SftpMailbox

USER, PASSWORD, API_KEY = "rcm", "s3cret-pw", "ch-key-123"


# ------------------------------------------------------------------------------------------ SFTP

class _PasswordServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True  # authentication is required for everyone

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


class _RecordingSftp(asyncssh.SFTPServer):
    """A real SFTP server rooted at a folder that records writes and renames (and can refuse removals); like
    OpenSSH's, it refuses to rename onto an existing file."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], root: Path, log: list[tuple[str, ...]],
                 refuse_remove: set[str]) -> None:
        super().__init__(chan, chroot=os.fsencode(root))
        self._log, self._refuse_remove = log, refuse_remove

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & asyncssh.FXF_WRITE:
            self._log.append(("write", path.decode()))
        return super().open(path, pflags, attrs)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        self._log.append(("rename", oldpath.decode(), newpath.decode()))
        if os.path.lexists(self.map_path(newpath)):
            # as OpenSSH's server does: an SFTP v3 rename never replaces a file (os.rename would)
            raise asyncssh.SFTPFailure("target exists")
        super().rename(oldpath, newpath)

    def remove(self, path: bytes) -> None:
        if os.path.basename(path.decode()) in self._refuse_remove:
            raise asyncssh.SFTPPermissionDenied("removal refused")
        super().remove(path)


@dataclass
class SftpSite:
    """The clearinghouse's SFTP server: ``root/inbound`` receives our files, ``root/outbound`` returns theirs."""

    root: Path
    port: int
    acceptor: asyncssh.SSHAcceptor
    host_key: asyncssh.SSHKey
    log: list[tuple[str, ...]] = field(default_factory=list)
    refuse_remove: set[str] = field(default_factory=set)

    @property
    def inbound(self) -> Path:
        return self.root / "inbound"

    @property
    def outbound(self) -> Path:
        return self.root / "outbound"

    def mailbox(self, password: str = PASSWORD, **kw: Any) -> SftpMailbox:
        return SftpMailbox("127.0.0.1", self.port, USER, password=password, client_keys=[], known_hosts=None,
                           timeout=5.0, **kw)

    def known_hosts(self, folder: Path) -> Path:
        """A known_hosts file that trusts this server, for clients that check host keys as production does."""
        path = folder / "known_hosts"
        public = self.host_key.export_public_key("openssh").decode().strip()
        path.write_text(f"[127.0.0.1]:{self.port} {public}\n")
        return path

    async def close(self) -> None:
        self.acceptor.close()
        await self.acceptor.wait_closed()


async def start_sftp_site(root: Path, host_key: asyncssh.SSHKey | None = None) -> SftpSite:
    for folder in ("inbound", "outbound"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    log: list[tuple[str, ...]] = []
    refuse: set[str] = set()
    key = host_key or asyncssh.generate_private_key("ssh-ed25519")
    acceptor = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[key], server_factory=_PasswordServer,
        sftp_factory=lambda chan: _RecordingSftp(chan, root, log, refuse), allow_scp=False)
    return SftpSite(root, acceptor.sockets[0].getsockname()[1], acceptor, key, log, refuse)


@pytest.fixture(scope="module")
def sftp_host_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
async def sftp_site(tmp_path: Path, sftp_host_key: asyncssh.SSHKey) -> AsyncIterator[SftpSite]:
    site = await start_sftp_site(tmp_path / "sftp-root", sftp_host_key)
    yield site
    await site.close()


# ------------------------------------------------------------------------------------------ HTTPS

class ClearinghouseApi:
    """PUT /submissions/{name} (201 new / 200 exists), GET /responses, GET and DELETE /responses/{name}."""

    def __init__(self) -> None:
        self.submissions: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        self.responses: dict[str, bytes] = {}
        self.fail_with: int | None = None
        self.listing_override: bytes | None = None
        self.app = Starlette(routes=[
            Route("/submissions/{name}", self.put_submission, methods=["PUT"]),
            Route("/responses", self.list_responses, methods=["GET"]),
            Route("/responses/{name}", self.get_response, methods=["GET"]),
            Route("/responses/{name}", self.delete_response, methods=["DELETE"]),
        ])

    def reset(self) -> None:
        self.submissions.clear()
        self.content_types.clear()
        self.responses.clear()
        self.fail_with, self.listing_override = None, None

    def _refusal(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if self.fail_with is not None:
            return JSONResponse({"error": "unavailable"}, status_code=self.fail_with)
        return None

    async def put_submission(self, request: Request) -> Response:
        if (refused := self._refusal(request)) is not None:
            return refused
        name = request.path_params["name"]
        if name in self.submissions:
            return JSONResponse({"file": name}, status_code=200)
        self.submissions[name] = await request.body()
        self.content_types[name] = request.headers.get("content-type", "")
        return JSONResponse({"file": name}, status_code=201)

    async def list_responses(self, request: Request) -> Response:
        if (refused := self._refusal(request)) is not None:
            return refused
        if self.listing_override is not None:
            return Response(self.listing_override, media_type="text/html")
        return JSONResponse({"files": sorted(self.responses)})

    async def get_response(self, request: Request) -> Response:
        if (refused := self._refusal(request)) is not None:
            return refused
        name = request.path_params["name"]
        if name not in self.responses:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(self.responses[name], media_type="application/edi-x12")

    async def delete_response(self, request: Request) -> Response:
        if (refused := self._refusal(request)) is not None:
            return refused
        self.responses.pop(request.path_params["name"], None)
        return Response(status_code=204)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost / 127.0.0.1 and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class HttpsSite:
    api: ClearinghouseApi
    base_url: str
    cert: Path

    def mailbox(self, api_key: str = API_KEY, **kw: Any) -> HttpsMailbox:
        kw.setdefault("verify", str(self.cert))
        return HttpsMailbox(self.base_url, api_key, timeout=5.0, **kw)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def serve_https(app: Any, folder: Path) -> tuple[uvicorn.Server, threading.Thread, socket.socket, Path, int]:
    """Run an ASGI app over TLS in a thread; returns what ``stop_https`` needs plus the cert and port."""
    cert, key = self_signed_certificate(folder)
    sock = free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, ssl_certfile=str(cert), ssl_keyfile=str(key),
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the HTTPS server did not start")
        time.sleep(0.01)
    return server, thread, sock, cert, port


def stop_https(server: uvicorn.Server, thread: threading.Thread, sock: socket.socket) -> None:
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsSite]:
    api = ClearinghouseApi()
    server, thread, sock, cert, port = serve_https(api.app, tmp_path_factory.mktemp("tls"))
    yield HttpsSite(api, f"https://127.0.0.1:{port}/", cert)
    stop_https(server, thread, sock)


@pytest.fixture
def https_site(https_server: HttpsSite) -> HttpsSite:
    https_server.api.reset()
    return https_server


__all__ = [
    "API_KEY", "PASSWORD", "USER", "ClearinghouseApi", "HttpsSite", "SftpSite", "free_socket", "https_server",
    "https_site", "self_signed_certificate", "serve_https", "sftp_host_key", "sftp_site", "start_sftp_site",
    "stop_https",
]
