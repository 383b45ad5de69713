"""Read X12 271 eligibility responses (005010X279A1) into ``PayerAnswer`` values: what the payer said, not what we
make of it (that is ``domain.coverage.assess``).

``read_271(text, phrases)`` returns one answer per patient loop: each 2000D dependent, and each 2000C subscriber
that has no dependent loop under it. When the payer rejects the whole inquiry at the payer or provider level (AAA
in 2000A/2100A/2100B) and sends no subscriber loop, one answer carries those rejections (its trace is BHT03,
which our 270 fills with the trace number). AAA codes are read with the kernel's code tables
(``rcm_shared.x12.code_tables``). Anything that is not a well-formed 271 raises ``rcm_shared.x12.X12SyntaxError``
and nothing else.

Conventions the reader relies on (document them to trading partners):

* Visit limits: EB01 ``F`` with EB09 ``VS`` and EB10 visits, or with HSD*VS segments; the time period (EB06 or
  HSD05) ``29`` means *remaining*, any other period (23 calendar year, 22 service year, ...) is the limit.
  EB09 ``99`` (quantity used) is visits used.
* Deductible (``C``) and out-of-pocket (``G``): EB06 ``29``/``33`` is the remaining amount, otherwise the total;
  EB02 ``FAM`` is the family accumulator, anything else the individual one.
* Network: EB12 ``Y`` in network, ``N`` out of network; ``W``/``U``/absent apply to any network.
* Telehealth: the benefit's 2115 loop ``III*ZZ*02`` or ``III*ZZ*10`` (facility type = telehealth place of
  service) says the benefit applies to telehealth: covered when EB01 is an active or cost-share code, not
  covered when EB01 is ``I``. Without III, MSG free text is matched against ``TelehealthPhrases`` (data).
* Carve-out: EB01 ``R`` (other payer) or ``U`` (contact entity) with a 2120 NM1 entity (PR, P5, Y2 ...) becomes a
  ``CarveOut`` on the snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from rcm_shared.x12 import Segment, X12SyntaxError, detect_delimiters, iter_segments
from rcm_shared.x12.code_tables import follow_up_action, reject_reason
from rcm_shared.x12.dates import read_period

from eligibility.domain.benefits import (
    TELEHEALTH_PLACES_OF_SERVICE,
    Accumulator,
    BenefitsSnapshot,
    CarveOut,
    CoverageStatus,
    Network,
    NetworkBenefits,
    PayerAnswer,
    PayerRef,
    PlanInfo,
    Rejection,
    ServiceBenefits,
    VisitLimit,
    cents,
)
from eligibility.domain.telehealth import TelehealthPhrases

ACTIVE_CODES = frozenset({"1", "2", "3", "4", "5"})
INACTIVE_CODES = frozenset({"6", "7", "8"})
COST_SHARE_CODES = frozenset({"A", "B", "C", "F", "G"})
CARVE_OUT_CODES = frozenset({"R", "U"})
REMAINING_PERIODS = frozenset({"29", "33"})
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")


# --------------------------------------------------------------------------------------------- raw loops


@dataclass
class _Entity:
    nm1: Segment
    phone: str = ""


@dataclass
class _Benefit:
    eb: Segment
    hsd: list[Segment] = field(default_factory=list)
    refs: list[Segment] = field(default_factory=list)
    dtps: list[Segment] = field(default_factory=list)
    aaa: list[Segment] = field(default_factory=list)
    msgs: list[str] = field(default_factory=list)
    facility_types: list[str] = field(default_factory=list)
    entities: list[_Entity] = field(default_factory=list)


@dataclass
class _Loop:
    hl_id: str
    parent: str
    level: str
    nm1: Segment | None = None
    trns: list[Segment] = field(default_factory=list)
    refs: list[Segment] = field(default_factory=list)
    dtps: list[Segment] = field(default_factory=list)
    aaa: list[Segment] = field(default_factory=list)
    benefits: list[_Benefit] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class _Transaction:
    control: str
    bht_reference: str = ""
    loops: dict[str, _Loop] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- helpers


def _number(seg: Segment, index: int) -> Decimal | None:
    raw = seg.get(index)
    if raw == "":
        return None
    if not _NUMBER.match(raw) or len(raw) > 18:
        raise X12SyntaxError("element is not a number", segment_number=seg.number, segment_id=seg.id, element=index)
    return Decimal(raw)


def _quantity(seg: Segment, index: int) -> int | None:
    value = _number(seg, index)
    if value is None:
        return None
    if value != value.to_integral_value() or value < 0:
        raise X12SyntaxError(
            "quantity must be a whole number", segment_number=seg.number, segment_id=seg.id, element=index
        )
    return int(value)


def _period(seg: Segment) -> tuple[date, date | None]:
    """DTP with D8 (one date) or RD8 (a range)."""
    return read_period(seg.get(2), seg.get(3), segment_number=seg.number, segment_id=seg.id, element=3)


def _require(seg: Segment, index: int) -> str:
    value = seg.get(index)
    if not value:
        raise X12SyntaxError("required element is missing", segment_number=seg.number, segment_id=seg.id,
                             element=index)
    return value


# --------------------------------------------------------------------------------------------- parsing


def _split_transactions(segments: list[Segment]) -> list[tuple[list[Segment], Segment]]:
    """Check the envelope and return each ST..SE body with its ST segment."""
    if not segments or segments[0].id != "ISA":
        raise X12SyntaxError("interchange must start with an ISA segment", segment_number=1)
    out: list[tuple[list[Segment], Segment]] = []
    group_open = False
    current: list[Segment] | None = None
    st: Segment | None = None
    ended = False
    for seg in segments[1:]:
        if ended:
            raise X12SyntaxError("segment after IEA", segment_number=seg.number, segment_id=seg.id)
        sid = seg.id
        if sid == "GS":
            if group_open or current is not None:
                raise X12SyntaxError("GS inside an open group", segment_number=seg.number, segment_id="GS")
            if seg.get(1) != "HB":
                raise X12SyntaxError("functional group is not HB (271)", segment_number=seg.number,
                                     segment_id="GS", element=1)
            if not seg.get(8).startswith("005010X279"):
                raise X12SyntaxError("GS08 is not 005010X279A1", segment_number=seg.number, segment_id="GS",
                                     element=8)
            group_open = True
        elif sid == "ST":
            if not group_open or current is not None:
                raise X12SyntaxError("ST outside a functional group", segment_number=seg.number, segment_id="ST")
            if seg.get(1) != "271":
                raise X12SyntaxError("transaction set is not a 271", segment_number=seg.number, segment_id="ST",
                                     element=1)
            _require(seg, 2)
            current, st = [], seg
        elif sid == "SE":
            if current is None or st is None:
                raise X12SyntaxError("SE without ST", segment_number=seg.number, segment_id="SE")
            if seg.get(1) != str(len(current) + 2):
                raise X12SyntaxError("SE01 segment count does not match", segment_number=seg.number,
                                     segment_id="SE", element=1)
            if seg.get(2) != st.get(2):
                raise X12SyntaxError("SE02 does not match ST02", segment_number=seg.number, segment_id="SE",
                                     element=2)
            out.append((current, st))
            current, st = None, None
        elif sid == "GE":
            if not group_open or current is not None:
                raise X12SyntaxError("GE without an open group", segment_number=seg.number, segment_id="GE")
            group_open = False
        elif sid == "IEA":
            if group_open or current is not None:
                raise X12SyntaxError("IEA before the group or transaction is closed", segment_number=seg.number,
                                     segment_id="IEA")
            ended = True
        elif current is not None:
            current.append(seg)
        else:
            raise X12SyntaxError("segment outside a transaction", segment_number=seg.number, segment_id=sid)
    if not ended:
        raise X12SyntaxError("interchange has no IEA trailer", segment_number=segments[-1].number + 1)
    if not out:
        raise X12SyntaxError("interchange holds no 271 transaction", segment_number=1)
    return out


def _parse_transaction(body: list[Segment], st: Segment, repetition: str) -> _Transaction:
    tx = _Transaction(control=st.get(2))
    if not body or body[0].id != "BHT":
        raise X12SyntaxError("BHT must follow ST", segment_number=st.number + 1, segment_id="BHT")
    tx.bht_reference = body[0].get(3)
    loop: _Loop | None = None
    benefit: _Benefit | None = None
    in_2120 = False
    for seg in body[1:]:
        sid = seg.id
        if sid == "HL":
            hl_id, parent, level = _require(seg, 1), seg.get(2), _require(seg, 3)
            if level not in ("20", "21", "22", "23"):
                raise X12SyntaxError("unsupported HL level code", segment_number=seg.number, segment_id="HL",
                                     element=3)
            if hl_id in tx.loops:
                raise X12SyntaxError("duplicate HL id", segment_number=seg.number, segment_id="HL", element=1)
            if level != "20":
                if parent not in tx.loops:
                    raise X12SyntaxError("HL parent is unknown", segment_number=seg.number, segment_id="HL",
                                         element=2)
                expected = {"21": "20", "22": "21", "23": "22"}[level]
                if tx.loops[parent].level != expected:
                    raise X12SyntaxError("HL parent has the wrong level", segment_number=seg.number,
                                         segment_id="HL", element=2)
                tx.loops[parent].children.append(hl_id)
            loop = _Loop(hl_id=hl_id, parent=parent, level=level)
            tx.loops[hl_id] = loop
            tx.order.append(hl_id)
            benefit, in_2120 = None, False
            continue
        if loop is None:
            raise X12SyntaxError("segment before the first HL", segment_number=seg.number, segment_id=sid)
        if sid == "LS":
            if benefit is None:
                raise X12SyntaxError("LS outside a benefit loop", segment_number=seg.number, segment_id="LS")
            in_2120 = True
            continue
        if sid == "LE":
            if not in_2120:
                raise X12SyntaxError("LE without LS", segment_number=seg.number, segment_id="LE")
            in_2120 = False
            continue
        if in_2120 and benefit is not None:
            if sid == "NM1":
                benefit.entities.append(_Entity(nm1=seg))
            elif sid == "PER" and benefit.entities:
                benefit.entities[-1].phone = _phone(seg)
            continue  # N3, N4, PRV of the related entity are not needed
        if sid == "EB":
            if loop.level not in ("22", "23"):
                raise X12SyntaxError("EB outside a subscriber or dependent loop", segment_number=seg.number,
                                     segment_id="EB")
            _require(seg, 1)
            benefit = _Benefit(eb=seg)
            loop.benefits.append(benefit)
            continue
        if benefit is not None:
            if sid == "HSD":
                benefit.hsd.append(seg)
            elif sid == "REF":
                benefit.refs.append(seg)
            elif sid == "DTP":
                benefit.dtps.append(seg)
            elif sid == "AAA":
                benefit.aaa.append(seg)
            elif sid == "MSG":
                benefit.msgs.append(seg.get(1))
            elif sid == "III" and seg.get(1) == "ZZ" and seg.get(2):
                benefit.facility_types.extend(seg.get(2).split(repetition))
            continue
        if sid == "NM1":
            loop.nm1 = seg
        elif sid == "TRN":
            loop.trns.append(seg)
        elif sid == "REF":
            loop.refs.append(seg)
        elif sid == "DTP":
            loop.dtps.append(seg)
        elif sid == "AAA":
            loop.aaa.append(seg)
        # N3, N4, PER, PRV, DMG, INS, HI, MPI carry nothing the snapshot needs
    return tx


def _phone(per: Segment) -> str:
    for i in (3, 5, 7):
        if per.get(i) == "TE":
            return per.get(i + 1)
    return ""


# --------------------------------------------------------------------------------------------- interpreting


def _rejection(seg: Segment, level: str) -> Rejection:
    code = _require(seg, 3)
    follow = seg.get(4)
    description, category = reject_reason(code)
    return Rejection(
        code=code, level=level, description=description, category=category, follow_up_code=follow,
        follow_up=follow_up_action(follow)[0], valid_request=seg.get(1) == "Y",
    )


_LEVEL_NAMES = {"20": "payer", "21": "provider", "22": "subscriber", "23": "dependent"}


class _ServiceAccumulator:
    """Mutable builder for one service type's benefits (turned into frozen values at the end)."""

    def __init__(self) -> None:
        self.covered: bool | None = None
        self.telehealth: bool | None = None
        self.networks: dict[Network, dict[str, object]] = {n: {} for n in Network}

    def put(self, network: Network, name: str, value: object) -> None:
        self.networks[network][name] = value

    def get(self, network: Network, name: str) -> object:
        return self.networks[network].get(name)

    def freeze(self, code: str) -> ServiceBenefits:
        def build(values: dict[str, object]) -> NetworkBenefits:
            return NetworkBenefits(**values)  # type: ignore[arg-type]

        return ServiceBenefits(
            service_type=code, covered=self.covered, telehealth_covered=self.telehealth,
            in_network=build(self.networks[Network.IN]), out_of_network=build(self.networks[Network.OUT]),
            any_network=build(self.networks[Network.ANY]),
        )


