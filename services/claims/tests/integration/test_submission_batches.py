"""The submission job on real PostgreSQL: files capped at ``max_claims_per_file``, each claim submitted once with
its events, and memory that does not grow with the number of claims (tracemalloc peaks, no timings); an
unreadable claim held instead of stopping the run; batches the clearinghouse will never process (a TA1
rejection, an upload refused for good) settled with their reason without holding up the queue."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from claims.adapters import repository
from claims.adapters.claim_document import to_document
from claims.adapters.clearinghouse import HttpsClearinghouse, SandboxClearinghouse, SubmissionReceipt
from claims.adapters.orm import acknowledgments, batch_chunks, batches, claim_transitions, claims, platform
from claims.bootstrap import build_app, load_rulebook
from claims.config import ClaimsSettings
from claims.domain.exceptions import ClaimUnreadable
from claims.domain.model import (
    Address,
    BillingProvider,
    Claim,
    ClaimLine,
    Clinician,
    PatientParty,
    PayerRef,
    Person,
    Subscriber,
)
from claims.edi.x12_837_reader import iter_837p_claims
from claims.service_layer import responses, submission
from rcm_shared.clearinghouse import FileContent
from rcm_shared.contracts import ClaimStatusChangedV1, ClaimSubmittedV1
from rcm_shared.db.bulk import insert_many
from rcm_shared.db.database import Database
from rcm_shared.testing.clearinghouse import HttpsSite
from rcm_shared.testing.fixtures import auth, fixed_clock, running
from rcm_shared.testing.x12 import pyx12_errors
from sqlalchemy import func, select, update

pytestmark = pytest.mark.integration
RULES = load_rulebook()
CLOCK = fixed_clock()  # the files' dates; nothing here moves it

ADDRESS = Address("100 MAIN ST", "HARTFORD", "CT", "06103")
BILLING = BillingProvider("RIVERSIDE COUNSELING", "1245319599", "123456789", ADDRESS, "261QM0801X")
RENDERING = Clinician("1234567893", "LCSW", "RIVERA", "JO", "1041C0700X")
PAYER = PayerRef("SBXHP", "SANDBOX HEALTH PLAN")


def scrubbed_claim(i: int) -> Claim:
    person = Person(["Sample", "DOE", "Nguyen"][i % 3], ["Alex", "SAM"][i % 2], date(1980 + i % 30, 1 + i % 12, 1),
                    "F", ADDRESS)
    lines = (ClaimLine("90837", Decimal("200.00"), 1, (), (1,)),) if i % 4 else (
        ClaimLine("99214", Decimal("160.00"), 1, (), (1, 2)), ClaimLine("90833", Decimal("95.00"), 1, (), (1,)))
    claim = Claim.draft(
        claim_id=f"claim-{i:06d}", patient_control_number=f"PCN{i:09d}", payer=PAYER, billing_provider=BILLING,
        subscriber=Subscriber(f"SBX{i:09d}", person, "GRP1"),
        patient=PatientParty("19", replace(person, first_name="KIM")) if i % 3 == 1 else None,
        rendering=RENDERING, date_of_service=date(2026, 10, 1 + i % 28), place_of_service="11",
        diagnoses=("F411", "F321"), lines=lines, prior_authorization=f"AUTH{i % 97}", visit_id=f"visit-{i}")
    claim.record_scrub([])
    claim.pull_events()
    return claim


async def seed(db: Database, first: int, count: int, practice_id: str = "practice-a") -> None:
    """Scrubbed claims straight into the table (building them through visits would take minutes)."""
    for start in range(first, first + count, 2000):
        rows: list[dict[str, Any]] = []
        for i in range(start, min(start + 2000, first + count)):
            c = scrubbed_claim(i)
            rows.append(dict(
                claim_id=c.claim_id, practice_id=practice_id, visit_id=c.visit_id, patient_id=f"pt-{i}",
                payer_id=c.payer.payer_id, patient_control_number=c.patient_control_number, status=c.status.value,
                frequency_code="1", total_charge=c.total_charge, date_of_service=c.date_of_service,
                rendering_npi=c.rendering.npi, fingerprint=f"fp-{i}", document=to_document(c), findings=[],
                paid=Decimal("0.00"), patient_responsibility=Decimal("0.00"),
                created_at=datetime(2026, 11, 1, tzinfo=UTC), updated_at=datetime(2026, 11, 1, tzinfo=UTC),
                version=1))
        async with db.transaction() as session:
            await insert_many(session, claims, rows)


def settings_of(max_claims_per_file: int) -> submission.SubmissionSettings:
    return submission.SubmissionSettings("RCMPLATFORM", "CLEARINGHOUSE", "T", max_claims_per_file)


async def test_files_are_capped_and_every_claim_is_submitted_once_with_its_events(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = ClaimsSettings(database_url=databases.create("claims_batches"), run_workers=False,
                              submission_interval_seconds=3600, response_poll_seconds=3600)
    sandbox = SandboxClearinghouse(tmp_path / "clearinghouse")
    app = build_app(settings, clearinghouse=sandbox)
    async with running(app):
        db = app.state.db
        await seed(db, 0, 1150)
        await seed(db, 5000, 40, practice_id="practice-b")
        created = await submission.batch_ready_claims(db, settings_of(500), RULES, clock=CLOCK, page=120)
        assert await submission.send_queued_batches(db, sandbox) == len(created) == 4

        async with db.sessions() as session:
            files = (await session.execute(select(batches.c.practice_id, batches.c.file_name, batches.c.claim_count)
                                           .order_by(batches.c.interchange_control_number))).all()
            by_status = dict((await session.execute(select(claims.c.status, func.count()).group_by(
                claims.c.status))).all())
            events = dict((await session.execute(select(platform.outbox.c.event_type, func.count()).group_by(
                platform.outbox.c.event_type))).all())
            transitions = (await session.execute(select(func.count()).select_from(claim_transitions).where(
                claim_transitions.c.to_status == "submitted"))).scalar_one()
        # the oldest waiting claims go first; one file per practice and payer, 500 claims at most
        assert [(p, n) for p, _, n in files] == [
            ("practice-a", 500), ("practice-a", 500), ("practice-a", 150), ("practice-b", 40)]
        assert by_status == {"submitted": 1190}
        assert events == {ClaimStatusChangedV1.event_type: 1190, ClaimSubmittedV1.event_type: 1190}
        assert transitions == 1190

        outbound = tmp_path / "clearinghouse" / "outbound"
        seen: list[str] = []
        for _, name, count in files:
            text = (outbound / name).read_text()
            read = iter_837p_claims(text)
            assert len(read) == count
            seen += [c["patient_control_number"] for c in read]
            # the pages of a file join into one interchange the sandbox payer accepts (SE counts included)
            ack = (tmp_path / "clearinghouse" / "inbound" / f"999_{name}").read_text()
            assert "AK9*A*" in ack and "IK5*R" not in ack
        assert len(seen) == len(set(seen)) == 1190
        small = (outbound / files[-1][1]).read_text()
        assert pyx12_errors(small) == []

        nothing_left = await submission.batch_ready_claims(db, settings_of(500), RULES, clock=CLOCK)
        assert nothing_left == []


async def test_a_run_that_fails_half_way_leaves_no_half_file_and_no_claim_submitted(  # type: ignore[no-untyped-def]
        databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is written a page at a time, but a file, its pieces, its claims' new status and their events are
    one transaction: a failure on the third page leaves nothing of that file, and the next run starts over."""
    settings = ClaimsSettings(database_url=databases.create("claims_half_way"), run_workers=False,
                              submission_interval_seconds=3600, response_poll_seconds=3600)
    sandbox = SandboxClearinghouse(tmp_path / "clearinghouse")
    app = build_app(settings, clearinghouse=sandbox)
    async with running(app):
        db = app.state.db
        await seed(db, 0, 300)
        # the database goes away while the third page of 100 is being marked submitted
        real, pages = submission._mark_submitted, []

        async def failing_on_third_page(*args: Any) -> None:
            pages.append(len(args[-2]))  # the page (then the instant)
            if len(pages) == 3:
                raise ConnectionResetError("connection lost")
            await real(*args)

        monkeypatch.setattr(submission, "_mark_submitted", failing_on_third_page)
        with pytest.raises(ConnectionResetError):
            await submission.batch_ready_claims(db, settings_of(1000), RULES, clock=CLOCK, page=100)
        assert pages == [100, 100, 100]

        async with db.sessions() as session:
            assert (await session.execute(select(func.count()).select_from(batches))).scalar_one() == 0
            assert (await session.execute(select(func.count()).select_from(batch_chunks))).scalar_one() == 0
            assert (await session.execute(select(func.count()).select_from(platform.outbox))).scalar_one() == 0
            assert (await session.execute(select(func.count()).select_from(claim_transitions))).scalar_one() == 0
            assert dict((await session.execute(select(claims.c.status, func.count()).group_by(
                claims.c.status))).all()) == {"scrubbed": 300}
        assert await submission.send_queued_batches(db, sandbox) == 0
        assert list((tmp_path / "clearinghouse" / "outbound").iterdir()) == []

        monkeypatch.undo()  # back: the next run writes the whole file, under the same number
        [batch_id] = await submission.batch_ready_claims(db, settings_of(1000), RULES, clock=CLOCK, page=100)
        async with db.sessions() as session:
            batch = (await session.execute(select(batches).where(batches.c.batch_id == batch_id))).one()
            pieces = (await session.execute(select(batch_chunks.c.seq).where(
                batch_chunks.c.batch_id == batch_id).order_by(batch_chunks.c.seq))).scalars().all()
        assert (batch.interchange_control_number, batch.claim_count) == (1, 300)
        assert pieces == [0, 1, 2, 3]  # three pages, then the closing SE / GE / IEA
        assert await submission.send_queued_batches(db, sandbox) == 1
        text = (tmp_path / "clearinghouse" / "outbound" / batch.file_name).read_text()
        assert len(iter_837p_claims(text)) == 300


