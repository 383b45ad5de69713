"""The files a clearinghouse mailbox exchanges with claims: what a drop returns, what comes back, and which of the
returned files are claims' to read (by their X12 envelope)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rcm_shared.clearinghouse import is_interchange_acknowledgment, transaction_set_id


@dataclass(frozen=True)
class SubmissionReceipt:
    file_name: str
    already_present: bool
    submitted_at: datetime


@dataclass(frozen=True)
class ResponseFile:
    file_name: str
    content: bytes


CLAIMS_TRANSACTIONS = frozenset({"999", "277"})  # 999; 277CA (005010X214) and 277 (005010X212)


def ours(name: str, head: bytes) -> bool:
    """What claims takes from a returned-files mailbox: the transactions it reads (999, 277CA, 277) and TA1s.

    Everything else stays where it is: 835s for remittance, and whatever neither service reads (a
    clearinghouse report, a zipped or unrecognisable file) for a person to look at, since a file claims took
    would be removed once recorded, and its content is not kept."""
    return transaction_set_id(head) in CLAIMS_TRANSACTIONS or (
        transaction_set_id(head) is None and is_interchange_acknowledgment(head))
