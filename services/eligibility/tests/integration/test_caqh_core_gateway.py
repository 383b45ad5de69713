"""The CAQH CORE gateway against a real HTTP server started here: uvicorn on 127.0.0.1 serving a small CORE
endpoint (vC2.2.0 HTTP MIME multipart) that checks the envelope and credentials and answers with the sandbox
payer's 271s, real-time and batch; and the nightly batch run through it (real PostgreSQL and broker)."""

from __future__ import annotations

import email.policy
import hashlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
import uvicorn
from eligibility.adapters.caqh_core import CaqhCoreGateway
from eligibility.bootstrap import build_app, build_gateway, sandbox_plan_table
from eligibility.config import EligibilitySettings
from eligibility.domain.benefits import (
    EligibilityRequest,
    EligibilityResult,
    Member,
    NextAction,
    PayerRef,
    ProviderRef,
    ResultStatus,
)
from eligibility.domain.coverage import assess_all
from eligibility.domain.exceptions import PayerUnavailable
from eligibility.edi.x12_270 import build_270
from eligibility.edi.x12_271 import read_271
from eligibility.sandbox.payer import SandboxPayer
from eligibility.service_layer import nightly_runs
from rcm_shared.testing.fixtures import auth, fixed_clock, running, settings_for
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .conftest import evening, services_of, today

pytestmark = pytest.mark.integration

USER, PASSWORD, TOKEN = "rcm-core", "c0re-pw", "core-token-1"
SENDER, RECEIVER = "RCMPLATFORM", "SBXCLEARING"
REQUIRED = ("PayloadType", "ProcessingMode", "PayloadID", "TimeStamp", "SenderID", "ReceiverID", "CORERuleVersion")


# ------------------------------------------------------------------------------------------ CORE server

def _parse_form(content_type: str, body: bytes) -> dict[str, str]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    assert isinstance(message, EmailMessage) and message.is_multipart()
    fields = {}
    for part in message.iter_parts():
        raw = part.get_payload(decode=True)
        assert isinstance(raw, bytes)
        fields[str(part.get_param("name", header="content-disposition"))] = raw.decode()
    return fields


def _multipart(fields: dict[str, str], status: int = 200) -> Response:
    boundary = f"core-{uuid.uuid4().hex}"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                    + value.encode() + b"\r\n" for name, value in fields.items()) + f"--{boundary}--\r\n".encode()
    return Response(body, status_code=status, media_type=f"multipart/form-data; boundary={boundary}")


