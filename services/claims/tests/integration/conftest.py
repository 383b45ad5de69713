"""What the other services announce about a visit, published as they would: claims keeps it in its projection and
scrubs from it (the other services are tested on their own)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime

from rcm_shared.contracts import EligibilityCheckedV1, VisitAuthorizationDeterminedV1, envelope_for, topics
from rcm_shared.contracts.authorizations import ProviderCredentialingV1
from rcm_shared.db.types import new_id
from rcm_shared.testing.kafka import publish_envelopes

GROUP_NPI = "1245319599"


def determined(visit_id: str, patient_id: str, payer_id: str, dos: date, *, rendering_npi: str,
               credentialed: Collection[str], practice_id: str = "practice-a", sequence: int = 1,
               authorization_required: bool = True, authorization_number: str | None = "AUTH-77",
               billing_npi: str = GROUP_NPI) -> VisitAuthorizationDeterminedV1:
    allowed = rendering_npi in credentialed
    return VisitAuthorizationDeterminedV1(
        visit_id=visit_id, practice_id=practice_id, patient_id=patient_id, payer_id=payer_id, date_of_service=dos,
        sequence=sequence, determined_at=datetime.now(UTC), authorization_required=authorization_required,
        authorization_number=authorization_number,
        missing_reason=None if authorization_number or not authorization_required else "none_on_file",
        providers=[ProviderCredentialingV1(role="rendering", npi=rendering_npi, allowed=allowed,
                                           reason="enrolled" if allowed else "not_enrolled_with_payer"),
                   ProviderCredentialingV1(role="billing", npi=billing_npi, allowed=billing_npi in credentialed,
                                           reason="enrolled")],
        rendering_npi=rendering_npi if allowed else None)


def checked(patient_id: str, payer_id: str, as_of: date, *, practice_id: str = "practice-a", active: bool = True,
            coverage_from: date | None = date(2025, 1, 1), coverage_to: date | None = None) -> EligibilityCheckedV1:
    return EligibilityCheckedV1(check_id=new_id(), practice_id=practice_id, patient_id=patient_id, payer_id=payer_id,
                                as_of=as_of, active=active, coverage_from=coverage_from, coverage_to=coverage_to)


async def announce(bootstrap: str, *events: VisitAuthorizationDeterminedV1 | EligibilityCheckedV1) -> None:
    for event in events:
        subject = event.visit_id if isinstance(event, VisitAuthorizationDeterminedV1) else event.check_id
        topic = topics.VISIT_AUTHORIZATION_DETERMINED if isinstance(event, VisitAuthorizationDeterminedV1) \
            else topics.ELIGIBILITY_CHECKED
        source = "authorizations" if isinstance(event, VisitAuthorizationDeterminedV1) else "eligibility"
        await publish_envelopes(bootstrap, topic, [envelope_for(event, source=source, subject=subject,
                                                                practice_id=event.practice_id)])