def _network(eb: Segment) -> Network:
    flag = eb.get(12)
    return Network.IN if flag == "Y" else Network.OUT if flag == "N" else Network.ANY


def _accumulate(acc: _ServiceAccumulator, network: Network, name: str, eb: Segment, amount: Decimal) -> None:
    current = acc.get(network, name)
    existing = current if isinstance(current, Accumulator) else Accumulator()
    if eb.get(6) in REMAINING_PERIODS:
        acc.put(network, name, replace(existing, remaining=cents(amount)))
    else:
        acc.put(network, name, replace(existing, total=cents(amount)))


def _visit_limit(acc: _ServiceAccumulator, network: Network, item: _Benefit) -> None:
    current = acc.get(network, "visit_limit")
    limit = current if isinstance(current, VisitLimit) else VisitLimit()
    eb = item.eb
    readings: list[tuple[str, int | None, str]] = []  # (qualifier, quantity, period)
    if eb.get(9):
        readings.append((eb.get(9), _quantity(eb, 10), eb.get(6)))
    for hsd in item.hsd:
        readings.append((hsd.get(1), _quantity(hsd, 2), hsd.get(5) or eb.get(6)))
    for qualifier, quantity, period in readings:
        if quantity is None:
            continue
        if qualifier == "VS":
            if period in REMAINING_PERIODS:
                limit = replace(limit, remaining=quantity)
            else:
                limit = replace(limit, limit=quantity, period=period or limit.period)
        elif qualifier == "99":
            limit = replace(limit, used=quantity)
    if limit != VisitLimit():
        acc.put(network, "visit_limit", limit)


