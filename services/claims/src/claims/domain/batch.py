"""The 837P batch: one file of one practice's claims to one payer, and what became of it.

    queued -> submitted           (sent: the clearinghouse took the file)
    queued -> queued              (send_failed: an outage; tried again, in order, next round)
    queued -> refused             (refused: the clearinghouse refused this file for good on upload)
    submitted -> accepted         (accept: a 999 accepted its functional group)
    queued | submitted -> rejected   (reject: a 999 refused the group, or a TA1 rejected the interchange)

A refused or rejected batch's claims go back to the rejected work queue (the use case moves them). Any other move
raises :class:`IllegalBatchTransition`; a TA1's acknowledgment code and note are noted whatever the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from claims.domain.exceptions import ClaimsDomainError


class BatchStatus(StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REFUSED = "refused"


class IllegalBatchTransition(ClaimsDomainError):
    def __init__(self, batch_id: str, current: str, action: str) -> None:
        super().__init__(f"batch {batch_id}: cannot {action} while {current}")


B = BatchStatus


@dataclass
class SubmissionBatch:
    batch_id: str
    status: BatchStatus = BatchStatus.QUEUED
    attempts: int = 0
    last_error: str | None = None
    submitted_at: datetime | None = None
    interchange_ack: str | None = None
    interchange_note: str | None = None

    def sent(self, at: datetime) -> None:
        self._require({B.QUEUED}, "be sent")
        self.attempts += 1
        self.status, self.submitted_at, self.last_error = B.SUBMITTED, at, None

    def send_failed(self, error: str) -> None:
        self._require({B.QUEUED}, "fail to be sent")
        self.attempts += 1
        self.last_error = error[:500]

    def refused(self, error: str) -> None:
        self._require({B.QUEUED}, "be refused")
        self.attempts += 1
        self.status, self.last_error = B.REFUSED, error[:500]

    def accept(self) -> None:
        self._require({B.SUBMITTED}, "be accepted")
        self.status = B.ACCEPTED

    def reject(self, error: str | None = None) -> None:
        self._require({B.QUEUED, B.SUBMITTED}, "be rejected")
        self.status = B.REJECTED
        if error:
            self.last_error = error[:500]

    def note_interchange(self, acknowledgment: str, note: str | None) -> None:
        """A TA1 about the interchange: A, E or R and its note code (a rejection also calls :meth:`reject`)."""
        self.interchange_ack, self.interchange_note = acknowledgment, note or None

    @property
    def open(self) -> bool:
        """Nothing has settled it yet: it can still be sent, or still be rejected."""
        return self.status in (B.QUEUED, B.SUBMITTED)

    def _require(self, allowed: set[BatchStatus], action: str) -> None:
        if self.status not in allowed:
            raise IllegalBatchTransition(self.batch_id, self.status.value, action)
