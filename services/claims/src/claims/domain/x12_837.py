"""837P writer (005010X222A1): streams claims of one payer into one interchange.

``iter_837p(claims, header) -> Iterator[str]`` yields text chunks (memory stays flat however many claims);
``iter_837p_bytes`` the same as ASCII bytes, ``write_837p`` the whole text. ``split_by_payer`` groups claims
into per-payer batches (one file each). Control numbers come from the caller (``InterchangeHeader``).

One ST/SE transaction holds the claims of one billing provider, at most ``max_claims_per_transaction``
(the guide recommends 5,000); a new billing provider or a full transaction opens the next ST.
Speed matters (tens of thousands of claims a second): segments are built with f-strings from pre-cleaned
values, and the parts that repeat (payer, rendering provider) are cached per interchange.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from claims.domain.exceptions import InvalidClaim
from claims.domain.model import (
    Address,
    Adjustment,
    BillingProvider,
    Claim,
    Clinician,
    OtherPayerAdjudication,
    PayerRef,
    Person,
)

VERSION = "005010X222A1"
# Delimiters the writer declares in ISA; free text is cleaned of them (and of the repetition separator).
_ELEMENT, _COMPONENT, _REPETITION, _TERMINATOR = "*", ":", "^", "~"
_STRIP = str.maketrans({"*": " ", ":": " ", "^": " ", "~": " ", "\r": " ", "\n": " "})


_NEEDS_CLEANING = re.compile(r"[*:^~\r\n]|^\s|\s$").search
# the same over fields joined by NUL (not \\x1f, which Python counts as white space): a delimiter anywhere,
# or white space at either end of a field
_FIELDS_NEED_CLEANING = re.compile(r"[*:^~\r\n]|^\s|\s$|\s\x00|\x00\s").search


def clean(text: str) -> str:
    """Free text as X12 may carry it: no delimiters, upper case, trimmed (fast path: nothing to remove)."""
    if _NEEDS_CLEANING(text) is None:
        return text.upper()
    return text.translate(_STRIP).strip().upper()


def _d8(day: date) -> str:
    return day.isoformat().replace("-", "")


def _amount(value: Decimal) -> str:
    # X12 R type: no exponent, no superfluous trailing zeros or point ("150", "150.5", "-12.34")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _trim(segment: str) -> str:
    """Drop trailing empty elements (X12 forbids them)."""
    return segment.rstrip(_ELEMENT) + _TERMINATOR


@dataclass(frozen=True, slots=True)
class Submitter:
    name: str
    etin: str  # the submitter id the clearinghouse assigned
    contact_name: str
    contact_phone: str  # digits only


@dataclass(frozen=True, slots=True)
class Receiver:
    name: str
    etin: str


@dataclass(frozen=True, slots=True)
class InterchangeHeader:
    sender_id: str
    receiver_id: str
    interchange_control_number: int
    group_control_number: int
    created: datetime
    submitter: Submitter
    receiver: Receiver
    first_transaction_number: int = 1
    usage_indicator: str = "T"  # T test, P production
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    acknowledgment_requested: str = "0"
    max_claims_per_transaction: int = 5000


def split_by_payer(claims: Iterable[Claim]) -> dict[str, list[Claim]]:
    """One batch (one 837P file) per payer, claims grouped by billing provider inside each batch."""
    batches: dict[str, list[Claim]] = {}
    for claim in claims:
        batches.setdefault(claim.payer.payer_id, []).append(claim)
    for batch in batches.values():
        batch.sort(key=lambda c: c.billing_provider.npi)
    return batches


def _address(address: Address | None) -> tuple[str, int]:
    if address is None:
        return "", 0
    line2 = clean(address.line2)
    n3 = f"N3*{clean(address.line1)}*{line2}~" if line2 else f"N3*{clean(address.line1)}~"
    return f"{n3}N4*{clean(address.city)}*{clean(address.state)}*{clean(address.postal_code)}~", 2


def _dmg(person: Person) -> tuple[str, int]:
    if person.birth_date is None:
        return "", 0
    return f"DMG*D8*{_d8(person.birth_date)}*{person.gender}~", 1


def _person_nm1(entity: str, person: Person, id_qualifier: str = "", ident: str = "") -> str:
    tail = f"***{id_qualifier}*{clean(ident)}" if ident else ""
    return _trim(
        f"NM1*{entity}*1*{clean(person.last_name)}*{clean(person.first_name)}*{clean(person.middle_name)}{tail}"
    )


def _cas(adjustments: Iterable[Adjustment]) -> tuple[str, int]:
    by_group: dict[str, list[Adjustment]] = {}
    for adj in adjustments:
        by_group.setdefault(adj.group, []).append(adj)
    parts: list[str] = []
    for group, items in by_group.items():
        # a CAS segment holds six reason triplets; more repeat the group in another CAS
        for start in range(0, len(items), 6):
            triplets = "*".join(
                f"{a.reason}*{_amount(a.amount)}*{'' if a.quantity is None else a.quantity}"
                for a in items[start:start + 6]
            )
            parts.append(_trim(f"CAS*{group}*{triplets}"))
    return "".join(parts), len(parts)


class _Writer:
    """State of one interchange; ``claim()`` returns the segments of one claim and how many there are."""

    def __init__(self, header: InterchangeHeader) -> None:
        self.header = header
        self._payers: dict[PayerRef, tuple[str, int]] = {}
        self._clinicians: dict[tuple[str, Clinician], tuple[str, int]] = {}
        self._amounts: dict[Decimal, str] = {}
        self._dates: dict[date, str] = {}

    def amount(self, value: Decimal) -> str:
        text = self._amounts.get(value)
        if text is None:
            if len(self._amounts) > 4096:  # charges repeat (fee schedules); keep the cache bounded anyway
                self._amounts.clear()
            text = self._amounts[value] = _amount(value)
        return text

    def d8(self, day: date) -> str:
        text = self._dates.get(day)
        if text is None:
            if len(self._dates) > 4096:
                self._dates.clear()
            text = self._dates[day] = _d8(day)
        return text

    def payer(self, payer: PayerRef) -> tuple[str, int]:
        cached = self._payers.get(payer)
        if cached is None:
            addr, n = _address(payer.address)
            cached = (f"NM1*PR*2*{clean(payer.name)}*****PI*{clean(payer.payer_id)}~{addr}", 1 + n)
            self._payers[payer] = cached
        return cached

    def clinician(self, entity: str, clinician: Clinician) -> tuple[str, int]:
        key = (entity, clinician)
        cached = self._clinicians.get(key)
        if cached is None:
            text = (
                f"NM1*{entity}*1*{clean(clinician.last_name)}*{clean(clinician.first_name)}****XX*"
                f"{clinician.npi}~"
            )
            n = 1
            if entity == "82" and clinician.taxonomy:
                text += f"PRV*PE*PXC*{clinician.taxonomy}~"
                n += 1
            cached = (text, n)
            self._clinicians[key] = cached
        return cached

    def transaction_header(self, st: str, provider: BillingProvider) -> tuple[str, int]:
        h = self.header
        created = h.created
        sub = h.submitter
        addr, n_addr = _address(provider.address)
        prv = f"PRV*BI*PXC*{provider.taxonomy}~" if provider.taxonomy else ""
        text = (
            f"ST*837*{st}*{VERSION}~"
            f"BHT*0019*00*{h.interchange_control_number}{st}*{created:%Y%m%d}*{created:%H%M}*CH~"
            f"NM1*41*2*{clean(sub.name)}*****46*{clean(sub.etin)}~"
            f"PER*IC*{clean(sub.contact_name)}*TE*{sub.contact_phone}~"
            f"NM1*40*2*{clean(h.receiver.name)}*****46*{clean(h.receiver.etin)}~"
            f"HL*1**20*1~{prv}"
            f"NM1*85*2*{clean(provider.name)}*****XX*{provider.npi}~{addr}REF*EI*{provider.ein}~"
        )
        return text, 8 + n_addr + (1 if prv else 0)

    def person(self, prefix: str, person: Person, tail: str) -> tuple[str, int]:
        """NM1 (``prefix`` + name + ``tail``), N3/N4 when there is an address, DMG when there is a birth date."""
        a = person.address
        last, first, middle = person.last_name, person.first_name, person.middle_name
        if a is None:
            raw = f"{last}\x00{first}\x00{middle}"
        else:
            raw = f"{last}\x00{first}\x00{middle}\x00{a.line1}\x00{a.line2}\x00{a.city}\x00{a.state}\x00{a.postal_code}"
        # one search over every free-text field (the common case has nothing to clean) instead of one per field
        if _FIELDS_NEED_CLEANING(raw) is None:
            nm1 = f"{prefix}{last}*{first}*{middle}{tail}"
            text = nm1 + "~" if tail else nm1.rstrip("*") + "~"
            if a is not None:
                line2 = f"*{a.line2}" if a.line2 else ""
                text += f"N3*{a.line1}{line2}~N4*{a.city}*{a.state}*{a.postal_code}~"
            text = text.upper()
        else:
            cl = clean
            nm1 = f"{prefix}{cl(last)}*{cl(first)}*{cl(middle)}{tail}"
            text = nm1 + "~" if tail else nm1.rstrip("*") + "~"
            if a is not None:
                line2 = f"*{cl(a.line2)}" if a.line2.strip() else ""
                text += f"N3*{cl(a.line1)}{line2}~N4*{cl(a.city)}*{cl(a.state)}*{cl(a.postal_code)}~"
        n = 1 if a is None else 3
        if person.birth_date is not None:
            text += f"DMG*D8*{self.d8(person.birth_date)}*{person.gender}~"
            n += 1
        return text, n

    def claim(self, claim: Claim, hl: int) -> tuple[str, int, int]:
        """Segments of one claim from its subscriber HL on; returns (text, segment count, next HL number)."""
        cl = clean
        sub = claim.subscriber
        dependent = claim.patient
        subscriber, n_sub = self.person("NM1*IL*1*", sub.person, f"***MI*{cl(sub.member_id)}")
        payer, n_payer = self.payer(claim.payer)
        if dependent is None:
            text = (
                f"HL*{hl}*1*22*0~SBR*{sub.payer_responsibility}*18*{cl(sub.group_number)}******"
                f"{sub.claim_filing_indicator}~{subscriber}{payer}"
            )
            n = 2 + n_sub + n_payer
            next_hl = hl + 1
        else:
            patient, n_pat = self.person("NM1*QC*1*", dependent.person, "")
            text = (
                f"HL*{hl}*1*22*1~SBR*{sub.payer_responsibility}**{cl(sub.group_number)}******"
                f"{sub.claim_filing_indicator}~{subscriber}{payer}HL*{hl + 1}*{hl}*23*0~PAT*{dependent.relationship}~"
                f"{patient}"
            )
            n = 4 + n_sub + n_payer + n_pat
            next_hl = hl + 2

        pos = claim.place_of_service
        text += (
            f"CLM*{cl(claim.patient_control_number)}*{self.amount(claim.total_charge)}***{pos}:B:"
            f"{claim.frequency_code}*Y*A*Y*Y~"
        )
        n += 1
        if claim.frequency_code != "1" and claim.payer_claim_number:
            text += f"REF*F8*{cl(claim.payer_claim_number)}~"
            n += 1
        if claim.prior_authorization:
            text += f"REF*G1*{cl(claim.prior_authorization)}~"
            n += 1
        dx = claim.diagnoses
        if dx:
            text += "HI*ABK:" + dx[0] + ("".join(["*ABF:" + d for d in dx[1:12]]) if len(dx) > 1 else "") + "~"
            n += 1
        rendering = claim.rendering
        if rendering.npi != claim.billing_provider.npi:
            seg, k = self.clinician("82", rendering)
            text += seg
            n += k
        if claim.supervising is not None:
            seg, k = self.clinician("DQ", claim.supervising)
            text += seg
            n += k
        other = claim.other_payer
        if other is not None:
            seg, k = self.other_payer(other)
            text += seg
            n += k

        dtp = f"~DTP*472*D8*{self.d8(claim.date_of_service)}~"
        amount = self.amount
        number = 0
        for line in claim.lines:
            number += 1
            mods = line.modifiers
            line_pos = line.place_of_service
            text += (
                f"LX*{number}~SV1*HC:{line.procedure_code}{(':' + ':'.join(mods)) if mods else ''}*"
                f"{amount(line.charge)}*UN*{line.units}*{line_pos if line_pos and line_pos != pos else ''}**"
                f"{':'.join(map(str, line.diagnosis_pointers))}{dtp}"
            )
            n += 3
            if other is not None and other.lines:
                text, n = self.line_adjudication(other, number, text, n)
        return text, n, next_hl

    def line_adjudication(self, other: OtherPayerAdjudication, number: int, text: str, n: int) -> tuple[str, int]:
        for adj in other.lines:
            if adj.line_number != number:
                continue
            amods = adj.modifiers
            cas, kc = _cas(adj.adjustments)
            text += (
                f"SVD*{clean(other.payer.payer_id)}*{self.amount(adj.paid)}*HC:{adj.procedure_code}"
                f"{(':' + ':'.join(amods)) if amods else ''}**{adj.units}~{cas}"
                f"DTP*573*D8*{self.d8(adj.adjudicated_on)}~"
            )
            n += 2 + kc
        return text, n

    def other_payer(self, other: OtherPayerAdjudication) -> tuple[str, int]:
        sub = other.subscriber
        cas, kc = _cas(other.claim_adjustments)
        text = (
            f"SBR*{sub.payer_responsibility}*{other.relationship}*{clean(sub.group_number)}******"
            f"{sub.claim_filing_indicator}~{cas}AMT*D*{_amount(other.paid)}~OI***Y*P**Y~"
            + _person_nm1("IL", sub.person, "MI", sub.member_id)
            + f"NM1*PR*2*{clean(other.payer.name)}*****PI*{clean(other.payer.payer_id)}~"
        )
        n = 5 + kc
        if not other.lines:
            # without line adjudications the claim-level adjudication date goes in 2330B
            text += f"DTP*573*D8*{_d8(other.adjudicated_on)}~"
            n += 1
        return text, n


def iter_837p(claims: Iterable[Claim], header: InterchangeHeader, chunk_claims: int = 256) -> Iterator[str]:
    """Stream one interchange (ISA..IEA) for claims of one payer, ``chunk_claims`` claims per chunk."""
    h = header
    if not 1 <= h.interchange_control_number <= 999_999_999:
        raise InvalidClaim("interchange_control_number must be 1-999999999")
    created = h.created
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*{h.sender_qualifier}*{clean(h.sender_id):<15.15}*{h.receiver_qualifier}*"
        f"{clean(h.receiver_id):<15.15}*{created:%y%m%d}*{created:%H%M}*{_REPETITION}*00501*"
        f"{h.interchange_control_number:09d}*{h.acknowledgment_requested}*{h.usage_indicator}*{_COMPONENT}~"
    )
    gs = (
        f"GS*HC*{clean(h.sender_id)}*{clean(h.receiver_id)}*{created:%Y%m%d}*{created:%H%M}*"
        f"{h.group_control_number}*X*{VERSION}~"
    )
    writer = _Writer(h)
    buffer: list[str] = [isa, gs]
    st_number = h.first_transaction_number
    transactions = 0
    provider: BillingProvider | None = None
    in_transaction = False
    count = 0  # segments of the open transaction, ST included
    hl = 2
    claims_in_tx = 0
    st = ""
    for claim in claims:
        if not in_transaction or claims_in_tx >= h.max_claims_per_transaction or (
            claim.billing_provider is not provider and claim.billing_provider != provider
        ):
            if in_transaction:
                buffer.append(f"SE*{count + 1}*{st}~")
                st_number += 1
            st = f"{st_number:04d}"
            provider = claim.billing_provider
            text, count = writer.transaction_header(st, provider)
            buffer.append(text)
            in_transaction = True
            transactions += 1
            hl = 2
            claims_in_tx = 0
        text, k, hl = writer.claim(claim, hl)
        buffer.append(text)
        count += k
        claims_in_tx += 1
        if len(buffer) >= chunk_claims:
            yield "".join(buffer)
            buffer.clear()
    if not in_transaction:
        raise InvalidClaim("an 837P batch needs at least one claim")
    buffer.append(
        f"SE*{count + 1}*{st}~GE*{transactions}*{h.group_control_number}~IEA*1*{h.interchange_control_number:09d}~"
    )
    yield "".join(buffer)


def iter_837p_bytes(claims: Iterable[Claim], header: InterchangeHeader) -> Iterator[bytes]:
    for chunk in iter_837p(claims, header):
        yield chunk.encode("ascii", "replace")


def write_837p(claims: Iterable[Claim], header: InterchangeHeader) -> str:
    return "".join(iter_837p(claims, header))