def _plan_info(loop_refs: Iterable[Segment], active: _Benefit | None) -> PlanInfo:
    plan = PlanInfo()
    if active is not None:
        plan = replace(plan, plan_name=active.eb.get(5), insurance_type=active.eb.get(4))
    refs = list(loop_refs) + (active.refs if active else [])
    for ref in refs:
        qualifier = ref.get(1)
        if qualifier == "18":
            plan = replace(plan, plan_number=ref.get(2), plan_name=plan.plan_name or ref.get(3))
        elif qualifier in ("6P", "1L"):
            plan = replace(plan, group_number=ref.get(2), group_name=ref.get(3) or plan.group_name)
    return plan


def _coverage_dates(dtps: Iterable[Segment]) -> tuple[date | None, date | None]:
    begin: date | None = None
    end: date | None = None
    for dtp in dtps:
        qualifier = dtp.get(1)
        if qualifier not in ("291", "307", "346", "347", "356", "357", "348", "349"):
            continue
        start, stop = _period(dtp)
        if qualifier in ("346", "356", "348"):
            begin = begin or start
        elif qualifier in ("347", "357", "349"):
            end = end or start
        else:  # 291 plan / 307 eligibility: a range, or the one date the answer is valid for
            begin = begin or start
            end = end or stop
    return begin, end


