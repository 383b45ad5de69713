"""Use cases over an in-memory unit of work (no database): what is stored, what is announced, what is refused. The
ERA intake aggregate refuses the moves its life does not allow."""

from __future__ import annotations

from typing import Any

import pytest
from rcm_shared.contracts import EraReceivedV1
from rcm_shared.testing.fakes import InMemoryUnitOfWork
from remittance.adapters import event_mapper
from remittance.bootstrap import DOMAIN_ERRORS, load_rulebook
from remittance.domain.commands import PostEra, ReceiveEra, ResolveDuplicatePayment
from remittance.domain.era import Era, PostingSummary
from remittance.domain.exceptions import IllegalEraTransition, RemittanceError, UnknownEra, UnknownEraException
from remittance.service_layer import duplicates, intake, posting

RULES = load_rulebook()
CONTENT = b"ISA*00*...~"  # intake stores bytes; reading them is posting's business


class InMemoryEras:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[Era, bytes]] = {}
        self.saved: list[str] = []

    async def by_fingerprint(self, practice_id: str, sha256: str) -> Era | None:
        return next((e for e, _ in self.rows.values() if (e.practice_id, e.file_sha256) == (practice_id, sha256)),
                    None)

    async def add(self, era: Era, content: bytes, file_name: str | None, via: str) -> None:
        self.rows[era.era_id] = (era, content)

    async def get(self, practice_id: str, era_id: str) -> tuple[Era, bytes] | None:
        found = self.rows.get(era_id)
        return found if found is not None and found[0].practice_id == practice_id else None

    async def save(self, era: Era) -> None:
        self.saved.append(era.status)


class InMemoryExceptions:
    async def get(self, practice_id: str, exception_id: str) -> Any:
        return None


class FakeUnitOfWork(InMemoryUnitOfWork):
    def __init__(self) -> None:
        super().__init__(event_mapper.announcements)

    def bind_in_memory(self) -> None:
        self.eras: Any = InMemoryEras()
        self.exceptions: Any = InMemoryExceptions()


async def test_an_era_is_stored_and_announced_once_and_the_same_bytes_again_are_recognised() -> None:
    uow = FakeUnitOfWork()
    async with uow:
        era, duplicate = await intake.receive_era(uow, ReceiveEra("practice-a", CONTENT, "a.835", "api"))
    assert not duplicate and era.status == "received"
    async with uow:
        again, duplicate = await intake.receive_era(uow, ReceiveEra("practice-a", CONTENT, "b.835", "clearinghouse"))
    assert duplicate and again.era_id == era.era_id
    announced = uow.outbox.payloads(EraReceivedV1)
    assert [(e.era_id, e.size_bytes, e.received_via) for e in announced] == [(era.era_id, len(CONTENT), "api")]
    assert uow.outbox.staged[0][2] == era.era_id, "keyed by the ERA id, never PHI"
    async with uow:
        other, duplicate = await intake.receive_era(uow, ReceiveEra("practice-b", CONTENT, "a.835", "api"))
    assert not duplicate and other.era_id != era.era_id, "the same bytes are a new file for another practice"


async def test_an_era_already_posted_is_not_posted_again() -> None:
    uow = FakeUnitOfWork()
    era = Era("era-1", "practice-a", "0" * 64)
    era.posted(PostingSummary(transactions=1, claims_posted=3))
    uow.eras.rows[era.era_id] = (era, CONTENT)
    async with uow:
        await posting.post_era(uow, PostEra("practice-a", "era-1"), RULES)  # a redelivery the inbox missed
    assert uow.eras.saved == [] and uow.outbox.staged == []


async def test_an_era_this_service_does_not_hold_is_refused() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(UnknownEra):
        async with uow:
            await posting.post_era(uow, PostEra("practice-a", "no-such-era"), RULES)


async def test_settling_an_exception_that_is_not_there_is_refused_as_not_found() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(UnknownEraException):
        async with uow:
            await duplicates.resolve_duplicate_payment(
                uow, ResolveDuplicatePayment("practice-a", "x" * 36, "refunded", "biller"), RULES)
    assert DOMAIN_ERRORS[UnknownEraException] == (404, "not-found")


def test_the_era_intake_refuses_a_second_outcome() -> None:
    era = Era("era-1", "practice-a", "0" * 64)
    assert era.awaiting_posting
    era.posted(PostingSummary(transactions=1, claims_posted=1, exceptions=1))
    assert era.status == "partial" and not era.awaiting_posting
    with pytest.raises(IllegalEraTransition):
        era.posted(PostingSummary(transactions=1, claims_posted=1))
    with pytest.raises(IllegalEraTransition):
        era.unreadable({"message": "late"})


@pytest.mark.parametrize("summary, status", [
    (PostingSummary(transactions=1, claims_posted=2), "posted"),
    (PostingSummary(transactions=1, claims_unapplied=2), "posted"),
    (PostingSummary(transactions=2, claims_posted=1, exceptions=1), "partial"),
    (PostingSummary(transactions=1, exceptions=1), "exception"),
    (PostingSummary(transactions=1, duplicate_claim_payments=1), "exception"),
    (PostingSummary(transactions=1, duplicates=1), "duplicate"),
])
def test_what_a_posting_came_to_decides_the_eras_status(summary: PostingSummary, status: str) -> None:
    assert summary.status() == status


def test_every_domain_refusal_has_its_problem_type() -> None:
    refusals = {cls for cls in vars(__import__("remittance.domain.exceptions", fromlist=["x"])).values()
                if isinstance(cls, type) and issubclass(cls, RemittanceError) and cls is not RemittanceError}
    assert refusals <= set(DOMAIN_ERRORS), sorted(c.__name__ for c in refusals - set(DOMAIN_ERRORS))
