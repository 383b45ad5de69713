"""Claims' clearinghouse adapters against real protocol servers started here (an asyncssh SFTP server and
an HTTPS API with a self-signed certificate, from rcm_shared.testing.clearinghouse), and the submission path
through an outage. The transports themselves are tested in libs/shared; here: what claims sends and takes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from claims.adapters.clearinghouse import (
    ClearinghouseUnavailable,
    FileContent,
    ResponseFile,
    SandboxClearinghouse,
    SftpClearinghouse,
    SubmissionReceipt,
)
from claims.adapters.orm import acknowledgments, batch_chunks, batches, claims, platform
from claims.bootstrap import build_app, load_rulebook
from claims.config import ClaimsSettings
from claims.service_layer import responses, scrub, submission
from rcm_shared.contracts import VisitCompletedV1
from rcm_shared.contracts.envelope import EventEnvelope
from rcm_shared.contracts.registry import decode_payload
from rcm_shared.db.types import utcnow
from rcm_shared.testing.clearinghouse import API_KEY, PASSWORD, USER, HttpsSite, SftpSite
from rcm_shared.testing.fixtures import auth, fixed_clock, running
from sqlalchemy import insert, select

from .conftest import checked, determined

pytestmark = pytest.mark.integration
RULES = load_rulebook()

ISA = "ISA*00*          *00*          *ZZ*SBXCH          *ZZ*RCMPLATFORM    *261130*1200*^*00501*000000001*0*T*:~"


def _returned(transaction: str) -> bytes:
    return (ISA + f"GS*XX*SBXCH*RCMPLATFORM*20261130*1200*1*X*005010~ST*{transaction}*0001~SE*2*0001~GE*1*1~"
                  "IEA*1*000000001~").encode()


async def _pieces() -> AsyncIterator[bytes]:
    for n in range(3):
        yield f"ISA*PIECE{n}~".encode()


def sftp(site: SftpSite) -> SftpClearinghouse:
    return SftpClearinghouse("127.0.0.1", site.port, USER, password=PASSWORD, client_keys=[], known_hosts=None,
                             timeout=5.0)


async def test_sftp_submits_pieces_once_and_takes_back_everything_but_835s(sftp_site: SftpSite) -> None:
    clearinghouse = sftp(sftp_site)
    first = await clearinghouse.submit("837P_SBXHP_000000001.x12", _pieces())
    again = await clearinghouse.submit("837P_SBXHP_000000001.x12", b"A DIFFERENT BODY")
    assert (first.already_present, again.already_present) == (False, True)
    assert (sftp_site.inbound / "837P_SBXHP_000000001.x12").read_bytes() == b"ISA*PIECE0~ISA*PIECE1~ISA*PIECE2~"

    for name, kind in (("999_A.x12", "999"), ("277CA_B.x12", "277"), ("ERA_C.835", "835")):
        (sftp_site.outbound / name).write_bytes(_returned(kind))
    files = await clearinghouse.collect_responses()
    assert [f.file_name for f in files] == ["277CA_B.x12", "999_A.x12"], "the 835 is remittance's"
    for file in files:
        await clearinghouse.acknowledge(file.file_name)
    assert [p.name for p in sftp_site.outbound.iterdir()] == ["ERA_C.835"], "left for remittance to pick up"


async def test_sftp_unreachable_is_clearinghouse_unavailable(sftp_site: SftpSite) -> None:
    clearinghouse = sftp(sftp_site)
    await sftp_site.close()
    with pytest.raises(ClearinghouseUnavailable):
        await clearinghouse.submit("837P_SBXHP_000000003.x12", b"ISA~")
    with pytest.raises(ClearinghouseUnavailable):
        await clearinghouse.collect_responses()


async def test_https_submits_and_collects_like_sftp(https_site: HttpsSite) -> None:
    from claims.adapters.clearinghouse import HttpsClearinghouse

    clearinghouse = HttpsClearinghouse(https_site.base_url, API_KEY, timeout=5.0, verify=str(https_site.cert))
    receipt = await clearinghouse.submit("837P_SBXHP_000000002.x12", _pieces())
    assert receipt.already_present is False
    assert https_site.api.submissions == {"837P_SBXHP_000000002.x12": b"ISA*PIECE0~ISA*PIECE1~ISA*PIECE2~"}
    https_site.api.responses.update({"999_A.x12": _returned("999"), "ERA_B.835": _returned("835")})
    assert [f.file_name for f in await clearinghouse.collect_responses()] == ["999_A.x12"]
    https_site.api.fail_with = 503
    with pytest.raises(ClearinghouseUnavailable, match="503"):
        await clearinghouse.submit("837P_SBXHP_000000004.x12", b"ISA~")


async def test_sandbox_leaves_835s_too(tmp_path: Path) -> None:
    sandbox = SandboxClearinghouse(tmp_path / "ch", answer_like_a_payer=False)
    (sandbox.inbound / "999_A.x12").write_bytes(_returned("999"))
    (sandbox.inbound / "ERA_B.835").write_bytes(_returned("835"))
    assert [f.file_name for f in await sandbox.collect_responses()] == ["999_A.x12"]


async def test_collector_reads_its_kinds_in_any_delimiters_and_leaves_what_it_cannot_read(
        databases, sftp_site: SftpSite) -> None:  # type: ignore[no-untyped-def]
    """Claims removes a returned file only after committing what it said. A file it does not read (an 835, a
    report) is left in the shared mailbox, and one it cannot read neither disappears nor holds up the files
    after it. A TA1 (no ST: recognised by the segment after the ISA) is taken, and never undoes a batch its
    999 already settled."""
    settings = ClaimsSettings(database_url=databases.create("claims_collect"), run_workers=False,
                              submission_interval_seconds=3600, response_poll_seconds=3600)
    clearinghouse = sftp(sftp_site)
    app = build_app(settings, clearinghouse=clearinghouse)
    async with running(app):
        db = app.state.db
        async with db.transaction() as session:
            await session.execute(insert(batches).values(
                batch_id="batch-77", practice_id="practice-a", payer_id="SBXHP", interchange_control_number=77,
                file_name="837P_SBXHP_000000077.x12", claim_count=1, status="submitted", attempts=1,
                created_at=utcnow()))
        accepted_77 = (ISA + "GS*FA*SBXCH*RCMPLATFORM*20261130*1200*5*X*005010X231A1~ST*999*0001*005010X231A1~"
                       "AK1*HC*77*005010X222A1~AK2*837*0001*005010X222A1~IK5*A~AK9*A*1*1*1~SE*6*0001~GE*1*5~"
                       "IEA*1*000000001~")
        outbound = sftp_site.outbound
        (outbound / "999_A.x12").write_bytes((ISA + "GS*FA*SBXCH*RCMPLATFORM*20261130*1200*4*X*005010X231A1~"
                                              "ST*999*0001*005010X231A1~AK1*HC~garbage").encode())
        # the same 999 with other delimiters: | between elements, > between components, a line per segment
        (outbound / "999_B.x12").write_bytes(
            accepted_77.replace("*", "|").replace(":~", ">~").replace("~", "\n").encode())
        (outbound / "ERA_C.835").write_bytes(_returned("835"))
        (outbound / "REPORT_D.txt").write_bytes(b"Daily summary: 1 file received, 1 accepted")
        (outbound / "TA1_E.x12").write_bytes((ISA + "TA1*000000077*261130*1200*R*024~IEA*0*000000001~").encode())

        assert await responses.collect_acknowledgments(db, clearinghouse) == 3

        assert sorted(p.name for p in outbound.iterdir()) == ["999_A.x12", "ERA_C.835", "REPORT_D.txt"]
        async with db.sessions() as session:
            status = (await session.execute(select(batches.c.status).where(
                batches.c.batch_id == "batch-77"))).scalar_one()
            recorded = (await session.execute(select(acknowledgments.c.file_name, acknowledgments.c.kind)
                                              .order_by(acknowledgments.c.file_name))).all()
            noted = (await session.execute(select(batches.c.interchange_ack, batches.c.interchange_note))).one()
        assert status == "accepted"  # the 999 (read first, by name) settled it; the TA1 is only noted
        assert tuple(noted) == ("R", "024")
        assert [tuple(r) for r in recorded] == [("999_B.x12", "999"), ("TA1_E.x12", "TA1")]


# ------------------------------------------------------------------------------------------ outage

class FlakyClearinghouse:
    """Plays an outage in front of a real clearinghouse: ``down`` fails before sending, ``lost_reply``
    delivers the file and then times out (the caller cannot know it arrived)."""

    name = "flaky"

    def __init__(self, inner: SandboxClearinghouse, plan: list[str]) -> None:
        self.inner, self.plan = inner, plan
        self.calls: list[str] = []
        self.receipts: list[SubmissionReceipt] = []

    async def submit(self, file_name: str, content: FileContent) -> SubmissionReceipt:
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
        "date_of_service": (fixed_clock().today() - timedelta(days=3)).isoformat(), "service_kind": "psychotherapy",
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
    app = build_app(settings, clearinghouse=flaky, clock=fixed_clock())
    async with running(app) as client:
        db = app.state.db
        # Two practices -> two 837P batches. No broker here: the claims wait for their facts, which are applied as
        # the claim-facts consumer would (authorizations' determination, eligibility's check).
        for practice in ("practice-a", "practice-b"):
            posted = await client.post("/v1/visits", json=_visit(f"E-{practice}"), headers=auth(practice))
            assert posted.status_code == 201, posted.text
        async with db.sessions() as session:
            staged = (await session.execute(select(platform.outbox.c.payload).where(
                platform.outbox.c.event_type == VisitCompletedV1.event_type))).scalars().all()
        dos = fixed_clock().today() - timedelta(days=3)
        for raw in staged:
            visit = decode_payload(EventEnvelope.from_bytes(raw))
            assert isinstance(visit, VisitCompletedV1)
            answer = determined(visit.visit_id, visit.patient_id, "SBXHP", dos, rendering_npi="1234567893",
                                credentialed={"1234567893", "1245319599"}, practice_id=visit.practice_id)
            check = checked(visit.patient_id, "SBXHP", dos, practice_id=visit.practice_id)
            async with app.state.services.uows() as uow:
                await scrub.apply_determinations(uow, [answer], RULES, today=dos, now=utcnow())
                await scrub.apply_coverage_checks(uow, [(utcnow(), check)], RULES, today=dos, now=utcnow())
        async with db.sessions() as session:
            assert (await session.execute(select(claims.c.status))).scalars().all() == ["scrubbed"] * 2
        created = await submission.batch_ready_claims(db, app.state.submission, RULES, clock=app.state.clock)
        assert len(created) == 2

        async def batch_states() -> list[tuple[str, str, int, str | None]]:
            async with db.sessions() as session:
                rows = (await session.execute(select(batches).order_by(batches.c.created_at))).all()
            return [(r.file_name, r.status, r.attempts, r.last_error) for r in rows]

        first, second = [name for name, *_ in await batch_states()]
        outbound = tmp_path / "clearinghouse" / "outbound"

        for _ in range(3):  # down: nothing leaves, the first batch keeps its place in the queue
            assert await submission.send_queued_batches(db, flaky) == 0
        assert await batch_states() == [
            (first, "queued", 3, "sftp connect failed: ConnectionRefusedError"),
            (second, "queued", 0, None),
        ]
        assert list(outbound.iterdir()) == []

        # the file arrives but the reply is lost: still queued, to be resent
        assert await submission.send_queued_batches(db, flaky) == 0
        assert (await batch_states())[0] == (first, "queued", 4, "sftp upload failed: TimeoutError")
        assert [p.name for p in outbound.iterdir()] == [first]

        # recovered: the resend is recognised by its file name, the second batch goes out once
        assert await submission.send_queued_batches(db, flaky) == 2
        assert await batch_states() == [(first, "submitted", 5, None), (second, "submitted", 1, None)]
        assert [(r.file_name, r.already_present) for r in flaky.receipts] == [(first, True), (second, False)]

        calls_before = len(flaky.calls)
        assert await submission.send_queued_batches(db, flaky) == 0
        assert len(flaky.calls) == calls_before

        async with db.sessions() as session:
            stored = (await session.execute(select(batches.c.file_name, batch_chunks.c.content).join(
                batch_chunks, batch_chunks.c.batch_id == batches.c.batch_id).order_by(batch_chunks.c.seq))).all()
        contents: dict[str, bytes] = {}
        for name, piece in stored:
            contents[name] = contents.get(name, b"") + piece
        assert sorted(p.name for p in outbound.iterdir()) == sorted([first, second]) == sorted(contents)
        for name, content in contents.items():
            assert (outbound / name).read_bytes() == content
        # one 999 per batch: the sandbox acknowledged each file once
        assert sorted(p.name for p in (tmp_path / "clearinghouse" / "inbound").iterdir()) == sorted(
            [f"999_{first}", f"999_{second}"])