class CoreEndpoint:
    """One CORE URL. Batch results become ready only when ``release_batches`` runs (the payer's night)."""

    def __init__(self) -> None:
        self.payer = SandboxPayer(sandbox_plan_table())
        self.received: list[dict[str, str]] = []
        self.pending: dict[str, str] = {}
        self.results: dict[str, str] = {}
        self.fail_with: int | None = None
        self.raw_reply: tuple[str, bytes] | None = None
        self.app = Starlette(routes=[Route("/core", self.handle, methods=["POST"])])

    def reset(self) -> None:
        self.received.clear()
        self.pending.clear()
        self.results.clear()
        self.fail_with, self.raw_reply = None, None

    def release_batches(self) -> None:
        for payload_id, x12 in self.pending.items():
            self.results[payload_id] = self._answer(x12)
        self.pending.clear()

    def _answer(self, x12: str) -> str:
        return self.payer.answer(x12, ControlNumbers(7, 7, 1, datetime.now(UTC)))

    @staticmethod
    def _error(fields: dict[str, str], code: str, status: int = 400) -> Response:
        return _multipart({"PayloadType": "CoreEnvelopeError", "ProcessingMode": fields.get("ProcessingMode", ""),
                           "PayloadID": fields.get("PayloadID", ""), "TimeStamp": "2026-03-02T10:00:00Z",
                           "SenderID": RECEIVER, "ReceiverID": fields.get("SenderID", ""),
                           "CORERuleVersion": "2.2.0", "ErrorCode": code,
                           "ErrorMessage": f"envelope refused: {code}"}, status)

    def _reply(self, fields: dict[str, str], payload_type: str, payload: str | None = None) -> Response:
        reply = {"PayloadType": payload_type, "ProcessingMode": fields["ProcessingMode"],
                 "PayloadID": fields["PayloadID"], "TimeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "SenderID": RECEIVER, "ReceiverID": fields["SenderID"], "CORERuleVersion": "2.2.0"}
        if payload is not None:
            reply["Payload"] = payload
        reply.update(ErrorCode="Success", ErrorMessage="")
        return _multipart(reply)

    async def handle(self, request: Request) -> Response:
        if self.fail_with is not None:
            return Response("upstream unavailable", status_code=self.fail_with)
        if self.raw_reply is not None:
            return Response(self.raw_reply[1], media_type=self.raw_reply[0])
        fields = _parse_form(request.headers["content-type"], await request.body())
        self.received.append(fields)
        for name in REQUIRED:
            if not fields.get(name):
                return self._error(fields, f"{name}Required")
        by_password = (fields.get("UserName"), fields.get("Password")) == (USER, PASSWORD)
        by_token = request.headers.get("authorization") == f"Bearer {TOKEN}"
        if not (by_password or by_token):
            return self._error(fields, "UnAuthorized", 401)
        if fields["CORERuleVersion"] != "2.2.0":
            return self._error(fields, "VersionMismatch")
        if fields["SenderID"] != SENDER:
            return self._error(fields, "SenderIDIllegal")
        if fields["ReceiverID"] != RECEIVER:
            return self._error(fields, "ReceiverIDIllegal")
        try:
            stamp = datetime.strptime(fields["TimeStamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._error(fields, "TimeStampIllegal")
        if abs(datetime.now(UTC) - stamp) > timedelta(minutes=5):
            return self._error(fields, "TimeStampIllegal")
        mode, kind = fields["ProcessingMode"], fields["PayloadType"]
        if (mode, kind) == ("RealTime", "X12_270_Request_005010X279A1"):
            return self._reply(fields, "X12_271_Response_005010X279A1", self._answer(fields["Payload"]))
        if (mode, kind) == ("Batch", "X12_270_Request_005010X279A1"):
            payload = fields["Payload"].encode()
            if fields.get("PayloadLength") != str(len(payload)):
                return self._error(fields, "PayloadLengthIllegal")
            if fields.get("Checksum") != hashlib.sha1(payload, usedforsecurity=False).hexdigest():
                return self._error(fields, "ChecksumMismatch")
            self.pending[fields["PayloadID"]] = fields["Payload"]
            return self._reply(fields, "X12_BatchReceiptConfirmation")
        if (mode, kind) == ("Batch", "X12_005010_Request_Batch_Results_271"):
            result = self.results.pop(fields["PayloadID"], None)
            if result is None:
                return self._reply(fields, "X12_005010_Response_NoBatchResultsFile")
            return self._reply(fields, "X12_271_Response_005010X279A1", result)
        return self._error(fields, "PayloadTypeIllegal")


@dataclass
class CoreSite:
    endpoint: CoreEndpoint
    url: str

    def client(self, **kw: object) -> CaqhCoreGateway:
        args: dict[str, object] = {"sender_id": SENDER, "receiver_id": RECEIVER, "username": USER,
                                   "password": PASSWORD, "timeout": 5.0}
        args.update(kw)
        return CaqhCoreGateway(self.url, **args)  # type: ignore[arg-type]


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def core_server() -> Iterator[CoreSite]:
    endpoint = CoreEndpoint()
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(endpoint.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the CORE server did not start"
        time.sleep(0.01)
    yield CoreSite(endpoint, f"http://127.0.0.1:{port}/core")
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def core(core_server: CoreSite) -> CoreSite:
    core_server.endpoint.reset()
    return core_server


def decided(answer: str) -> list[EligibilityResult]:
    return assess_all(read_271(answer))


def inquiry(member_id: str = "SBX000001", trace: str = "TRACE-CORE-1") -> str:
    request = EligibilityRequest(
        payer=PayerRef("SBXHP", "SANDBOX HEALTH PLAN"), provider=ProviderRef("1234567893", "CALM CLINIC"),
        subscriber=Member("SAMPLE", "ALEX", None, member_id), service_date=today(),
        trace_number=trace)
    control = ControlNumbers(11, 11, 1, datetime.now(UTC))
    return build_270(request, control, InterchangeParties(SENDER, RECEIVER))


# ------------------------------------------------------------------------------------------ real time

async def test_real_time_round_trip_reads_an_active_member(core: CoreSite, caplog: pytest.LogCaptureFixture) -> None:
    request_270 = inquiry()
    caplog.set_level(logging.DEBUG, logger="eligibility")

    answer = await core.client().exchange(request_270)

    (result,) = decided(answer)
    assert result.status is ResultStatus.ACTIVE and result.next_action is NextAction.NONE
    assert result.trace_number == "TRACE-CORE-1" and result.member_id == "SBX000001"
    (sent,) = core.endpoint.received
    assert sent["Payload"] == request_270, "the X12 travels byte for byte"
    assert (sent["ProcessingMode"], sent["PayloadType"]) == ("RealTime", "X12_270_Request_005010X279A1")
    assert (sent["SenderID"], sent["ReceiverID"], sent["CORERuleVersion"]) == (SENDER, RECEIVER, "2.2.0")
    assert uuid.UUID(sent["PayloadID"]).version == 4
    assert sent["TimeStamp"].endswith("Z")
    assert "SBX000001" not in caplog.text and "ALEX" not in caplog.text, "the payload is PHI: never logged"
    assert sent["PayloadID"] in caplog.text


async def test_each_exchange_has_its_own_payload_id(core: CoreSite) -> None:
    client = core.client()
    await client.exchange(inquiry(trace="T-A"))
    await client.exchange(inquiry(trace="T-B"))
    assert len({f["PayloadID"] for f in core.endpoint.received}) == 2


async def test_bearer_token_authenticates_without_password_fields(core: CoreSite) -> None:
    answer = await core.client(username=None, password=None, bearer_token=TOKEN).exchange(inquiry())
    assert decided(answer)[0].status is ResultStatus.ACTIVE
    assert "UserName" not in core.endpoint.received[0] and "Password" not in core.endpoint.received[0]


async def test_wrong_password_is_unavailable_without_echoing_it(core: CoreSite) -> None:
    with pytest.raises(PayerUnavailable) as raised:
        await core.client(password="not-the-password").exchange(inquiry())
    assert raised.value.error_code == "UnAuthorized"
    assert "not-the-password" not in str(raised.value)


async def test_envelope_error_is_unavailable_with_its_code(core: CoreSite) -> None:
    with pytest.raises(PayerUnavailable) as raised:
        await core.client(sender_id="SOMEONEELSE").exchange(inquiry())
    assert raised.value.error_code == "SenderIDIllegal"
    assert "SenderIDIllegal" in str(raised.value)


async def test_server_down_is_unavailable(core: CoreSite) -> None:
    with _free_socket() as sock:  # bound but never listening: connections are refused
        client = CaqhCoreGateway(f"http://127.0.0.1:{sock.getsockname()[1]}/core", sender_id=SENDER,
                                 receiver_id=RECEIVER, username=USER, password=PASSWORD, timeout=2.0)
        with pytest.raises(PayerUnavailable) as raised:
            await client.exchange(inquiry())
    assert raised.value.error_code == "TransportError"


async def test_server_error_is_unavailable(core: CoreSite) -> None:
    core.endpoint.fail_with = 503
    with pytest.raises(PayerUnavailable) as raised:
        await core.client().exchange(inquiry())
    assert raised.value.error_code == "HTTP503"


@pytest.mark.parametrize("reply", [
    ("text/html", b"<html>maintenance</html>"),
    ("multipart/form-data; boundary=xyz", b"not a multipart body at all"),
    ("multipart/form-data; boundary=xyz",
     b'--xyz\r\nContent-Disposition: form-data; name="PayloadType"\r\n\r\nX12_999_Response\r\n--xyz--\r\n'),
    ("multipart/form-data; boundary=xyz",
     b'--xyz\r\nContent-Disposition: form-data; name="PayloadType"\r\n\r\nX12_271_Response_005010X279A1\r\n'
     b'--xyz\r\nContent-Disposition: form-data; name="PayloadID"\r\n\r\nsomeone-elses-id\r\n'
     b'--xyz\r\nContent-Disposition: form-data; name="Payload"\r\n\r\nISA*00~\r\n--xyz--\r\n'),
], ids=["html", "garbage-multipart", "wrong-payload-type", "wrong-payload-id"])
async def test_malformed_answer_is_unavailable(core: CoreSite, reply: tuple[str, bytes]) -> None:
    core.endpoint.raw_reply = reply
    with pytest.raises(PayerUnavailable) as raised:
        await core.client().exchange(inquiry())
    assert raised.value.error_code == "MalformedResponse"


# ------------------------------------------------------------------------------------------ batch

async def test_batch_submit_then_retrieve_after_the_payer_processed_it(core: CoreSite) -> None:
    client = core.client()
    request_270 = inquiry(trace="NIGHT-1")

    payload_id = await client.submit_batch(request_270)

    assert core.endpoint.pending == {payload_id: request_270}
    submitted = core.endpoint.received[0]
    assert (submitted["ProcessingMode"], submitted["PayloadID"]) == ("Batch", payload_id)
    assert await client.retrieve_batch(payload_id) is None, "not processed yet"

    core.endpoint.release_batches()
    answer = await client.retrieve_batch(payload_id)

    assert answer is not None
    (result,) = decided(answer)
    assert result.status is ResultStatus.ACTIVE and result.trace_number == "NIGHT-1"
    retrieval = core.endpoint.received[-1]
    assert (retrieval["PayloadType"], retrieval["PayloadID"]) == ("X12_005010_Request_Batch_Results_271", payload_id)
    assert "Payload" not in retrieval


async def test_batch_with_wrong_credentials_is_unavailable(core: CoreSite) -> None:
    with pytest.raises(PayerUnavailable) as raised:
        await core.client(password="nope").submit_batch(inquiry())
    assert raised.value.error_code == "UnAuthorized"
    assert core.endpoint.pending == {}
    with pytest.raises(PayerUnavailable):
        await core.client(password="nope").retrieve_batch(str(uuid.uuid4()))


# ------------------------------------------------------------------------------------------ wiring

def test_settings_choose_the_core_gateway() -> None:
    settings = EligibilitySettings(
        payer_gateway="caqh-core", payer_gateway_url="https://core.example.test/core",
        payer_gateway_username=USER, payer_gateway_password=PASSWORD,
        payer_gateway_sender_id=SENDER, payer_gateway_receiver_id=RECEIVER)
    gateway = build_gateway(settings)
    assert isinstance(gateway, CaqhCoreGateway)
    assert (gateway.url, gateway.sender_id, gateway.receiver_id) == (
        "https://core.example.test/core", SENDER, RECEIVER)
    assert not isinstance(build_gateway(EligibilitySettings()), CaqhCoreGateway)
    with pytest.raises(ValueError, match="payer_gateway"):
        build_gateway(EligibilitySettings(payer_gateway="carrier-pigeon"))


async def test_gateway_built_from_settings_talks_to_the_server(core: CoreSite) -> None:
    gateway = build_gateway(EligibilitySettings(
        payer_gateway="caqh-core", payer_gateway_url=core.url, payer_gateway_username=USER,
        payer_gateway_password=PASSWORD,
        payer_gateway_sender_id=SENDER, payer_gateway_receiver_id=RECEIVER, payer_gateway_timeout_seconds=5.0))
    assert decided(await gateway.exchange(inquiry()))[0].status is ResultStatus.ACTIVE



async def test_the_nightly_run_goes_through_core_batch_mode(core: CoreSite, broker, databases) -> None:  # type: ignore[no-untyped-def]
    now, day = evening(timedelta(minutes=5))
    settings = settings_for(EligibilitySettings, databases.create("elig"), broker, nightly_batch_enabled=False)
    gateway = core.client()
    app = build_app(settings, gateway=gateway, clock=fixed_clock(now))
    members = {"pt-1": ("SBX000001", "1988-04-12"), "pt-2": ("SBX000004", "2001-11-11")}
    async with running(app) as http:
        booked = await http.post("/v1/schedule", headers=auth(), json={"visits": [
            {"visit_id": f"v-{patient}", "patient_id": patient, "payer_id": "SBXHP", "service_date": day.isoformat(),
             "insurance": {"payer_name": "SANDBOX HEALTH PLAN", "provider_npi": "1234567893",
                           "provider_name": "CALM CLINIC",
                           "subscriber": {"first_name": "ALEX", "last_name": "SAMPLE", "member_id": member,
                                          "birth_date": born}}} for patient, (member, born) in members.items()]})
        assert booked.status_code == 200, booked.text
        services = services_of(app)

        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules, now=now)
        (run,) = (await http.get("/v1/batch-runs", headers=auth())).json()["items"]
        assert run["status"] == "submitted"
        (payload_id, x12), = core.endpoint.pending.items()
        assert payload_id == run["payload_id"] and x12.count("ST*270*") == 2

        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules,
                                              now=now + timedelta(minutes=10))
        assert (await http.get("/v1/batch-runs", headers=auth())).json()["items"][0]["status"] == "submitted"

        core.endpoint.release_batches()  # the payer's night
        await nightly_runs.nightly_batch_tick(services.uows, services.payer, services.rules,
                                              now=now + timedelta(minutes=20))
        (run,) = (await http.get("/v1/batch-runs", headers=auth())).json()["items"]
        assert run["status"] == "completed"
        batches = [f for f in core.endpoint.received if f["PayloadType"] == "X12_270_Request_005010X279A1"]
        assert len(batches) == 1 and batches[0]["ProcessingMode"] == "Batch"
        for patient in members:
            coverage = (await http.get(f"/v1/patients/{patient}/coverage", headers=auth())).json()["coverage"][0]
            assert coverage["active"] is True and coverage["checked_on"] == day.isoformat()
        assert (await http.get("/v1/work-items", headers=auth())).json()["items"] == []