async def test_an_unreadable_claim_is_held_and_the_others_are_batched(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = ClaimsSettings(database_url=databases.create("claims_unreadable"), run_workers=False,
                              submission_interval_seconds=3600, response_poll_seconds=3600)
    sandbox = SandboxClearinghouse(tmp_path / "clearinghouse")
    app = build_app(settings, clearinghouse=sandbox)
    async with running(app) as client:
        db = app.state.db
        await seed(db, 0, 250)
        await seed(db, 900, 2, practice_id="practice-b")
        async with db.transaction() as session:
            document = (await session.execute(select(claims.c.document).where(
                claims.c.claim_id == "claim-000150"))).scalar_one()
            # damaged documents: one on the second page of practice-a, every claim of practice-b (the oldest
            # waiting claim of its payer is unreadable, and so is the rest: no file for it)
            await session.execute(update(claims).where(claims.c.claim_id == "claim-000150").values(
                document={k: v for k, v in document.items() if k != "lines"}))
            await session.execute(update(claims).where(claims.c.practice_id == "practice-b").values(
                document={"claim_id": "broken"}))
        before = repository.UNREADABLE_CLAIMS.labels("batch")._value.get()

        created = await submission.batch_ready_claims(db, settings_of(1000), RULES, clock=CLOCK, page=100)
        assert len(created) == 1 and await submission.send_queued_batches(db, sandbox) == 1

        assert repository.UNREADABLE_CLAIMS.labels("batch")._value.get() - before == 3
        async with db.sessions() as session:
            batch = (await session.execute(select(batches))).one()
            held = (await session.execute(select(claims.c.claim_id, claims.c.findings).where(
                claims.c.status == "held").order_by(claims.c.claim_id))).all()
            moved = (await session.execute(select(claim_transitions.c.claim_id, claim_transitions.c.reason).where(
                claim_transitions.c.to_status == "held").order_by(claim_transitions.c.claim_id))).all()
            changed = (await session.execute(select(func.count()).select_from(platform.outbox).where(
                platform.outbox.c.event_type == ClaimStatusChangedV1.event_type))).scalar_one()
        assert (batch.interchange_control_number, batch.claim_count) == (1, 249)  # gap-free: no empty file
        assert [c for c, _ in held] == ["claim-000150", "claim-000900", "claim-000901"]
        assert all(f[0]["code"] == submission.UNREADABLE_DOCUMENT for _, f in held)
        assert moved == [(c, submission.UNREADABLE_DOCUMENT) for c, _ in held]
        assert changed == 249 + 3  # submitted, and held: each change announced
        text = (tmp_path / "clearinghouse" / "outbound" / batch.file_name).read_text()
        assert "PCN000000150" not in text and len(iter_837p_claims(text)) == 249

        # the held queue still lists it (from its columns), instead of failing whole
        listed = await client.get("/v1/claims", params={"status": "held"}, headers=auth("practice-a"))
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["items"]
        assert item["claim_id"] == "claim-000150" and item["findings"][0]["code"] == "DOCUMENT_UNREADABLE"
        stuck = await submission.batch_ready_claims(db, settings_of(1000), RULES, clock=CLOCK)
        assert stuck == []  # nothing left, nothing stuck
        # loaded on its own (GET, scrub, correct, void): a clear 409 problem, never a 500
        async with db.sessions() as session:
            with pytest.raises(ClaimUnreadable) as refused:
                await repository.load_claim(session, "practice-a", "claim-000150")
        assert "PCN" not in str(refused.value)


async def _run_measured(db: Database, sandbox: SandboxClearinghouse) -> tuple[int, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        created = await submission.batch_ready_claims(db, settings_of(100_000), RULES, clock=CLOCK)
        batch_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        sent = await submission.send_queued_batches(db, sandbox)
        send_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(created) == sent == 1
    return batch_peak, send_peak


async def test_memory_of_a_submission_run_does_not_grow_with_the_batch(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = ClaimsSettings(database_url=databases.create("claims_memory"), run_workers=False,
                              submission_interval_seconds=3600, response_poll_seconds=3600)
    sandbox = SandboxClearinghouse(tmp_path / "clearinghouse")
    app = build_app(settings, clearinghouse=sandbox)
    async with running(app):
        db = app.state.db
        await seed(db, 0, 1_000)
        small_batch, small_send = await _run_measured(db, sandbox)
        await seed(db, 100_000, 10_000)
        large_batch, large_send = await _run_measured(db, sandbox)

    outbound = sorted((tmp_path / "clearinghouse" / "outbound").iterdir())
    sizes = [path.stat().st_size for path in outbound]
    assert len(sizes) == 2 and sizes[1] > 9 * sizes[0]  # one file of 1,000 claims, one of 10,000
    # ten times the claims in one file, about the same peak: a page of claims, not the batch, sets the memory
    # (with memory growing with the batch the second peaks would be several times the first)
    assert large_batch < 1.5 * small_batch, (small_batch, large_batch)
    assert large_send < 1.5 * small_send, (small_send, large_send)
    ack = (tmp_path / "clearinghouse" / "inbound" / f"999_{outbound[1].name}").read_text()
    assert "AK9*A*" in ack and "IK5*R" not in ack


# ------------------------------------------------------------------ batches never processed: TA1 R, HTTPS 413

ISA = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*RCMPLATFORM    *261130*0900*^*00501*000000900*0*T*:~"


def ta1(icn: int, status: str, note: str) -> str:
    return f"{ISA}TA1*{icn:09d}*261130*0915*{status}*{note}~IEA*0*000000900~"


def settings_for(databases, name: str) -> ClaimsSettings:  # type: ignore[no-untyped-def]
    return ClaimsSettings(database_url=databases.create(name), run_workers=False,
                          submission_interval_seconds=3600, response_poll_seconds=3600)


async def test_a_ta1_rejection_rejects_the_batch_and_returns_its_claims(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sandbox = SandboxClearinghouse(tmp_path / "clearinghouse", answer_like_a_payer=False)  # no 999: a TA1 comes
    app = build_app(settings_for(databases, "claims_ta1"), clearinghouse=sandbox)
    async with running(app) as client:
        db = app.state.db
        await seed(db, 0, 3)
        await seed(db, 100, 2, practice_id="practice-b")
        assert len(await submission.batch_ready_claims(db, settings_of(1000), RULES, clock=CLOCK)) == 2
        assert await submission.send_queued_batches(db, sandbox) == 2
        inbound = tmp_path / "clearinghouse" / "inbound"
        (inbound / "TA1_0001.x12").write_text(ta1(1, "R", "024"))  # practice-a's interchange: rejected
        (inbound / "TA1_0002.x12").write_text(ta1(2, "A", "000"))  # practice-b's: accepted, 999 to follow
        (inbound / "TA1_9999.x12").write_text(ta1(9999, "R", "001"))  # not ours: recorded, nothing moves

        assert await responses.collect_acknowledgments(db, sandbox) == 3
        async with db.sessions() as session:
            states = (await session.execute(select(
                batches.c.interchange_control_number, batches.c.status, batches.c.interchange_ack,
                batches.c.interchange_note, batches.c.last_error).order_by(batches.c.interchange_control_number))
            ).all()
            by_status = dict((await session.execute(select(claims.c.practice_id + ":" + claims.c.status,
                                                           func.count()).group_by(claims.c.practice_id,
                                                                                  claims.c.status))).all())
            reasons = set((await session.execute(select(claim_transitions.c.reason).where(
                claim_transitions.c.to_status == "rejected"))).scalars())
            kinds = (await session.execute(select(acknowledgments.c.kind, func.count()).group_by(
                acknowledgments.c.kind))).all()
        assert [tuple(s) for s in states] == [
            (1, "rejected", "R", "024", "TA1 024: Invalid interchange content (e.g. invalid GS segment)"),
            (2, "submitted", "A", "000", None)]
        assert by_status == {"practice-a:rejected": 3, "practice-b:submitted": 2}
        assert reasons == {"TA1:024"}
        assert kinds == [("TA1", 3)]
        assert sorted(p.name for p in inbound.iterdir()) == []  # taken, and archived by the sandbox
        # the rejected queue is where a person corrects and resends them (as new originals: no payer number)
        queue = await client.get("/v1/claims", params={"status": "rejected"}, headers=auth("practice-a"))
        assert len(queue.json()["items"]) == 3
        listed = await client.get("/v1/submission-batches", headers=auth("practice-a"))
        [batch] = listed.json()
        assert (batch["status"], batch["interchange_acknowledgment"], batch["interchange_note"]) == (
            "rejected", "R", "024")
        assert batch["reason"].startswith("TA1 024")

        # the same TA1 again (a removal that failed): recognised by name, nothing changes twice
        (inbound / "TA1_0001.x12").write_text(ta1(1, "R", "024"))
        assert await responses.collect_acknowledgments(db, sandbox) == 1
        async with db.sessions() as session:
            assert (await session.execute(select(func.count()).select_from(claim_transitions).where(
                claim_transitions.c.to_status == "rejected"))).scalar_one() == 3


class RefusingFirst(HttpsClearinghouse):
    """The HTTPS clearinghouse refusing one named file with 413 (too large) and taking the others."""

    def __init__(self, site: HttpsSite, refused: str) -> None:
        super().__init__(site.base_url, "unused")
        self.mailbox = site.mailbox()
        self.site, self.refused = site, refused

    async def submit(self, file_name: str, content: FileContent) -> SubmissionReceipt:
        self.site.api.fail_with = 413 if file_name == self.refused else None
        return await super().submit(file_name, content)


async def test_a_file_refused_for_good_does_not_hold_up_the_queue(databases, https_site: HttpsSite) -> None:  # type: ignore[no-untyped-def]
    app = build_app(settings_for(databases, "claims_refused"))
    async with running(app) as client:
        db = app.state.db
        await seed(db, 0, 3)
        await seed(db, 100, 2, practice_id="practice-b")
        assert len(await submission.batch_ready_claims(db, settings_of(1000), RULES, clock=CLOCK)) == 2
        async with db.sessions() as session:
            first, second = (await session.execute(select(batches.c.file_name).order_by(
                batches.c.interchange_control_number))).scalars().all()
        before = submission.REFUSED_BATCHES.labels("413")._value.get()

        https_site.api.fail_with = 503  # an outage first: nothing is refused, the queue keeps its order
        outage = HttpsClearinghouse(https_site.base_url, "unused")
        outage.mailbox = https_site.mailbox()
        assert await submission.send_queued_batches(db, outage) == 0
        async with db.sessions() as session:
            assert (await session.execute(select(batches.c.status, batches.c.attempts).order_by(
                batches.c.interchange_control_number))).all() == [("queued", 1), ("queued", 0)]

        clearinghouse = RefusingFirst(https_site, first)
        assert await submission.send_queued_batches(db, clearinghouse) == 1
        assert list(https_site.api.submissions) == [second]  # the one behind it went out
        assert submission.REFUSED_BATCHES.labels("413")._value.get() - before == 1
        assert await submission.send_queued_batches(db, clearinghouse) == 0  # and the refused one is not retried

        async with db.sessions() as session:
            states = (await session.execute(select(batches.c.file_name, batches.c.status, batches.c.attempts,
                                                   batches.c.last_error).order_by(
                batches.c.interchange_control_number))).all()
            by_status = dict((await session.execute(select(claims.c.practice_id + ":" + claims.c.status,
                                                           func.count()).group_by(claims.c.practice_id,
                                                                                  claims.c.status))).all())
            reasons = set((await session.execute(select(claim_transitions.c.reason).where(
                claim_transitions.c.to_status == "rejected"))).scalars())
        assert [tuple(s) for s in states] == [(first, "refused", 2, "clearinghouse answered 413"),
                                              (second, "submitted", 1, None)]
        assert by_status == {"practice-a:rejected": 3, "practice-b:submitted": 2}
        assert reasons == {"HTTP413"}
        listed = await client.get("/v1/submission-batches", headers=auth("practice-a"))
        [batch] = listed.json()
        assert (batch["status"], batch["reason"]) == ("refused", "clearinghouse answered 413")


def rejecting_999(group_control_number: int) -> str:
    body = (f"GS*FA*CLEARINGHOUSE*RCMPLATFORM*20261130*0920*901*X*005010X231A1~ST*999*0001*005010X231A1~"
            f"AK1*HC*{group_control_number}*005010X222A1~AK2*837*0001*005010X222A1~IK3*CLM*30**8~IK5*R*5~"
            f"AK9*R*1*1*0~SE*7*0001~GE*1*901~IEA*1*000000900~")
    return ISA + body


async def test_a_999_rejecting_the_group_sends_its_claims_to_the_rejected_queue(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sandbox = SandboxClearinghouse(tmp_path / "clearinghouse", answer_like_a_payer=False)
    app = build_app(settings_for(databases, "claims_999r"), clearinghouse=sandbox)
    async with running(app):
        db = app.state.db
        await seed(db, 0, 2)
        await seed(db, 100, 3, practice_id="practice-b")
        assert len(await submission.batch_ready_claims(db, settings_of(1000), RULES, clock=CLOCK)) == 2
        assert await submission.send_queued_batches(db, sandbox) == 2
        (tmp_path / "clearinghouse" / "inbound" / "999_B.x12").write_text(rejecting_999(2))

        assert await responses.collect_acknowledgments(db, sandbox) == 1
        async with db.sessions() as session:
            states = dict((await session.execute(select(batches.c.interchange_control_number,
                                                        batches.c.status))).all())
            by_status = dict((await session.execute(select(claims.c.practice_id + ":" + claims.c.status,
                                                           func.count()).group_by(claims.c.practice_id,
                                                                                  claims.c.status))).all())
            reasons = set((await session.execute(select(claim_transitions.c.reason).where(
                claim_transitions.c.to_status == "rejected"))).scalars())
        assert states == {1: "submitted", 2: "rejected"}
        assert by_status == {"practice-a:submitted": 2, "practice-b:rejected": 3}
        assert reasons == {"999:5"}
