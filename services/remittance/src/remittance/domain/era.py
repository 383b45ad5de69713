"""ERA intake as a small aggregate: an 835 file is received once per practice (by its bytes), then posted once,
ending posted, partial, exception or duplicate. It refuses every other move.

    received --post--> posted | partial | exception | duplicate
    received --unreadable--> exception
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from remittance.domain.events import EraReceived
from remittance.domain.exceptions import IllegalEraTransition

RECEIVED = "received"
FINAL_STATUSES = frozenset({"posted", "partial", "exception", "duplicate"})
Channel = Literal["api", "clearinghouse", "bulk"]


def fingerprint(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class PostingSummary:
    """What one ERA's posting came to (the counts are claims, transactions or exceptions)."""

    transactions: int = 0
    claims_posted: int = 0
    claims_unapplied: int = 0
    denials: int = 0
    exceptions: int = 0
    duplicates: int = 0
    duplicate_claim_payments: int = 0
    total_paid: str = "0.00"

    def status(self) -> str:
        # Claims held as duplicate payments wait for a person like an exception does.
        waiting = self.exceptions + self.duplicate_claim_payments
        if self.duplicates and not self.claims_posted and not self.exceptions:
            return "duplicate"
        return "posted" if not waiting else ("exception" if not self.claims_posted else "partial")

    def as_dict(self) -> dict[str, Any]:
        return {"transactions": self.transactions, "claims_posted": self.claims_posted,
                "claims_unapplied": self.claims_unapplied, "denials": self.denials, "exceptions": self.exceptions,
                "duplicates": self.duplicates, "duplicate_claim_payments": self.duplicate_claim_payments,
                "total_paid": self.total_paid}


@dataclass
class Era:
    era_id: str
    practice_id: str
    file_sha256: str
    status: str = RECEIVED
    summary: dict[str, Any] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def receive(cls, era_id: str, practice_id: str, content: bytes, via: Channel) -> Era:
        era = cls(era_id, practice_id, fingerprint(content))
        era.events.append(EraReceived(era_id, practice_id, era.file_sha256, len(content), via))
        return era

    @property
    def awaiting_posting(self) -> bool:
        return self.status == RECEIVED

    def posted(self, summary: PostingSummary) -> None:
        self._leave_received("posted")
        self.status, self.summary = summary.status(), summary.as_dict()

    def unreadable(self, error: dict[str, Any]) -> None:
        self._leave_received("marked unreadable")
        self.status, self.summary = "exception", {"error": error}

    def _leave_received(self, move: str) -> None:
        if self.status != RECEIVED:
            raise IllegalEraTransition(f"an ERA in status {self.status} cannot be {move}")

    def pull_events(self) -> list[Any]:
        events, self.events = self.events, []
        return events
