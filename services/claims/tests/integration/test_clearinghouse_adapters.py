"""The clearinghouse adapters against real protocol servers started here: an asyncssh SFTP server and an
HTTPS (uvicorn, self-signed certificate) API on 127.0.0.1; and the submission path through an outage."""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncssh
import pytest
import uvicorn
from claims.adapters.clearinghouse import (
    ClearinghouseUnavailable,
    HttpsClearinghouse,
    ResponseFile,
    SandboxClearinghouse,
    SftpClearinghouse,
    SubmissionReceipt,
)
from claims.adapters.front_office import AuthorizationAnswer, CoverageAnswer
from claims.adapters.orm import batches, claims, platform
from claims.bootstrap import build_app
from claims.config import ClaimsSettings
from claims.service_layer import handlers
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rcm_shared.contracts import VisitCompletedV1
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.contracts.registry import decode_payload
from rcm_shared.testing.fixtures import auth, running
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

pytestmark = pytest.mark.integration

USER, PASSWORD, API_KEY = "rcm", "s3cret-pw", "ch-key-123"
BATCH = b"ISA*00*          *00*          *ZZ*RCMPLATFORM    *ZZ*CLEARINGHOUSE  *~"


# ------------------------------------------------------------------------------------------ SFTP server

class _PasswordServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True  # authentication is required for everyone

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


class _RecordingSftp(asyncssh.SFTPServer):
    """A real SFTP server rooted at a folder that records writes and renames (and can refuse removals)."""

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
        super().rename(oldpath, newpath)

    def remove(self, path: bytes) -> None:
        if os.path.basename(path.decode()) in self._refuse_remove:
            raise asyncssh.SFTPPermissionDenied("removal refused")
        super().remove(path)


@dataclass
class SftpSite:
    root: Path
    port: int
    acceptor: asyncssh.SSHAcceptor
    log: list[tuple[str, ...]] = field(default_factory=list)
    refuse_remove: set[str] = field(default_factory=set)

    def client(self, password: str = PASSWORD, **kw: object) -> SftpClearinghouse:
        return SftpClearinghouse("127.0.0.1", self.port, USER, password=password, client_keys=[],
                                 known_hosts=None, timeout=5.0, **kw)  # type: ignore[arg-type]

    async def close(self) -> None:
        self.acceptor.close()
        await self.acceptor.wait_closed()


@pytest.fixture(scope="module")
def host_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
async def sftp_site(tmp_path: Path, host_key: asyncssh.SSHKey) -> AsyncIterator[SftpSite]:
    root = tmp_path / "sftp-root"
    for folder in ("inbound", "outbound"):
        (root / folder).mkdir(parents=True)
    log: list[tuple[str, ...]] = []
    refuse: set[str] = set()
    acceptor = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[host_key], server_factory=_PasswordServer,
        sftp_factory=lambda chan: _RecordingSftp(chan, root, log, refuse), allow_scp=False)
    site = SftpSite(root, acceptor.sockets[0].getsockname()[1], acceptor, log, refuse)
    yield site
    await site.close()


async def test_sftp_submit_writes_atomically_into_inbound(sftp_site: SftpSite) -> None:
    receipt = await sftp_site.client().submit("837P_SBXHP_000000001.x12", BATCH)

    assert receipt.file_name == "837P_SBXHP_000000001.x12"
    assert receipt.already_present is False
    assert (sftp_site.root / "inbound" / "837P_SBXHP_000000001.x12").read_bytes() == BATCH
    assert sorted(p.name for p in (sftp_site.root / "inbound").iterdir()) == ["837P_SBXHP_000000001.x12"]
    # written under a temporary name and renamed: the clearinghouse never picks up half a file
    assert sftp_site.log == [
        ("write", "inbound/837P_SBXHP_000000001.x12.part"),
        ("rename", "inbound/837P_SBXHP_000000001.x12.part", "inbound/837P_SBXHP_000000001.x12"),
    ]


async def test_sftp_resubmitting_the_same_file_name_is_detected_and_not_rewritten(sftp_site: SftpSite) -> None:
    client = sftp_site.client()
    await client.submit("837P_SBXHP_000000002.x12", BATCH)
    writes_before = list(sftp_site.log)

    again = await client.submit("837P_SBXHP_000000002.x12", b"A DIFFERENT BODY")

    assert again.already_present is True
    assert sftp_site.log == writes_before
    assert (sftp_site.root / "inbound" / "837P_SBXHP_000000002.x12").read_bytes() == BATCH


