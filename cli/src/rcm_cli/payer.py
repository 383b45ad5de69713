"""The demo's payer, as ``rcm demo`` plays it: reads the 837P files the platform submitted (the claims to answer) and
hands them to remittance's sandbox payer (``remittance.sandbox.payer``), which adjudicates them and writes the 835
with the platform's one 835 writer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rcm_shared.x12 import iter_segments
from remittance.sandbox.payer import PayerRules, SubmittedClaim, SubmittedLine, adjudicate, write_835

__all__ = ["PayerRules", "SubmittedClaim", "SubmittedLine", "adjudicate", "read_837_claims", "write_835"]


def read_837_claims(text: str) -> list[SubmittedClaim]:
    claims: list[SubmittedClaim] = []
    payer_id = ""
    current: SubmittedClaim | None = None
    component = ":"
    for seg in iter_segments(text):
        sid = seg.id
        if sid == "ISA":
            component = seg.get(16) or ":"
        elif sid == "NM1" and seg.get(1) == "PR":
            payer_id = seg.get(9)
        elif sid == "CLM":
            current = SubmittedClaim(seg.get(1), Decimal(seg.get(2)), payer_id, None)
            claims.append(current)
        elif sid == "REF" and seg.get(1) == "G1" and current is not None and not current.lines:
            current.prior_auth = seg.get(2)
        elif sid == "SV1" and current is not None:
            parts = seg.get(1).split(component)
            units = int(Decimal(seg.get(4) or "1"))
            current.lines.append(SubmittedLine(parts[1], parts[2:], Decimal(seg.get(2)), units))
        elif sid == "DTP" and seg.get(1) == "472" and current is not None and current.lines:
            raw = seg.get(3)[:8]
            current.lines[-1].service_date = date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    return claims