def _snapshot(loop: _Loop, parent: _Loop | None, repetition: str, phrases: TelehealthPhrases) -> (
    tuple[BenefitsSnapshot | None, list[Rejection]]
):
    rejections: list[Rejection] = []
    services: dict[str, _ServiceAccumulator] = {}
    carve_outs: list[CarveOut] = []
    messages: list[str] = []
    active_benefit: _Benefit | None = None
    status = CoverageStatus.UNKNOWN
    saw_active = saw_inactive = False
    for item in loop.benefits:
        eb = item.eb
        code = eb.get(1)
        types = [t for t in eb.get(3).split(repetition) if t] or ["30"]
        network = _network(eb)
        for aaa in item.aaa:
            rejections.append(_rejection(aaa, "benefit"))
        messages.extend(m for m in item.msgs if m)
        telehealth_iii: bool | None = None
        if TELEHEALTH_PLACES_OF_SERVICE.intersection(item.facility_types):
            if code == "I":
                telehealth_iii = False
            elif code in ACTIVE_CODES or code in COST_SHARE_CODES:
                telehealth_iii = True
        telehealth_msg = None
        for message in item.msgs:
            verdict = phrases.verdict(message)
            if verdict is not None:
                telehealth_msg = verdict
        telehealth = telehealth_iii if telehealth_iii is not None else telehealth_msg
        if code in CARVE_OUT_CODES:
            for entity in item.entities:
                nm1 = entity.nm1
                carve_outs.append(CarveOut(
                    entity_code=nm1.get(1), name=nm1.get(3), identifier=nm1.get(9),
                    identifier_qualifier=nm1.get(8), service_types=tuple(types), phone=entity.phone,
                ))
            continue
        if code in ACTIVE_CODES:
            saw_active = True
            # the plan-level (service type 30) line names the plan; otherwise the first active line does
            if active_benefit is None or ("30" in types and "30" not in active_benefit.eb.get(3).split(repetition)):
                active_benefit = item
        elif code in INACTIVE_CODES:
            saw_inactive = True
        for service_type in types:
            acc = services.setdefault(service_type, _ServiceAccumulator())
            # a telehealth-only (III 02/10) non-covered line speaks about telehealth, not the whole service
            if code in ACTIVE_CODES:
                acc.covered = True
            elif (code in INACTIVE_CODES or code == "I") and telehealth_iii is None and acc.covered is None:
                acc.covered = False
            if telehealth is not None:
                acc.telehealth = telehealth if acc.telehealth is None else (acc.telehealth or telehealth)
            if eb.get(11) in ("Y", "N"):
                acc.put(network, "authorization_required", eb.get(11) == "Y")
            if telehealth_iii is not None:
                continue  # cost shares limited to telehealth places of service do not describe the office visit
            amount = _number(eb, 7)
            if code == "B" and amount is not None:
                acc.put(network, "copay", cents(amount))
            elif code == "A":
                percent = _number(eb, 8)
                if percent is not None:
                    acc.put(network, "coinsurance_percent", cents(percent * 100))
            elif code in ("C", "G") and amount is not None:
                family = eb.get(2) == "FAM"
                name = ("deductible" if code == "C" else "out_of_pocket") + ("_family" if family else "_individual")
                _accumulate(acc, network, name, eb, amount)
            elif code == "F":
                _visit_limit(acc, network, item)
    if saw_active:
        status = CoverageStatus.ACTIVE
    elif saw_inactive:
        status = CoverageStatus.INACTIVE
    if not loop.benefits:
        return None, rejections
    dtps = list(loop.dtps) + (active_benefit.dtps if active_benefit else [])
    begin, end = _coverage_dates(dtps)
    if begin is None and end is None and parent is not None:
        begin, end = _coverage_dates(parent.dtps)
    refs = list(parent.refs if parent else []) + list(loop.refs)
    benefits = tuple(acc.freeze(code) for code, acc in services.items())
    telehealth_values = [b.telehealth_covered for b in benefits if b.telehealth_covered is not None]
    snapshot = BenefitsSnapshot(
        coverage_status=status, plan=_plan_info(refs, active_benefit), coverage_begin=begin, coverage_end=end,
        benefits=benefits, carve_outs=tuple(carve_outs), messages=tuple(messages),
        telehealth_covered=(any(telehealth_values) if telehealth_values else None),
    )
    return snapshot, rejections


