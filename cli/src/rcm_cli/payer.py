"""The demo's payer, as ``rcm demo`` plays it: reads the 837P files the platform submitted (the claims to answer)
with claims' own 837 reader and hands them to remittance's sandbox payer (``remittance.sandbox.payer``), which
adjudicates them and writes the 835 with the platform's one 835 writer."""

from __future__ import annotations

from decimal import Decimal

from claims.edi.x12_837_reader import iter_837p_claims
from rcm_shared.x12.dates import parse_d8
from remittance.sandbox.payer import PayerRules, SubmittedClaim, SubmittedLine, adjudicate, write_835

__all__ = ["PayerRules", "SubmittedClaim", "SubmittedLine", "adjudicate", "read_837_claims", "write_835"]


def read_837_claims(text: str) -> list[SubmittedClaim]:
    """The claims of an 837P file, read by claims' own reader (``claims.edi.x12_837_reader``: one 837 reader on
    the platform), as the payer adjudicates them."""
    claims: list[SubmittedClaim] = []
    for claim in iter_837p_claims(text):
        lines = [SubmittedLine(ln["procedure_code"], list(ln["modifiers"]), Decimal(ln["charge"]),
                               int(Decimal(ln["units"] or "1")), parse_d8(ln["date_of_service"][:8])
                               if ln.get("date_of_service") else None) for ln in claim["lines"]]
        claims.append(SubmittedClaim(claim["patient_control_number"], Decimal(claim["total_charge"]),
                                     claim["payer"].get("payer_id", ""), claim["prior_authorization"], lines))
    return claims
