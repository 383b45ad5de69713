"""Which integration events announce what happened inside authorizations: one function, called by the unit of work
at commit for every domain event the aggregates recorded. Subjects (Kafka keys) are ids, never PHI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rcm_shared.contracts import AuthorizationChangedV1
from rcm_shared.contracts.authorizations import ProviderCredentialingV1, VisitAuthorizationDeterminedV1
from rcm_shared.unit_of_work import Announcement
from rcm_shared.work_items.announcements import work_item_announcements
from rcm_shared.work_items.workflow import WorkItemOpened, WorkItemResolved

from authorizations.domain.events import (
    AuthorizationStatusChanged,
    AuthorizationUnitConsumed,
    AuthorizationUnitReturned,
    VisitAuthorizationDetermined,
)

SOURCE = "authorizations"


def announcements(event: Any) -> Iterable[Announcement]:
    if isinstance(event, AuthorizationUnitConsumed | AuthorizationUnitReturned):
        change = "unit_consumed" if isinstance(event, AuthorizationUnitConsumed) else "unit_returned"
        yield AuthorizationChangedV1(
            authorization_id=event.authorization_id, practice_id=event.practice_id, patient_id=event.patient_id,
            payer_id=event.payer_id, visit_id=event.visit_id, change=change, status=event.status,
            units_remaining=event.units_remaining, end_date=event.end_date), event.authorization_id
    elif isinstance(event, AuthorizationStatusChanged):
        yield AuthorizationChangedV1(
            authorization_id=event.authorization_id, practice_id=event.practice_id, patient_id=event.patient_id,
            payer_id=event.payer_id, change="status_changed", status=event.status,
            units_remaining=event.units_remaining, end_date=event.end_date), event.authorization_id
    elif isinstance(event, VisitAuthorizationDetermined):
        yield VisitAuthorizationDeterminedV1(
            visit_id=event.visit_id, practice_id=event.practice_id, patient_id=event.patient_id,
            payer_id=event.payer_id, date_of_service=event.date_of_service, sequence=event.sequence,
            determined_at=event.determined_at, authorization_required=event.authorization_required,
            authorization_id=event.authorization_id, authorization_number=event.authorization_number,
            missing_reason=event.missing_reason, units_remaining=event.units_remaining,
            providers=[ProviderCredentialingV1(role=p.role, npi=p.npi, allowed=p.allowed, reason=p.reason,
                                               billing_npi=p.billing_npi) for p in event.providers],
            rendering_npi=event.rendering_npi, supervising_npi=event.supervising_npi,
            rules_version=event.rules_version), event.visit_id
    elif isinstance(event, WorkItemOpened | WorkItemResolved):
        yield from work_item_announcements(event, SOURCE)
    else:
        raise TypeError(f"no integration event is mapped for {type(event).__name__}")