def _trace(loop: _Loop, fallback: str) -> str:
    for trn in loop.trns:
        if trn.get(1) == "2":  # our 270's trace, echoed back
            return trn.get(2)
    return loop.trns[0].get(2) if loop.trns else fallback


def _answers(tx: _Transaction, repetition: str, phrases: TelehealthPhrases) -> list[PayerAnswer]:
    payer: PayerRef | None = None
    provider_npi = ""
    upper: list[Rejection] = []
    for hl_id in tx.order:
        loop = tx.loops[hl_id]
        if loop.level == "20":
            if loop.nm1 is not None:
                payer = PayerRef(payer_id=loop.nm1.get(9), name=loop.nm1.get(3))
            upper.extend(_rejection(a, "payer") for a in loop.aaa)
        elif loop.level == "21":
            if loop.nm1 is not None:
                provider_npi = loop.nm1.get(9)
            upper.extend(_rejection(a, "provider") for a in loop.aaa)
    patients = [
        tx.loops[h] for h in tx.order
        if tx.loops[h].level == "23" or (tx.loops[h].level == "22" and not tx.loops[h].children)
    ]
    answers: list[PayerAnswer] = []
    for loop in patients:
        parent = tx.loops[loop.parent] if loop.level == "23" else None
        snapshot, rejections = _snapshot(loop, parent, repetition, phrases)
        own = [_rejection(a, _LEVEL_NAMES[loop.level]) for a in loop.aaa]
        if parent is not None:
            own = [_rejection(a, "subscriber") for a in parent.aaa] + own
        subscriber = parent if parent is not None else loop
        answers.append(PayerAnswer(
            trace_number=_trace(loop, _trace(parent, tx.bht_reference) if parent else tx.bht_reference),
            payer=payer, provider_npi=provider_npi,
            member_id=subscriber.nm1.get(9) if subscriber.nm1 is not None else "",
            is_dependent=loop.level == "23", rejections=tuple(upper + own + rejections), snapshot=snapshot,
            transaction_control=tx.control,
        ))
    if not patients:
        answers.append(PayerAnswer(
            trace_number=tx.bht_reference, payer=payer, provider_npi=provider_npi, rejections=tuple(upper),
            transaction_control=tx.control,
        ))
    return answers


def read_271(text: str, phrases: TelehealthPhrases | None = None) -> list[PayerAnswer]:
    """Parse a 271 interchange (one or more ST..SE) into one ``PayerAnswer`` per patient loop. ``phrases``: the
    MSG texts that state telehealth coverage (rules/telehealth_phrases.yaml; built-in defaults when omitted)."""
    if not isinstance(text, str):
        raise X12SyntaxError("271 input must be text")
    delimiters = detect_delimiters(text)
    segments = list(iter_segments(text))
    phrases = phrases or TelehealthPhrases()
    answers: list[PayerAnswer] = []
    for body, st in _split_transactions(segments):
        tx = _parse_transaction(body, st, delimiters.repetition)
        answers.extend(_answers(tx, delimiters.repetition, phrases))
    return answers
