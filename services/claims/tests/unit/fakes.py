"""Claims' unit of work over dictionaries, for the use cases' unit tests; what it would publish is in ``outbox``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from claims.adapters import event_mapper
from claims.adapters.repository import NOT_SENT
from claims.domain.facts import AuthorizationDetermination, CoverageCheck, ProviderDecision
from claims.domain.model import Claim, ClaimStatus
from claims.domain.scrubbing import claim_fingerprint
from claims.service_layer.unit_of_work import ClaimsUnitOfWork
from rcm_shared.testing.fakes import InMemoryUnitOfWork, RecordingOutbox


class InMemoryClaims:
    def __init__(self) -> None:
        self.claims: dict[str, Claim] = {}
        self.history: list[tuple[str, str, str]] = []  # (claim, from, to) as the transitions table would hold

    async def get(self, practice_id: str, claim_id: str, *, lock: bool = False) -> Claim | None:
        claim = self.claims.get(claim_id)
        return claim if claim is not None and claim.practice_id == practice_id else None

    async def for_visits(self, visit_ids: Collection[str], statuses: Collection[ClaimStatus]) -> list[Claim]:
        return [c for c in self.claims.values() if c.visit_id in visit_ids and c.status in statuses]

    async def for_patients(self, keys: Collection[tuple[str, str, str]],
                           statuses: Collection[ClaimStatus]) -> list[Claim]:
        return [c for c in self.claims.values()
                if (c.practice_id, c.patient_id, c.payer.payer_id) in keys and c.status in statuses]

    async def sent_fingerprints(self, practice_ids: Collection[str],
                                fingerprints: Collection[str]) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for c in self.claims.values():
            fingerprint = claim_fingerprint(c)
            if c.practice_id in practice_ids and fingerprint in fingerprints and c.status.value not in NOT_SENT:
                out.setdefault((c.practice_id, fingerprint), set()).add(c.claim_id)
        return out

    async def add(self, claims: Sequence[Claim]) -> None:
        await self.save(claims)

    async def save(self, claims: Sequence[Claim]) -> None:
        for claim in claims:
            self.claims[claim.claim_id] = claim


class InMemoryFacts:
    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.checks: dict[str, dict[str, Any]] = {}

    async def keep_determinations(self, answers: Iterable[dict[str, Any]]) -> set[str]:
        fresh = set()
        for answer in answers:
            kept = self.answers.get(answer["visit_id"])
            if kept is None or kept["sequence"] < answer["sequence"]:
                self.answers[answer["visit_id"]] = answer
                fresh.add(answer["visit_id"])
        return fresh

    async def determinations(self, visit_ids: Collection[str]) -> dict[str, AuthorizationDetermination]:
        return {v: AuthorizationDetermination(
            visit_id=v, sequence=a["sequence"], authorization_required=a["authorization_required"],
            authorization_number=a["authorization_number"], missing_reason=a["missing_reason"],
            providers=tuple(ProviderDecision(p["role"], p["npi"], p["allowed"], p["reason"], p.get("billing_npi"))
                            for p in a["providers"]),
            rendering_npi=a["rendering_npi"], supervising_npi=a["supervising_npi"])
            for v, a in self.answers.items() if v in visit_ids}

    async def keep_coverage_checks(self, checks: Sequence[dict[str, Any]]) -> None:
        for check in checks:
            self.checks.setdefault(check["check_id"], check)

    async def coverage_checks_for(self, keys: Collection[tuple[str, str, str]]
                                  ) -> dict[tuple[str, str, str], list[CoverageCheck]]:
        out: dict[tuple[str, str, str], list[CoverageCheck]] = {}
        for c in self.checks.values():
            key = (c["practice_id"], c["patient_id"], c["payer_id"])
            if key in keys:
                out.setdefault(key, []).append(CoverageCheck(c["check_id"], c["as_of"], c["active"],
                                                             c["coverage_from"], c["coverage_to"], c["checked_at"]))
        return out


class InMemoryVisits:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    async def recorded_many(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {key: self.rows[key]["visit_id"] for key in keys if key in self.rows}

    async def add(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self.rows[(row["practice_id"], row["external_visit_id"])] = row


class FakeUnitOfWork(InMemoryUnitOfWork, ClaimsUnitOfWork):
    def __init__(self, outbox: RecordingOutbox | None = None) -> None:
        super().__init__(event_mapper.announcements, outbox)

    def bind_in_memory(self) -> None:
        self.claims = InMemoryClaims()
        self.facts = InMemoryFacts()
        self.visits = InMemoryVisits()

    def published(self, kind: type[Any] | None = None) -> list[Any]:
        return self.outbox.payloads(kind)
