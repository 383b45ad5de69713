"""Envelope identities and control numbers of the X12 interchanges we write (ISA/GS/ST)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class InterchangeParties:
    """Envelope identities agreed with the clearinghouse (ISA05-08, GS02-03) and our TRN03 originator id."""

    sender_id: str
    receiver_id: str
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    application_sender: str = ""
    application_receiver: str = ""
    trace_originator: str = "9RCMPLATFM"  # TRN03: '1' + EIN or '9' + an id we assign (10 characters)
    usage: str = "T"  # ISA15: T test, P production


@dataclass(frozen=True, slots=True)
class ControlNumbers:
    """ISA13 interchange, GS06 group and ST02 transaction control numbers plus the creation time."""

    interchange: int
    group: int
    transaction: int
    created_at: datetime