async def test_sftp_collect_picks_up_outbound_files_and_removes_them(sftp_site: SftpSite) -> None:
    outbound = sftp_site.root / "outbound"
    (outbound / "999_837P_A.x12").write_bytes(b"ST*999*0001~")
    (outbound / "277CA_B.x12").write_bytes(b"ST*277*0001~")
    (outbound / "835_C.x12.part").write_bytes(b"half an 835")  # still being written by the clearinghouse

    files = await sftp_site.client().collect_responses()

    assert files == [ResponseFile("277CA_B.x12", b"ST*277*0001~"), ResponseFile("999_837P_A.x12", b"ST*999*0001~")]
    assert len(list(outbound.iterdir())) == 3, "nothing is removed before the caller acknowledges"
    for file in files:
        await sftp_site.client().acknowledge(file.file_name)
    assert sorted(p.name for p in outbound.iterdir()) == ["835_C.x12.part"]
    assert await sftp_site.client().collect_responses() == []


async def test_sftp_a_refused_removal_leaves_the_file_to_come_again(sftp_site: SftpSite) -> None:
    outbound = sftp_site.root / "outbound"
    (outbound / "835_A.x12").write_bytes(b"ST*835*0001~")
    (outbound / "835_B.x12").write_bytes(b"ST*835*0002~")
    sftp_site.refuse_remove.add("835_B.x12")

    first = await sftp_site.client().collect_responses()
    assert [f.file_name for f in first] == ["835_A.x12", "835_B.x12"]
    await sftp_site.client().acknowledge("835_A.x12")
    with pytest.raises(ClearinghouseUnavailable):
        await sftp_site.client().acknowledge("835_B.x12")
    # 835_B stays on the server and comes again (recognised downstream by its file name)
    assert sorted(p.name for p in outbound.iterdir()) == ["835_B.x12"]
    sftp_site.refuse_remove.clear()
    assert [f.file_name for f in await sftp_site.client().collect_responses()] == ["835_B.x12"]


async def test_sftp_server_down_is_unavailable(sftp_site: SftpSite) -> None:
    client = sftp_site.client()
    await sftp_site.close()

    with pytest.raises(ClearinghouseUnavailable):
        await client.submit("837P_SBXHP_000000003.x12", BATCH)
    with pytest.raises(ClearinghouseUnavailable):
        await client.collect_responses()


async def test_sftp_wrong_password_is_unavailable(sftp_site: SftpSite) -> None:
    client = sftp_site.client(password="not-the-password")

    with pytest.raises(ClearinghouseUnavailable) as raised:
        await client.submit("837P_SBXHP_000000004.x12", BATCH)
    assert "not-the-password" not in str(raised.value)
    with pytest.raises(ClearinghouseUnavailable):
        await client.collect_responses()
    assert list((sftp_site.root / "inbound").iterdir()) == []


async def test_sftp_missing_pickup_folder_is_unavailable(sftp_site: SftpSite) -> None:
    with pytest.raises(ClearinghouseUnavailable):
        await sftp_site.client(inbound_dir="no-such-folder").collect_responses()


# ------------------------------------------------------------------------------------------ HTTPS server

class FakeClearinghouseApi:
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


