"""A sandbox payer: answers a 270 with a 271 computed from a benefits plan table given as data.

``SandboxPayer(SandboxPlanTable.from_rules(load_rules("eligibility.sandbox", "sandbox_payer.yaml"))).answer(
text_270, control)`` is a pure function of its inputs, so ``make run`` and tests get a realistic payer without a
network. The shipped table (``eligibility/sandbox/rules/sandbox_payer.yaml``) has an active member, an inactive member,
a behavioral-health carve-out plan, a plan with 20 visits a year nearly used up, and ids that trigger AAA
rejections: an unknown member gives AAA 75, a malformed member id AAA 72, and ``unavailable_member_ids``
AAA 42 (payer unable to respond now).

The 271 follows the conventions ``read_271`` documents (EB*F with EB09 VS for visit limits, III*ZZ*02/10 for
telehealth, EB*R with a 2120 NM1*PR for the carve-out).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rcm_shared.rules import RulesFile
from rcm_shared.x12 import iter_segments
from rcm_shared.x12.dates import d8, tm
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from rcm_shared.x12.writer import Repeated, TransactionWriter, envelope

from eligibility.domain.benefits import Member, cents
from eligibility.edi.x12_270 import ReceivedInquiry, read_270

IMPLEMENTATION = "005010X279A1"
_MENTAL_HEALTH_DETAIL = ("MH", "A4", "A6", "A8", "AI", "98")


class SandboxDataError(ValueError):
    """The plan table is not usable (message names the field, never a member)."""


def _dec(raw: object, name: str) -> Decimal | None:
    if raw is None:
        return None
    if not isinstance(raw, (str, int)):
        raise SandboxDataError(f"{name} must be a string or integer amount")
    return Decimal(str(raw))


def _day(raw: object, name: str) -> date | None:
    if raw is None or isinstance(raw, date):
        return raw
    if not isinstance(raw, str):
        raise SandboxDataError(f"{name} must be an ISO date")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise SandboxDataError(f"{name} must be an ISO date") from None


def _int(raw: object, name: str) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise SandboxDataError(f"{name} must be an integer")
    return raw


def _str(raw: object, name: str, default: str = "") -> str:
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise SandboxDataError(f"{name} must be a string")
    return raw


def _map(raw: object, name: str) -> Mapping[str, object]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SandboxDataError(f"{name} must be an object")
    return raw


@dataclass(frozen=True, slots=True)
class NetworkTerms:
    copay: Decimal | None = None
    coinsurance_percent: Decimal | None = None
    deductible: Decimal | None = None
    out_of_pocket: Decimal | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object], where: str) -> NetworkTerms:
        return cls(
            copay=_dec(data.get("copay"), f"{where}.copay"),
            coinsurance_percent=_dec(data.get("coinsurance_percent"), f"{where}.coinsurance_percent"),
            deductible=_dec(data.get("deductible"), f"{where}.deductible"),
            out_of_pocket=_dec(data.get("out_of_pocket"), f"{where}.out_of_pocket"),
        )


@dataclass(frozen=True, slots=True)
class CarveOutEntity:
    entity_code: str
    name: str
    identifier: str
    phone: str
    service_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SandboxPlan:
    plan_id: str
    name: str
    group_number: str
    group_name: str
    insurance_type: str
    in_network: NetworkTerms
    out_of_network: NetworkTerms | None
    visits_per_year: int | None
    telehealth_covered: bool | None
    authorization_required: bool | None
    carve_out: CarveOutEntity | None


@dataclass(frozen=True, slots=True)
class SandboxMember:
    member_id: str
    plan_id: str
    coverage_begin: date
    coverage_end: date | None
    birth_date: date | None
    deductible_met: Decimal
    out_of_pocket_met: Decimal
    visits_used: int
    dependents: tuple[Member, ...] = ()

    def active_on(self, day: date) -> bool:
        return self.coverage_begin <= day and (self.coverage_end is None or day <= self.coverage_end)


@dataclass(frozen=True, slots=True)
class SandboxPlanTable:
    payer_id: str
    payer_name: str
    member_id_pattern: str
    plans: Mapping[str, SandboxPlan]
    members: Mapping[str, SandboxMember]
    unavailable_member_ids: frozenset[str] = frozenset()

    @classmethod
    def from_rules(cls, rules: RulesFile) -> SandboxPlanTable:
        return cls.from_dict(rules.data)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SandboxPlanTable:
        payer = _map(data.get("payer"), "payer")
        plans: dict[str, SandboxPlan] = {}
        for i, raw in enumerate(_list(data.get("plans"), "plans")):
            item = _map(raw, f"plans[{i}]")
            carve = item.get("carve_out")
            carve_out = None
            if carve is not None:
                c = _map(carve, f"plans[{i}].carve_out")
                carve_out = CarveOutEntity(
                    entity_code=_str(c.get("entity_code"), "carve_out.entity_code", "PR"),
                    name=_str(c.get("name"), "carve_out.name"),
                    identifier=_str(c.get("identifier"), "carve_out.identifier"),
                    phone=_str(c.get("phone"), "carve_out.phone"),
                    service_types=tuple(_str(t, "carve_out.service_types") for t in
                                        _list(c.get("service_types"), "carve_out.service_types")),
                )
            oon = item.get("out_of_network")
            plan = SandboxPlan(
                plan_id=_str(item.get("plan_id"), f"plans[{i}].plan_id"),
                name=_str(item.get("name"), f"plans[{i}].name"),
                group_number=_str(item.get("group_number"), f"plans[{i}].group_number"),
                group_name=_str(item.get("group_name"), f"plans[{i}].group_name"),
                insurance_type=_str(item.get("insurance_type"), f"plans[{i}].insurance_type", "C1"),
                in_network=NetworkTerms.from_dict(_map(item.get("in_network"), "in_network"), f"plans[{i}]"),
                out_of_network=None if oon is None else NetworkTerms.from_dict(_map(oon, "out_of_network"),
                                                                                f"plans[{i}]"),
                visits_per_year=_int(item.get("visits_per_year"), f"plans[{i}].visits_per_year"),
                telehealth_covered=_bool(item.get("telehealth_covered"), f"plans[{i}].telehealth_covered"),
                authorization_required=_bool(item.get("authorization_required"),
                                             f"plans[{i}].authorization_required"),
                carve_out=carve_out,
            )
            plans[plan.plan_id] = plan
        members: dict[str, SandboxMember] = {}
        for i, raw in enumerate(_list(data.get("members"), "members")):
            item = _map(raw, f"members[{i}]")
            plan_id = _str(item.get("plan_id"), f"members[{i}].plan_id")
            if plan_id not in plans:
                raise SandboxDataError(f"members[{i}].plan_id names no plan")
            begin = _day(item.get("coverage_begin"), f"members[{i}].coverage_begin")
            if begin is None:
                raise SandboxDataError(f"members[{i}].coverage_begin is required")
            dependents = tuple(
                Member(
                    last_name=_str(_map(d, "dependent").get("last_name"), "dependent.last_name"),
                    first_name=_str(_map(d, "dependent").get("first_name"), "dependent.first_name"),
                    birth_date=_day(_map(d, "dependent").get("birth_date"), "dependent.birth_date"),
                )
                for d in _list(item.get("dependents"), "dependents")
            )
            member = SandboxMember(
                member_id=_str(item.get("member_id"), f"members[{i}].member_id"), plan_id=plan_id,
                coverage_begin=begin, coverage_end=_day(item.get("coverage_end"), f"members[{i}].coverage_end"),
                birth_date=_day(item.get("birth_date"), f"members[{i}].birth_date"),
                deductible_met=_dec(item.get("deductible_met"), "deductible_met") or Decimal(0),
                out_of_pocket_met=_dec(item.get("out_of_pocket_met"), "out_of_pocket_met") or Decimal(0),
                visits_used=_int(item.get("visits_used"), "visits_used") or 0, dependents=dependents,
            )
            members[member.member_id] = member
        return cls(
            payer_id=_str(payer.get("payer_id"), "payer.payer_id"), payer_name=_str(payer.get("name"), "payer.name"),
            member_id_pattern=_str(data.get("member_id_pattern"), "member_id_pattern", r"^[A-Z0-9]{2,20}$"),
            plans=plans, members=members,
            unavailable_member_ids=frozenset(_str(m, "unavailable_member_ids") for m in
                                             _list(data.get("unavailable_member_ids"), "unavailable_member_ids")),
        )


def _list(raw: object, name: str) -> Sequence[object]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SandboxDataError(f"{name} must be a list")
    return raw


def _bool(raw: object, name: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    raise SandboxDataError(f"{name} must be true, false or null")


def _amount(value: Decimal) -> str:
    return format(cents(value), "f")


class SandboxPayer:
    """Answers 270 inquiries from a ``SandboxPlanTable``; deterministic for the same inputs."""

    def __init__(self, table: SandboxPlanTable) -> None:
        self.table = table

    def answer(self, text_270: str, control: ControlNumbers) -> str:
        """Return the 271 interchange answering every subscriber loop of ``text_270``: one 271 transaction per
        270 transaction (a batch of inquiries gets a batch of answers, in the same order)."""
        segments = list(iter_segments(text_270))
        isa = segments[0]
        by_transaction: dict[str, list[ReceivedInquiry]] = {}
        for inquiry in read_270(text_270):
            by_transaction.setdefault(inquiry.transaction_control, []).append(inquiry)
        transactions = [self._transaction(inquiries, f"{control.transaction + i - 1:04d}", control)
                        for i, inquiries in enumerate(by_transaction.values(), 1)]
        parties = InterchangeParties(
            sender_id=isa.get(8).strip(), receiver_id=isa.get(6).strip(),
            sender_qualifier=isa.get(7).strip() or "ZZ", receiver_qualifier=isa.get(5).strip() or "ZZ",
            usage=isa.get(15) if isa.get(15) in ("T", "P") else "T",
        )
        return envelope(transactions, functional_id="HB", version=IMPLEMENTATION, parties=parties, control=control)

    def _transaction(self, inquiries: list[ReceivedInquiry], control_number: str, control: ControlNumbers
                     ) -> list[str]:
        tx = TransactionWriter("271", control_number, IMPLEMENTATION)
        created = control.created_at
        tx.segment("BHT", "0022", "11", inquiries[0].bht_reference, d8(created), tm(created))
        tx.segment("HL", "1", "", "20", "1")
        tx.segment("NM1", "PR", "2", self.table.payer_name, "", "", "", "", "PI", self.table.payer_id)
        hl = 1
        provider_hl = 0
        last_provider = ""
        for inquiry in inquiries:
            request = inquiry.request
            if request.provider.npi != last_provider:
                hl += 1
                provider_hl = hl
                last_provider = request.provider.npi
                tx.segment("HL", str(hl), "1", "21", "1")
                tx.segment("NM1", "1P", "1" if request.provider.first_name else "2", request.provider.name,
                           request.provider.first_name, "", "", "", "XX", request.provider.npi)
            hl = self._answer_one(tx, inquiry, hl, provider_hl)
        return tx.close()

    # ------------------------------------------------------------------------------------------ one member

    def _answer_one(self, tx: TransactionWriter, inquiry: ReceivedInquiry, hl: int, provider_hl: int) -> int:
        request = inquiry.request
        subscriber = request.subscriber
        member = self.table.members.get(subscriber.member_id)
        dependent = request.dependent
        hl += 1
        subscriber_hl = hl
        tx.segment("HL", str(hl), str(provider_hl), "22", "1" if dependent is not None and member else "0")
        if dependent is None or member is None:
            tx.segment("TRN", "2", request.trace_number, inquiry.trace_originator)
        reject = self._member_rejection(subscriber, member)
        tx.segment("NM1", "IL", "1", subscriber.last_name, subscriber.first_name, "", "", "",
                   "MI" if subscriber.member_id else "", subscriber.member_id)
        if reject is not None or member is None:
            tx.segment("AAA", "N", "", reject or "75", "R" if reject == "42" else "C")
            return hl
        plan = self.table.plans[member.plan_id]
        if plan.group_number:
            tx.segment("REF", "6P", plan.group_number, plan.group_name)
        if dependent is None:
            if subscriber.birth_date is not None:
                tx.segment("DMG", "D8", d8(subscriber.birth_date), subscriber.gender)
            self._benefits(tx, member, plan, request.service_date, request.service_types)
            return hl
        hl += 1
        tx.segment("HL", str(hl), str(subscriber_hl), "23", "0")
        tx.segment("TRN", "2", request.trace_number, inquiry.trace_originator)
        tx.segment("NM1", "03", "1", dependent.last_name, dependent.first_name)
        known = any(
            d.first_name.upper() == dependent.first_name.upper() and d.birth_date == dependent.birth_date
            for d in member.dependents
        )
        if not known:
            tx.segment("AAA", "N", "", "67", "C")
            return hl
        if dependent.birth_date is not None:
            tx.segment("DMG", "D8", d8(dependent.birth_date), dependent.gender)
        self._benefits(tx, member, plan, request.service_date, request.service_types)
        return hl

    def _member_rejection(self, subscriber: Member, member: SandboxMember | None) -> str | None:
        member_id = subscriber.member_id
        if member_id in self.table.unavailable_member_ids:
            return "42"
        if not re.fullmatch(self.table.member_id_pattern, member_id):
            return "72"
        if member is None:
            return "75"
        if member.birth_date and subscriber.birth_date and member.birth_date != subscriber.birth_date:
            return "71"
        return None

    def _benefits(self, tx: TransactionWriter, member: SandboxMember, plan: SandboxPlan, service_date: date,
                  service_types: tuple[str, ...]) -> None:
        tx.segment("DTP", "346", "D8", d8(member.coverage_begin))
        if member.coverage_end is not None:
            tx.segment("DTP", "347", "D8", d8(member.coverage_end))
        if not member.active_on(service_date):
            tx.segment("EB", "6", "IND", "30")
            return
        carved = set(plan.carve_out.service_types) if plan.carve_out else set()
        tx.segment("EB", "1", "IND", "30", plan.insurance_type, plan.name)
        detail = [t for t in service_types if t in _MENTAL_HEALTH_DETAIL and t not in carved]
        if plan.carve_out is not None:
            asked = [t for t in service_types if t in carved] or list(plan.carve_out.service_types)
            tx.segment("EB", "R", "", Repeated(tuple(asked)))
            tx.segment("LS", "2120")
            carve = plan.carve_out
            tx.segment("NM1", carve.entity_code, "2", carve.name, "", "", "", "", "PI" if carve.identifier else "",
                       carve.identifier)
            if carve.phone:
                tx.segment("PER", "IC", "", "TE", carve.phone)
            tx.segment("LE", "2120")
        if not detail:
            return
        codes = Repeated(tuple(detail))
        tx.segment("EB", "1", "IND", codes)
        auth = "" if plan.authorization_required is None else "Y" if plan.authorization_required else "N"
        self._network(tx, codes, plan.in_network, member, "Y", auth)
        if plan.out_of_network is not None:
            self._network(tx, codes, plan.out_of_network, member, "N", auth)
        if plan.visits_per_year is not None:
            remaining = max(0, plan.visits_per_year - member.visits_used)
            tx.segment("EB", "F", "IND", codes, "", "", "23", "", "", "VS", str(plan.visits_per_year))
            tx.segment("EB", "F", "IND", codes, "", "", "29", "", "", "VS", str(remaining))
        if plan.telehealth_covered is not None:
            tx.segment("EB", "1" if plan.telehealth_covered else "I", "IND", codes)
            tx.segment("III", "ZZ", "02")
            tx.segment("III", "ZZ", "10")

    @staticmethod
    def _network(tx: TransactionWriter, codes: Repeated, terms: NetworkTerms, member: SandboxMember,
                 flag: str, auth: str) -> None:
        if terms.copay is not None:
            tx.segment("EB", "B", "IND", codes, "", "", "27", _amount(terms.copay), "", "", "", auth, flag)
        if terms.coinsurance_percent is not None:
            rate = format((terms.coinsurance_percent / 100).normalize(), "f")
            tx.segment("EB", "A", "IND", codes, "", "", "27", "", rate, "", "", auth, flag)
        if terms.deductible is not None:
            remaining = max(Decimal(0), terms.deductible - member.deductible_met)
            tx.segment("EB", "C", "IND", codes, "", "", "23", _amount(terms.deductible), "", "", "", "", flag)
            tx.segment("EB", "C", "IND", codes, "", "", "29", _amount(remaining), "", "", "", "", flag)
        if terms.out_of_pocket is not None:
            remaining = max(Decimal(0), terms.out_of_pocket - member.out_of_pocket_met)
            tx.segment("EB", "G", "IND", codes, "", "", "23", _amount(terms.out_of_pocket), "", "", "", "", flag)
            tx.segment("EB", "G", "IND", codes, "", "", "29", _amount(remaining), "", "", "", "", flag)

