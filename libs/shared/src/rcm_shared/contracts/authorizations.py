"""Events the authorizations service produces."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload


class AuthorizationChangedV1(EventPayload):
    event_type = "authorization.changed"
    topic = topics.AUTHORIZATION_CHANGED
    summary = "Units of a prior authorization were consumed or returned, or it changed status / needs renewal."

    authorization_id: str | None
    practice_id: str
    patient_id: str
    payer_id: str
    visit_id: str | None = None
    change: Literal["unit_consumed", "unit_returned", "missing", "renewal_due", "status_changed"]
    status: str | None = None
    units_remaining: int | None = None
    end_date: date | None = None


class ProviderCredentialingV1(BaseModel):
    """Whether one NPI of a visit may be billed to the payer on the date of service, and under whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Literal["rendering", "supervising", "billing"]
    npi: str
    allowed: bool
    reason: str = Field(description="the credentialing registry's reason code (enrolled, billed_under_supervisor, "
                                    "not_enrolled_with_payer, ...)")
    billing_npi: str | None = None


class VisitAuthorizationDeterminedV1(EventPayload):
    """Authorizations' decision for one insured visit: the facts the claims scrubber needs from it.

    Published when authorizations applies the visit (``visit-completed``) and again whenever the answer for a
    visit changes (an authorization or enrollment recorded later, a corrected visit). ``sequence`` grows per
    visit: a consumer keeps the highest it has seen and ignores older ones."""

    event_type = "visit-authorization.determined"
    topic = topics.VISIT_AUTHORIZATION_DETERMINED
    summary = ("For one insured visit: is a prior authorization required and which covers it, may its clinicians "
               "be billed to the payer on the date of service, and which NPIs the claim reports (2310B / 2310D).")

    visit_id: str
    practice_id: str
    patient_id: str
    payer_id: str
    date_of_service: date
    sequence: int = Field(ge=1)
    determined_at: datetime
    authorization_required: bool
    authorization_id: str | None = None
    authorization_number: str | None = None
    missing_reason: str | None = Field(default=None, description="why no authorization covers the visit "
                                                                  "(none_on_file, exhausted, expired, cancelled ...)")
    units_remaining: int | None = None
    providers: list[ProviderCredentialingV1] = Field(default_factory=list)
    rendering_npi: str | None = Field(default=None, description="the NPI the 837P names in 2310B (None: not allowed)")
    supervising_npi: str | None = Field(default=None, description="the NPI the 837P names in 2310D, if any")
    rules_version: str | None = None