def _self_signed(folder: Path) -> tuple[Path, Path]:
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
    api: FakeClearinghouseApi
    base_url: str
    cert: Path

    def client(self, api_key: str = API_KEY, **kw: object) -> HttpsClearinghouse:
        kw.setdefault("verify", str(self.cert))
        return HttpsClearinghouse(self.base_url, api_key, timeout=5.0, **kw)  # type: ignore[arg-type]


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsSite]:
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    api = FakeClearinghouseApi()
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(api.app, ssl_certfile=str(cert), ssl_keyfile=str(key),
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the HTTPS server did not start"
        time.sleep(0.01)
    yield HttpsSite(api, f"https://127.0.0.1:{port}/", cert)
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def https_site(https_server: HttpsSite) -> HttpsSite:
    https_server.api.reset()
    return https_server


async def test_https_submit_then_resubmit_is_idempotent_by_file_name(https_site: HttpsSite) -> None:
    client = https_site.client()

    first = await client.submit("837P_SBXHP_000000001.x12", BATCH)
    again = await client.submit("837P_SBXHP_000000001.x12", b"A DIFFERENT BODY")

    assert (first.already_present, again.already_present) == (False, True)
    assert https_site.api.submissions == {"837P_SBXHP_000000001.x12": BATCH}
    assert https_site.api.content_types["837P_SBXHP_000000001.x12"] == "application/edi-x12"


async def test_https_collect_fetches_and_acknowledges_responses(https_site: HttpsSite) -> None:
    https_site.api.responses.update({"999_A.x12": b"ST*999*0001~", "835_B.x12": b"ST*835*0001~"})

    files = await https_site.client().collect_responses()

    assert files == [ResponseFile("835_B.x12", b"ST*835*0001~"), ResponseFile("999_A.x12", b"ST*999*0001~")]
    assert len(https_site.api.responses) == 2, "nothing is deleted before the caller acknowledges"
    for file in files:
        await https_site.client().acknowledge(file.file_name)
    assert https_site.api.responses == {}
    assert await https_site.client().collect_responses() == []


async def test_https_wrong_api_key_is_unavailable(https_site: HttpsSite) -> None:
    https_site.api.responses["999_A.x12"] = b"ST*999*0001~"
    client = https_site.client(api_key="wrong-key")

    with pytest.raises(ClearinghouseUnavailable, match="401"):
        await client.submit("837P_SBXHP_000000002.x12", BATCH)
    with pytest.raises(ClearinghouseUnavailable):
        await client.collect_responses()
    assert https_site.api.submissions == {}
    assert list(https_site.api.responses) == ["999_A.x12"]


async def test_https_server_error_is_unavailable(https_site: HttpsSite) -> None:
    https_site.api.fail_with = 503

    with pytest.raises(ClearinghouseUnavailable, match="503"):
        await https_site.client().submit("837P_SBXHP_000000003.x12", BATCH)
    with pytest.raises(ClearinghouseUnavailable):
        await https_site.client().collect_responses()


async def test_https_maintenance_page_instead_of_a_listing_is_unavailable(https_site: HttpsSite) -> None:
    https_site.api.listing_override = b"<html>down for maintenance</html>"

    with pytest.raises(ClearinghouseUnavailable):
        await https_site.client().collect_responses()


async def test_https_untrusted_certificate_is_unavailable(https_site: HttpsSite) -> None:
    with pytest.raises(ClearinghouseUnavailable):
        await https_site.client(verify=True).submit("837P_SBXHP_000000004.x12", BATCH)
    assert https_site.api.submissions == {}


async def test_https_server_down_is_unavailable(https_site: HttpsSite) -> None:
    with _free_socket() as sock:  # bound but never listening: connections are refused
        url = f"https://127.0.0.1:{sock.getsockname()[1]}"
        client = HttpsClearinghouse(url, API_KEY, timeout=5.0, verify=str(https_site.cert))
        with pytest.raises(ClearinghouseUnavailable):
            await client.submit("837P_SBXHP_000000005.x12", BATCH)
        with pytest.raises(ClearinghouseUnavailable):
            await client.collect_responses()


# ------------------------------------------------------------------------------------------ outage

class FrontOfficeDouble:
    async def coverage(self, practice_id: str, patient_id: str, payer_id: str, on: date) -> CoverageAnswer:
        return CoverageAnswer(True, True, date(2025, 1, 1), None)

    async def authorization(self, practice_id: str, visit_id: str, patient_id: str, payer_id: str, on: date,
                            cpt_code: str) -> AuthorizationAnswer:
        return AuthorizationAnswer(True, True, "AUTH-77", None)

    async def credentialed(self, practice_id: str, npi: str, payer_id: str, on: date) -> bool | None:
        return True


class FlakyClearinghouse:
    """Plays an outage in front of a real clearinghouse: ``down`` fails before sending, ``lost_reply``
    delivers the file and then times out (the caller cannot know it arrived)."""

    name = "flaky"

    def __init__(self, inner: SandboxClearinghouse, plan: list[str]) -> None:
        self.inner, self.plan = inner, plan
        self.calls: list[str] = []
        self.receipts: list[SubmissionReceipt] = []

    async def submit(self, file_name: str, content: bytes) -> SubmissionReceipt:
        self.calls.append(file_name)
        mode = self.plan.pop(0) if self.plan else "ok"
        if mode == "down":
            raise ClearinghouseUnavailable("sftp connect failed: ConnectionRefusedError")
        receipt = await self.inner.submit(file_name, content)
        if mode == "lost_reply":
            raise ClearinghouseUnavailable("sftp upload failed: TimeoutError")
        self.receipts.append(receipt)
        return receipt

    async def collect_responses(self) -> list[ResponseFile]:
        return await self.inner.collect_responses()


def _visit(external_id: str) -> dict[str, object]:
    address = {"line1": "100 MAIN ST", "city": "HARTFORD", "state": "CT", "postal_code": "06103"}
    return {
        "external_visit_id": external_id, "patient_id": f"pt-{external_id}",
        "patient": {"first_name": "ALEX", "last_name": "SAMPLE", "birth_date": "1988-04-12", "gender": "F",
                    "address": address},
        "coverage": {"payer_id": "SBXHP", "payer_name": "SANDBOX HEALTH PLAN", "member_id": "SBX000001"},
        "date_of_service": (date.today() - timedelta(days=3)).isoformat(), "service_kind": "psychotherapy",
        "psychotherapy_minutes": 53, "diagnoses": ["F41.1"],
        "rendering": {"npi": "1234567893", "first_name": "JO", "last_name": "RIVERA", "credential": "LCSW"},
        "billing_provider": {"npi": "1245319599", "name": "RIVERSIDE COUNSELING", "tax_id": "123456789",
                             "address": address},
    }


async def test_outage_keeps_batches_queued_then_sends_each_exactly_once(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = ClaimsSettings(database_url=databases.create("claims_outage"), run_workers=False,
                              submission_interval_seconds=3600, response_poll_seconds=3600)
    sandbox = SandboxClearinghouse(tmp_path / "clearinghouse")
    flaky = FlakyClearinghouse(sandbox, ["down", "down", "down", "lost_reply"])
    front = FrontOfficeDouble()
    app = build_app(settings, clearinghouse=flaky, front=front)
    async with running(app) as client:
        db = app.state.db
        # Two practices -> two 837P batches. No broker here: the claim builder is driven from the outbox.
        for practice in ("practice-a", "practice-b"):
            posted = await client.post("/v1/visits", json=_visit(f"E-{practice}"), headers=auth(practice))
            assert posted.status_code == 201, posted.text
        async with db.sessions() as session:
            staged = (await session.execute(select(platform.outbox.c.payload).where(
                platform.outbox.c.event_type == VisitCompletedV1.event_type))).scalars().all()
        for raw in staged:
            envelope = EventEnvelope.from_bytes(raw)
            async with db.transaction() as session:
                await handlers.build_claim_for_visit(session, envelope, decode_payload(envelope),  # type: ignore[arg-type]
                                                     front=front)
        async with db.sessions() as session:
            assert (await session.execute(select(claims.c.status))).scalars().all() == ["scrubbed"] * 2
        created = await handlers.batch_ready_claims(db, app.state.submission)
        assert len(created) == 2

        async def batch_states() -> list[tuple[str, str, int, str | None]]:
            async with db.sessions() as session:
                rows = (await session.execute(select(batches).order_by(batches.c.created_at))).all()
            return [(r.file_name, r.status, r.attempts, r.last_error) for r in rows]

        first, second = [name for name, *_ in await batch_states()]
        outbound = tmp_path / "clearinghouse" / "outbound"

        for _ in range(3):  # down: nothing leaves, the first batch keeps its place in the queue
            assert await handlers.send_queued_batches(db, flaky) == 0
        assert await batch_states() == [
            (first, "queued", 3, "sftp connect failed: ConnectionRefusedError"),
            (second, "queued", 0, None),
        ]
        assert list(outbound.iterdir()) == []

        # the file arrives but the reply is lost: still queued, to be resent
        assert await handlers.send_queued_batches(db, flaky) == 0
        assert (await batch_states())[0] == (first, "queued", 4, "sftp upload failed: TimeoutError")
        assert [p.name for p in outbound.iterdir()] == [first]

        # recovered: the resend is recognised by its file name, the second batch goes out once
        assert await handlers.send_queued_batches(db, flaky) == 2
        assert await batch_states() == [(first, "submitted", 5, None), (second, "submitted", 1, None)]
        assert [(r.file_name, r.already_present) for r in flaky.receipts] == [(first, True), (second, False)]

        calls_before = len(flaky.calls)
        assert await handlers.send_queued_batches(db, flaky) == 0
        assert len(flaky.calls) == calls_before

        async with db.sessions() as session:
            contents = dict((await session.execute(select(batches.c.file_name, batches.c.content))).all())
        assert sorted(p.name for p in outbound.iterdir()) == sorted([first, second])
        for name, content in contents.items():
            assert (outbound / name).read_bytes() == content
        # one 999 per batch: the sandbox acknowledged each file once
        assert sorted(p.name for p in (tmp_path / "clearinghouse" / "inbound").iterdir()) == sorted(
            [f"999_{first}", f"999_{second}"])
