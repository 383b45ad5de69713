"""Who is looking at the console and what they may see: a signed-in person's token says their scopes, roles,
practices and (a clinician) NPI; the console shows a page only when the scopes behind it are held. Services
still check every call themselves: hiding a page is courtesy, not the security boundary."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: The roles the development sign-in offers (the issuer's rules/roles.yaml), with what each is for.
ROLES: dict[str, str] = {
    "biller": "Biller",
    "senior-biller": "Senior biller (appeals, authorizations, refunds)",
    "clinical-liaison": "Clinical liaison (authorizations, clinical denials)",
    "practice-owner": "Practice owner (everything)",
    "clinician": "Clinician (your own figures)",
    "billing-company-operator": "Billing-company operator (several practices)",
}
MANY_PRACTICES = frozenset({"billing-company-operator"})
NEEDS_NPI = frozenset({"clinician"})
#: Which denial queue (remittance's routing) a role opens by default.
DENIAL_QUEUE_OF_ROLE = {"clinical-liaison": "clinical_liaison", "senior-biller": "senior", "biller": "billing"}


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, acting for one practice now."""

    subject: str
    practice_id: str
    practices: tuple[str, ...]
    scopes: frozenset[str]
    roles: frozenset[str]
    npi: str | None

    def may(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def reads_reports(self) -> bool:
        return self.may("reporting:read")

    @property
    def own_figures_only(self) -> bool:
        """A clinician: their own sessions and money, nothing of colleagues or the practice's books."""
        return not self.reads_reports and self.may("reporting:own") and self.npi is not None

    @property
    def switches_practices(self) -> bool:
        return len(self.practices) > 1

    @property
    def role(self) -> str:
        return next(iter(sorted(self.roles)), "user")

    def pages(self, queue_scopes: frozenset[str]) -> list[tuple[str, str]]:
        """The navigation: (path, label) of every page this person may open."""
        if self.own_figures_only:
            return [("/console/me", "My figures")]
        out: list[tuple[str, str]] = []
        if self.reads_reports:
            out += [("/console/kpis", "KPI board"), ("/console/denials", "Denials"), ("/console/aging", "A/R aging"),
                    ("/console/clinicians", "Clinicians")]
        if self.scopes & queue_scopes:
            out.append(("/console/queues", "Work queues"))
        return out


def cents(value: int | None) -> str:
    """Integer cents as dollars for people: 123456 -> "$1,234.56", negative with a minus sign."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value) // 100:,}.{abs(value) % 100:02d}"


def amount(value: str | int | float | Decimal | None) -> str:
    """A decimal amount the services answer with ("12.50") as dollars."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return cents(int((number * 100).to_integral_value()))


#: How the console names each KPI, and the one line that says what it counts.
KPI_LABELS: dict[str, tuple[str, str]] = {
    "first_pass_clean_rate": ("First-pass clean claims", "claims paid on the first pass, never rejected"),
    "denial_rate": ("Denial rate", "adjudicated claims denied in whole or in part"),
    "coding_denial_rate": ("Coding-related denials", "adjudicated claims denied for coding"),
    "days_in_ar": ("Days in A/R", "A/R today over the average day's charges"),
    "ar_over_60_share": ("A/R over 60 days", "share of A/R older than 60 days"),
    "net_collection_rate": ("Net collection rate", "collected of what was collectible"),
    "uninterrupted_coverage_rate": ("Uninterrupted authorization", "authorized episodes with no visit uncovered"),
    "submission_lag_days": ("Service to submission", "days from date of service to the claim leaving"),
    "held_before_submission_rate": ("Recoded by hand", "claims held by the scrubber before they left"),
    "eligibility_verified_rate": ("Eligibility verified", "insured visits with active coverage checked"),
}
JUDGEMENTS = {"on_target": "On target", "watch": "Watch", "trouble": "Trouble", "no_target": "No target",
              "no_data": "No data"}
#: Claim fact fields a denial group is matched on (GET /console/denials?by=...).
DENIAL_DIMENSIONS = {"category": "denial_category", "payer": "payer_id", "cpt": "cpt_code",
                     "clinician": "clinician_npi", "program": "program"}
