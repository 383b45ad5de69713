"""Adjudication: remittance's claim-payment-posted moves the claim to paid, partially paid or denied, or reopens it
after a reversal."""

from __future__ import annotations

import logging

from rcm_shared.contracts import (
    ClaimPaymentPostedV1,
    ClaimPaymentPostedV2,
)
from rcm_shared.messaging import PermanentEventError

from claims.domain.exceptions import ClaimsDomainError, IllegalClaimTransition
from claims.domain.model import (
    ClaimStatus,
)
from claims.service_layer.unit_of_work import ClaimsUnitOfWork

log = logging.getLogger(__name__)


async def record_payment(uow: ClaimsUnitOfWork, event: ClaimPaymentPostedV1) -> None:
    """claim-payment-posted (v1 and v2): the claim moves to paid, partially paid or denied; a reversal reopens
    it in the reversed work queue, its history naming the reversal, the ERA and (v2) the trace number."""
    claim = await uow.claims.get(event.practice_id, event.claim_id, lock=True)
    if claim is None:
        return
    if event.outcome == "reversed":
        try:
            changed = claim.record_reversal(  # the reversal carries negative amounts
                event.paid, event.patient_responsibility, posting_id=event.posting_id, era_id=event.era_id,
                trace_number=event.trace_number if isinstance(event, ClaimPaymentPostedV2) else None)
        except IllegalClaimTransition:
            raise PermanentEventError("a payment reversal for a claim the payer never received") from None
        if changed:
            await uow.claims.save([claim])
            uow.add(claim)
        return
    if claim.status is ClaimStatus.SUBMITTED and event.payer_claim_number:
        claim.accept(event.payer_claim_number)  # the 835 is the acceptance when no 277CA came first
    try:
        claim.record_adjudication(event.paid, event.patient_responsibility,
                                  any_line_denied=event.outcome == "partially_paid",
                                  payer_claim_number=event.payer_claim_number)
    except ClaimsDomainError:
        return  # already settled (a redelivered posting): nothing to move
    await uow.claims.save([claim])
    uow.add(claim)
