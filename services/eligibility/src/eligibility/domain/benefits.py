"""The vocabulary of a coverage check: what we ask a payer (270) and what it answers (271).

``PayerAnswer`` is what the payer said about one patient (the 271 reader's output: benefits, carve-outs, AAA
rejections); ``EligibilityResult`` is that answer with our decision on it (``domain.coverage.assess``: status and
next action). Everything here is immutable and pure. Money is ``Decimal`` quantized to cents; percentages are
``Decimal`` percent points (``Decimal("20")`` means 20 %; X12 sends ``.2``). ``to_dict()`` gives a JSON-able form
(Decimal and dates as strings) for ``rcm x12 read`` and for the stored check.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")

#: Service type codes the mental-health platform asks about (X12 code list 1365).
MENTAL_HEALTH_SERVICE_TYPES: tuple[str, ...] = ("30", "MH", "A4", "A6", "A8", "AI", "98")

#: Facility type (place of service) codes that mean telehealth: 02 (not at home) and 10 (patient's home).
TELEHEALTH_PLACES_OF_SERVICE: frozenset[str] = frozenset({"02", "10"})


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT)


# ---------------------------------------------------------------------------------------------- request (270)


@dataclass(frozen=True, slots=True)
class Member:
    """A subscriber or dependent as the payer knows them. ``gender`` is the X12 code (F, M, U) or empty."""

    last_name: str
    first_name: str
    birth_date: date | None = None
    member_id: str = ""
    gender: str = ""


@dataclass(frozen=True, slots=True)
class PayerRef:
    payer_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ProviderRef:
    """The information receiver (2100B): an organisation (``first_name`` empty) or a person, by NPI."""

    npi: str
    name: str
    first_name: str = ""


@dataclass(frozen=True, slots=True)
class EligibilityRequest:
    """One inquiry: a member (and the dependent who is the patient, if any) for some service types on a date.

    ``trace_number`` comes back in the 271 (TRN*2) and ties the answer to this request: make it unique and
    free of PHI (a random or sequence id, never a member id).
    """

    payer: PayerRef
    provider: ProviderRef
    subscriber: Member
    service_date: date
    trace_number: str
    service_types: tuple[str, ...] = MENTAL_HEALTH_SERVICE_TYPES
    dependent: Member | None = None


# ---------------------------------------------------------------------------------------------- result (271)


class CoverageStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    UNKNOWN = "unknown"  # the payer answered without an active/inactive EB (or rejected the inquiry)


class ResultStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


class NextAction(enum.StrEnum):
    """What the front desk / workflow should do with this answer."""

    NONE = "none"
    CHECK_OTHER_PAYER = "check_other_payer"  # mental health is carved out: ask the named payer next
    CORRECT_AND_RESEND = "correct_and_resend"
    RETRY_LATER = "retry_later"
    COLLECT_NEW_COVERAGE = "collect_new_coverage"  # inactive or member not found: ask the client for insurance
    CONTACT_PAYER = "contact_payer"


class Network(enum.StrEnum):
    """EB12: Y in network, N out of network; W (not applicable), U (unknown) or absent are ``ANY``."""

    IN = "in"
    OUT = "out"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Accumulator:
    """A yearly (or other period) amount and what is left of it; either may be unknown."""

    total: Decimal | None = None
    remaining: Decimal | None = None


@dataclass(frozen=True, slots=True)
class VisitLimit:
    """Session cap: ``limit`` visits per ``period`` (X12 time period code, 23 = calendar year), ``remaining``."""

    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    period: str = ""


@dataclass(frozen=True, slots=True)
class NetworkBenefits:
    copay: Decimal | None = None
    coinsurance_percent: Decimal | None = None
    deductible_individual: Accumulator | None = None
    deductible_family: Accumulator | None = None
    out_of_pocket_individual: Accumulator | None = None
    out_of_pocket_family: Accumulator | None = None
    visit_limit: VisitLimit | None = None
    authorization_required: bool | None = None


@dataclass(frozen=True, slots=True)
class ServiceBenefits:
    """Benefits for one service type code, split by network (EB12)."""

    service_type: str
    covered: bool | None = None
    in_network: NetworkBenefits = field(default_factory=NetworkBenefits)
    out_of_network: NetworkBenefits = field(default_factory=NetworkBenefits)
    any_network: NetworkBenefits = field(default_factory=NetworkBenefits)
    telehealth_covered: bool | None = None

    def for_network(self, in_network: bool = True) -> NetworkBenefits:
        """The network-specific view, falling back field by field on benefits the payer gave for any network."""
        specific = self.in_network if in_network else self.out_of_network
        merged = {f.name: getattr(specific, f.name) for f in fields(NetworkBenefits)}
        for name, value in merged.items():
            if value is None:
                merged[name] = getattr(self.any_network, name)
        return NetworkBenefits(**merged)


@dataclass(frozen=True, slots=True)
class PlanInfo:
    plan_name: str = ""
    plan_number: str = ""
    group_number: str = ""
    group_name: str = ""
    insurance_type: str = ""


@dataclass(frozen=True, slots=True)
class CarveOut:
    """EB01 R (other payer) or U (contact entity) with a 2120 NM1 entity: benefits live with that payer."""

    entity_code: str  # NM101: PR payer, P5 plan sponsor, Y2 managed care organisation ...
    name: str
    identifier: str = ""
    identifier_qualifier: str = ""
    service_types: tuple[str, ...] = ()
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Rejection:
    """An AAA segment made readable. ``level`` names the loop (payer, provider, subscriber, dependent, benefit);
    ``description``, ``category`` and ``follow_up`` are the standard's meanings (``rcm_shared.x12.code_tables``);
    ``retryable`` is our decision (``domain.coverage``)."""

    code: str
    level: str
    description: str
    category: str
    follow_up_code: str = ""
    follow_up: str = ""
    valid_request: bool = False
    retryable: bool = False


@dataclass(frozen=True, slots=True)
class BenefitsSnapshot:
    """What the payer said about one patient on one date, ready to cache and to show."""

    coverage_status: CoverageStatus
    plan: PlanInfo = field(default_factory=PlanInfo)
    coverage_begin: date | None = None
    coverage_end: date | None = None
    benefits: tuple[ServiceBenefits, ...] = ()
    carve_outs: tuple[CarveOut, ...] = ()
    messages: tuple[str, ...] = ()
    telehealth_covered: bool | None = None

    def benefit(self, service_type: str) -> ServiceBenefits | None:
        for item in self.benefits:
            if item.service_type == service_type:
                return item
        return None

    def mental_health_benefit(self, preference: tuple[str, ...] = ("A6", "MH", "A8", "A4", "98", "30")) -> (
        ServiceBenefits | None
    ):
        """The most specific mental-health benefit the payer returned (psychotherapy first, plan coverage last)."""
        for code in preference:
            found = self.benefit(code)
            if found is not None:
                return found
        return None


@dataclass(frozen=True, slots=True)
class PayerAnswer:
    """What a 271 says about one patient loop (2000C subscriber without dependents, or 2000D dependent), before
    we decide anything about it."""

    trace_number: str = ""
    payer: PayerRef | None = None
    provider_npi: str = ""
    member_id: str = ""
    is_dependent: bool = False
    rejections: tuple[Rejection, ...] = ()
    snapshot: BenefitsSnapshot | None = None
    transaction_control: str = ""


@dataclass(frozen=True, slots=True)
class EligibilityResult(PayerAnswer):
    """One patient's answer with our decision on it (``domain.coverage.assess``): the coverage status and what to
    do next. With nothing readable from the payer it is 'unknown, contact the payer'."""

    status: ResultStatus = ResultStatus.UNKNOWN
    next_action: NextAction = NextAction.CONTACT_PAYER

    @property
    def carve_outs(self) -> tuple[CarveOut, ...]:
        return self.snapshot.carve_outs if self.snapshot else ()

    def to_dict(self) -> dict[str, Any]:
        data = _jsonable(self)
        assert isinstance(data, dict)
        return data


def _jsonable(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
