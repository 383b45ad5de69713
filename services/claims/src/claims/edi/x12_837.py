"""837P writer (005010X222A1): streams claims of one payer into one interchange.

``iter_837p(claims, header) -> Iterator[str]`` yields text chunks (memory stays flat however many claims);
``iter_837p_bytes`` the same as ASCII bytes, ``write_837p`` the whole text; ``Interchange837P(header)`` takes
the claims a page at a time (``add(page) -> str``, ``close() -> str``) for callers that read them in pages.
``split_by_payer`` groups claims into per-payer batches (one file each). Control numbers come from the
caller (``InterchangeHeader``).

One ST/SE transaction holds the claims of one billing provider, at most ``max_claims_per_transaction``
(the guide recommends 5,000); a new billing provider or a full transaction opens the next ST.

Speed matters (well over 50,000 claims a second on one core, secondary claims included), so the hot path is
written for CPython rather than for elegance:
- a claim's segments are a few f-strings over locals, with no function call per element;
- the free text of a claim (names, address, member id, group, control numbers) is checked in one pass over
  all the fields joined (``_free_text``); fields are cleaned one by one only when that pass finds a
  delimiter, a control character or a space at an edge, and upper-cased together when it finds lower case;
- what repeats across the claims of a batch is built once per interchange and cached: payer and
  other-payer loops, rendering / supervising providers, amounts (keyed by ``str(Decimal)``), dates,
  modifier and pointer lists;
- segments are not counted one by one: free text never holds the segment terminator, so SE01 is the
  number of ``~`` in the transaction.
Output is byte for byte what the straightforward writer produced before (checked on typical, secondary
and dirty-name batches), except that control characters in free text now become spaces, accented letters
lose their accents (the file is ASCII) and an empty member id no longer leaves an empty NM108/NM109 pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import islice

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
from claims.domain.x12_text import clean

VERSION = "005010X222A1"
# Delimiters the writer declares in ISA; free text is cleaned of them (and of the repetition separator).
_ELEMENT, _COMPONENT, _REPETITION, _TERMINATOR = "*", ":", "^", "~"
_ABF = "*ABF:"  # HI: principal diagnosis ABK, the others ABF (12 at most)
_CACHE_LIMIT = 4096  # entries per cache; amounts and dates repeat within a batch, keep memory bounded anyway


# Bytes a field may hold as it is: printable ASCII bar the delimiters and lower case (``|`` joins fields).
_PLAIN = bytes(c for c in range(0x20, 0x7F) if chr(c) not in "*:^~abcdefghijklmnopqrstuvwxyz")
_AS_IS, _UPPER, _CLEAN = 0, 1, 2


def _free_text(joined: str) -> int:
    """What the fields of ``|a|b|c|`` need before they go into X12: nothing (``_AS_IS``), upper case only
    (``_UPPER``) or cleaning field by field (``_CLEAN``: a delimiter, a control or non-ASCII character, a
    space at either end of a field). One pass over a claim's free text instead of one per field."""
    if not joined.isascii():
        return _CLEAN
    rest = joined.encode().translate(None, _PLAIN)  # what is left is lower case or needs cleaning
    if (rest and not rest.isalpha()) or (" " in joined and ("| " in joined or " |" in joined)):
        return _CLEAN
    return _UPPER if rest else _AS_IS


def _d8(day: date) -> str:
    return day.isoformat().replace("-", "")


def _amount(value: Decimal) -> str:
    # X12 R type: no exponent, no superfluous trailing zeros or point ("150", "150.5", "-12.34")
    text = str(value)
    if "E" in text:  # str() uses exponents for very large / small exponents only
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


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


def _address(address: Address | None) -> str:
    if address is None:
        return ""
    line2 = clean(address.line2)
    n3 = f"N3*{clean(address.line1)}*{line2}~" if line2 else f"N3*{clean(address.line1)}~"
    return f"{n3}N4*{clean(address.city)}*{clean(address.state)}*{clean(address.postal_code)}~"


class _Writer:
    """Caches of one interchange and the segments of one claim (``claim()``)."""

    def __init__(self, header: InterchangeHeader) -> None:
        self.header = header
        self._payers: dict[PayerRef, str] = {}
        self._other_payers: dict[PayerRef, tuple[str, str]] = {}
        self._rendering: dict[Clinician, str] = {}
        self._supervising: dict[Clinician, str] = {}
        self._amounts: dict[str, str] = {}
        self._dates: dict[date, str] = {}
        self._modifiers: dict[tuple[str, ...], str] = {}
        self._pointers: dict[tuple[int, ...], str] = {}
        # the last payer seen, by identity: claims built in one process share their payer object
        self._last_payer: PayerRef | None = None
        self._last_payer_text = ""
        self._last_other_payer: PayerRef | None = None
        self._last_other_payer_text = ("", "")
        self._last_rendering: Clinician | None = None
        self._last_rendering_text = ""
        # bound once: the hot path reads these attributes instead of building a bound method per call
        self._cached_amount = self._amounts.get
        self._new_amount = self.amount
        self._cached_date = self._dates.get
        self._new_date = self.d8

    # ------------------------------------------------------------------ cached pieces

    def amount(self, value: Decimal) -> str:
        key = str(value)
        text = self._amounts.get(key)
        if text is None:
            if len(self._amounts) >= _CACHE_LIMIT:
                self._amounts.clear()
            text = self._amounts[key] = _amount(value)
        return text

    def d8(self, day: date) -> str:
        text = self._dates.get(day)
        if text is None:
            if len(self._dates) >= _CACHE_LIMIT:
                self._dates.clear()
            text = self._dates[day] = _d8(day)
        return text

    def modifiers(self, mods: tuple[str, ...]) -> str:
        text = self._modifiers.get(mods)
        if text is None:
            if len(self._modifiers) >= _CACHE_LIMIT:
                self._modifiers.clear()
            text = self._modifiers[mods] = "".join(":" + m for m in mods)
        return text

    def pointers(self, pointers: tuple[int, ...]) -> str:
        text = self._pointers.get(pointers)
        if text is None:
            if len(self._pointers) >= _CACHE_LIMIT:
                self._pointers.clear()
            text = self._pointers[pointers] = ":".join(map(str, pointers))
        return text

    def payer(self, payer: PayerRef) -> str:
        """2010BB payer name (and address)."""
        if payer is self._last_payer:
            return self._last_payer_text
        text = self._payers.get(payer)
        if text is None:
            text = f"NM1*PR*2*{clean(payer.name)}*****PI*{clean(payer.payer_id)}~{_address(payer.address)}"
            self._payers[payer] = text
        self._last_payer, self._last_payer_text = payer, text
        return text

    def other_payer_ref(self, payer: PayerRef) -> tuple[str, str]:
        """2330B other payer name, and the payer id as SVD01 repeats it."""
        cached = self._other_payers.get(payer)
        if cached is None:
            payer_id = clean(payer.payer_id)
            cached = (f"NM1*PR*2*{clean(payer.name)}*****PI*{payer_id}~", payer_id)
            self._other_payers[payer] = cached
        return cached

    def rendering(self, clinician: Clinician) -> str:
        """2310B rendering provider (with its taxonomy)."""
        text = self._rendering.get(clinician)
        if text is None:
            text = (
                f"NM1*82*1*{clean(clinician.last_name)}*{clean(clinician.first_name)}****XX*{clinician.npi}~"
                + (f"PRV*PE*PXC*{clinician.taxonomy}~" if clinician.taxonomy else "")
            )
            self._rendering[clinician] = text
        self._last_rendering, self._last_rendering_text = clinician, text
        return text

    def supervising(self, clinician: Clinician) -> str:
        """2310D supervising provider."""
        text = self._supervising.get(clinician)
        if text is None:
            text = f"NM1*DQ*1*{clean(clinician.last_name)}*{clean(clinician.first_name)}****XX*{clinician.npi}~"
            self._supervising[clinician] = text
        return text

    def transaction_header(self, st: str, provider: BillingProvider) -> str:
        """ST through 2010AA (submitter, receiver, billing provider)."""
        h = self.header
        created = h.created
        sub = h.submitter
        prv = f"PRV*BI*PXC*{provider.taxonomy}~" if provider.taxonomy else ""
        return (
            f"ST*837*{st}*{VERSION}~"
            f"BHT*0019*00*{h.interchange_control_number}{st}*{created:%Y%m%d}*{created:%H%M}*CH~"
            f"NM1*41*2*{clean(sub.name)}*****46*{clean(sub.etin)}~"
            f"PER*IC*{clean(sub.contact_name)}*TE*{sub.contact_phone}~"
            f"NM1*40*2*{clean(h.receiver.name)}*****46*{clean(h.receiver.etin)}~"
            f"HL*1**20*1~{prv}"
            f"NM1*85*2*{clean(provider.name)}*****XX*{provider.npi}~{_address(provider.address)}"
            f"REF*EI*{provider.ein}~"
        )

    # ------------------------------------------------------------------ one claim

    def claim(self, claim: Claim, hl: int) -> str:
        """Segments of one claim from its subscriber HL on (2000B .. 2400)."""
        amounts_get, amount = self._cached_amount, self._new_amount
        dates_get, d8 = self._cached_date, self._new_date
        sub = claim.subscriber
        person = sub.person
        a = person.address
        pcn = claim.patient_control_number
        auth = claim.prior_authorization or ""
        replaced = (claim.payer_claim_number or "") if claim.frequency_code != "1" else ""
        last, first, middle, member, group = (
            person.last_name, person.first_name, person.middle_name, sub.member_id, sub.group_number)
        if a is None:
            line1 = line2 = city = state = postal = ""
        else:
            line1, line2, city, state, postal = a.line1, a.line2, a.city, a.state, a.postal_code
        joined = (f"|{last}|{first}|{middle}|{member}|{group}|{pcn}|{auth}|{replaced}|{line1}|{line2}|{city}|{state}|"
                  f"{postal}|")
        needs = _free_text(joined)
        if needs == _CLEAN:
            cl = clean
            last, first, middle, member, group = cl(last), cl(first), cl(middle), cl(member), cl(group)
            pcn, auth, replaced = cl(pcn), cl(auth), cl(replaced)
            line1, line2, city, state, postal = cl(line1), cl(line2), cl(city), cl(state), cl(postal)
        # 2000B subscriber, 2010BA subscriber name, 2010BB payer
        nm1 = (f"NM1*IL*1*{last}*{first}*{middle}***MI*{member}~" if member
               else f"NM1*IL*1*{last}*{first}*{middle}".rstrip("*") + "~")
        if a is not None:
            nm1 += f"N3*{line1}{f'*{line2}' if line2 else ''}~N4*{city}*{state}*{postal}~"
        born = person.birth_date
        if born is not None:
            nm1 += f"DMG*D8*{dates_get(born) or d8(born)}*{person.gender}~"
        payer = claim.payer
        payer_text = self._last_payer_text if payer is self._last_payer else self.payer(payer)
        dependent = claim.patient
        if dependent is None:
            text = (f"HL*{hl}*1*22*0~SBR*{sub.payer_responsibility}*18*{group}******{sub.claim_filing_indicator}~"
                    f"{nm1}{payer_text}")
        else:
            text = (f"HL*{hl}*1*22*1~SBR*{sub.payer_responsibility}**{group}******{sub.claim_filing_indicator}~"
                    f"{nm1}{payer_text}HL*{hl + 1}*{hl}*23*0~PAT*{dependent.relationship}~"
                    f"{self.patient(dependent.person)}")

        # 2300 claim, 2310B rendering, 2310D supervising, 2320-2330B other payer
        lines = claim.lines
        total = lines[0].charge if len(lines) == 1 else claim.total_charge
        pos = claim.place_of_service
        dx = claim.diagnoses
        text += (f"CLM*{pcn}*{amounts_get(str(total)) or amount(total)}***{pos}:B:{claim.frequency_code}*Y*A*Y*Y~"
                 f"{f'REF*F8*{replaced}~' if replaced else ''}{f'REF*G1*{auth}~' if auth else ''}"
                 f"{f'HI*ABK:{_ABF.join(dx[:12])}~' if dx else ''}")
        if needs == _UPPER:
            # lower case in the free text: one upper() over the segments that carry it (their codes are upper
            # case already) instead of one per field
            text = text.upper()
        rendering = claim.rendering_provider  # the providers credentialing decided, not always the visit's
        if rendering.npi != claim.billing_provider.npi:
            text += self._last_rendering_text if rendering is self._last_rendering else self.rendering(rendering)
        supervising = claim.supervising_provider
        if supervising is not None:
            text += self._supervising.get(supervising) or self.supervising(supervising)
        other = claim.other_payer
        adjudications: dict[int, str] | None = None
        if other is not None:
            cob, adjudications = self.other_payer(other)
            text += cob

        # 2400 service lines (2430 line adjudication after its line)
        dos = claim.date_of_service
        dtp = f"~DTP*472*D8*{dates_get(dos) or d8(dos)}~"
        modifiers, pointers = self._modifiers.get, self._pointers.get
        number = 0
        for line in lines:
            number += 1
            mods = line.modifiers
            ptrs = line.diagnosis_pointers
            charge = line.charge
            line_pos = line.place_of_service
            text += (
                f"LX*{number}~SV1*HC:{line.procedure_code}{(modifiers(mods) or self.modifiers(mods)) if mods else ''}*"
                f"{amounts_get(str(charge)) or amount(charge)}*UN*{line.units}*"
                f"{line_pos if line_pos and line_pos != pos else ''}**{pointers(ptrs) or self.pointers(ptrs)}{dtp}"
            )
            if adjudications is not None:
                text += adjudications.get(number, "")
        return text

    def patient(self, person: Person) -> str:
        """2010CA patient (when not the subscriber): NM1, N3/N4, DMG."""
        a = person.address
        last, first, middle = person.last_name, person.first_name, person.middle_name
        if a is None:
            line1 = line2 = city = state = postal = ""
        else:
            line1, line2, city, state, postal = a.line1, a.line2, a.city, a.state, a.postal_code
        joined = f"|{last}|{first}|{middle}|{line1}|{line2}|{city}|{state}|{postal}|"
        needs = _free_text(joined)
        if needs == _CLEAN:
            cl = clean
            last, first, middle = cl(last), cl(first), cl(middle)
            line1, line2, city, state, postal = cl(line1), cl(line2), cl(city), cl(state), cl(postal)
        text = f"NM1*QC*1*{last}*{first}*{middle}".rstrip("*") + "~"
        if a is not None:
            text += f"N3*{line1}{f'*{line2}' if line2 else ''}~N4*{city}*{state}*{postal}~"
        if person.birth_date is not None:
            text += f"DMG*D8*{self.d8(person.birth_date)}*{person.gender}~"
        return text.upper() if needs == _UPPER else text

    def cas(self, adjustments: tuple[Adjustment, ...]) -> str:
        """CAS segments: one per group (in order of first use), six reason triplets per segment."""
        amounts_get, amount = self._cached_amount, self._new_amount
        if len(adjustments) == 1:
            adj = adjustments[0]
            value, qty = adj.amount, adj.quantity
            return (f"CAS*{adj.group}*{adj.reason}*{amounts_get(str(value)) or amount(value)}"
                    f"{'' if qty is None else f'*{qty}'}~")
        if len(adjustments) == 2 and adjustments[0].group != adjustments[1].group:
            # the usual pair (CO 45 and PR 1/2/3): one segment each
            first, second = adjustments
            one, two, q1, q2 = first.amount, second.amount, first.quantity, second.quantity
            return (f"CAS*{first.group}*{first.reason}*{amounts_get(str(one)) or amount(one)}"
                    f"{'' if q1 is None else f'*{q1}'}~"
                    f"CAS*{second.group}*{second.reason}*{amounts_get(str(two)) or amount(two)}"
                    f"{'' if q2 is None else f'*{q2}'}~")
        # adjustments usually come grouped (CO 45, then PR 1, PR 2): one pass, a segment per run of a group
        text = ""
        group = ""
        started: list[str] = []
        in_segment = 0
        for adj in adjustments:
            value, qty = adj.amount, adj.quantity
            # a missing quantity inside a segment stays an empty element; the segment's last one is trimmed
            triplet = f"{adj.reason}*{amounts_get(str(value)) or amount(value)}*{'' if qty is None else qty}"
            if adj.group != group:
                if adj.group in started:
                    return self._cas_regrouped(adjustments)
                group = adj.group
                started.append(group)
                text = f"{text.rstrip('*')}~CAS*{group}*{triplet}" if text else f"CAS*{group}*{triplet}"
                in_segment = 1
            elif in_segment == 6:  # six triplets per CAS: the group goes on in another
                text = f"{text.rstrip('*')}~CAS*{group}*{triplet}"
                in_segment = 1
            else:
                text = f"{text}*{triplet}"
                in_segment += 1
        return text.rstrip("*") + "~"

    def _cas_regrouped(self, adjustments: tuple[Adjustment, ...]) -> str:
        """CAS for adjustments whose groups interleave (CO, PR, CO): grouped first, in order of first use."""
        by_group: dict[str, list[Adjustment]] = {}
        for adj in adjustments:
            by_group.setdefault(adj.group, []).append(adj)
        return self.cas(tuple(adj for items in by_group.values() for adj in items))

    def other_payer(self, other: OtherPayerAdjudication) -> tuple[str, dict[int, str] | None]:
        """2320 other subscriber information, 2330A other subscriber, 2330B other payer; and the 2430 line
        adjudications (SVD, CAS, DTP*573) by the number of the line they follow (None when there are none)."""
        amounts_get, amount = self._cached_amount, self._new_amount
        dates_get, d8 = self._cached_date, self._new_date
        sub = other.subscriber
        person = sub.person
        group, last, first, middle, member = (
            sub.group_number, person.last_name, person.first_name, person.middle_name, sub.member_id)
        joined = f"|{group}|{last}|{first}|{middle}|{member}|"
        needs = _free_text(joined)
        if needs == _CLEAN:
            cl = clean
            group, last, first, middle, member = cl(group), cl(last), cl(first), cl(middle), cl(member)
        nm1 = (f"NM1*IL*1*{last}*{first}*{middle}***MI*{member}~" if member
               else f"NM1*IL*1*{last}*{first}*{middle}".rstrip("*") + "~")
        if needs == _UPPER:
            nm1, group = nm1.upper(), group.upper()
        payer = other.payer
        if payer is self._last_other_payer:
            payer_nm1, payer_id = self._last_other_payer_text
        else:
            payer_nm1, payer_id = self._other_payers.get(payer) or self.other_payer_ref(payer)
            self._last_other_payer, self._last_other_payer_text = payer, (payer_nm1, payer_id)
        paid = other.paid
        text = (f"SBR*{sub.payer_responsibility}*{other.relationship}*{group}******{sub.claim_filing_indicator}~"
                f"{self.cas(other.claim_adjustments) if other.claim_adjustments else ''}"
                f"AMT*D*{amounts_get(str(paid)) or amount(paid)}~OI***Y*P**Y~{nm1}{payer_nm1}")
        if not other.lines:
            # without line adjudications the claim-level adjudication date goes in 2330B
            day = other.adjudicated_on
            return f"{text}DTP*573*D8*{dates_get(day) or d8(day)}~", None
        by_line: dict[int, str] = {}
        for adj in other.lines:
            mods = adj.modifiers
            line_paid, day = adj.paid, adj.adjudicated_on
            line_text = (
                f"SVD*{payer_id}*{amounts_get(str(line_paid)) or amount(line_paid)}*HC:{adj.procedure_code}"
                f"{(self._modifiers.get(mods) or self.modifiers(mods)) if mods else ''}**{adj.units}~"
                f"{self.cas(adj.adjustments) if adj.adjustments else ''}DTP*573*D8*{dates_get(day) or d8(day)}~"
            )
            number = adj.line_number
            by_line[number] = by_line[number] + line_text if number in by_line else line_text
        return text, by_line


def _interchange_header(h: InterchangeHeader) -> str:
    if not 1 <= h.interchange_control_number <= 999_999_999:
        raise InvalidClaim("interchange_control_number must be 1-999999999")
    created = h.created
    return (
        f"ISA*00*{'':10}*00*{'':10}*{h.sender_qualifier}*{clean(h.sender_id):<15.15}*{h.receiver_qualifier}*"
        f"{clean(h.receiver_id):<15.15}*{created:%y%m%d}*{created:%H%M}*{_REPETITION}*00501*"
        f"{h.interchange_control_number:09d}*{h.acknowledgment_requested}*{h.usage_indicator}*{_COMPONENT}~"
        f"GS*HC*{clean(h.sender_id)}*{clean(h.receiver_id)}*{created:%Y%m%d}*{created:%H%M}*"
        f"{h.group_control_number}*X*{VERSION}~"
    )


class Interchange837P:
    """One interchange (ISA..IEA) written piece by piece, for callers that get their claims in pages (the
    submission job reads them from the database a page at a time): ``add(claims)`` returns the text of those
    claims (the first call also the ISA / GS envelope), ``close()`` the rest (SE, GE, IEA). Only the caches
    of one interchange are kept between calls, never text or claims."""

    def __init__(self, header: InterchangeHeader) -> None:
        self.header = header
        self._opening = _interchange_header(header)  # checks the control number before anything is written
        self._writer = _Writer(header)
        self._st_number = header.first_transaction_number
        self._st = ""
        self._provider: BillingProvider | None = None
        self._count = 0  # segments of the open transaction, ST included
        self._hl = 2
        self._claims_in_tx = 0
        self.transactions = 0
        self.claim_count = 0

    def add(self, claims: Iterable[Claim]) -> str:
        writer = self._writer
        write_claim = writer.claim
        parts: list[str] = [self._opening]
        self._opening = ""
        max_claims = self.header.max_claims_per_transaction
        # the loop works on locals (the hot path), the state goes back to the instance at the end
        st_number, st, provider, count, hl = self._st_number, self._st, self._provider, self._count, self._hl
        claims_in_tx, transactions, added = self._claims_in_tx, self.transactions, 0
        for claim in claims:
            billing = claim.billing_provider
            if claims_in_tx >= max_claims or (billing is not provider and billing != provider):
                if transactions:
                    parts.append(f"SE*{count + 1}*{st}~")
                    st_number += 1
                st = f"{st_number:04d}"
                provider = billing
                text = writer.transaction_header(st, billing)
                parts.append(text)
                count = text.count(_TERMINATOR)
                transactions += 1
                hl = 2
                claims_in_tx = 0
            text = write_claim(claim, hl)
            parts.append(text)
            count += text.count(_TERMINATOR)
            hl += 1 if claim.patient is None else 2
            claims_in_tx += 1
            added += 1
        self._st_number, self._st, self._provider, self._count, self._hl = st_number, st, provider, count, hl
        self._claims_in_tx, self.transactions = claims_in_tx, transactions
        self.claim_count += added
        return "".join(parts)

    def close(self) -> str:
        if not self.transactions:
            raise InvalidClaim("an 837P batch needs at least one claim")
        h = self.header
        return (f"SE*{self._count + 1}*{self._st}~GE*{self.transactions}*{h.group_control_number}~"
                f"IEA*1*{h.interchange_control_number:09d}~")


def iter_837p(claims: Iterable[Claim], header: InterchangeHeader, chunk_claims: int = 256) -> Iterator[str]:
    """Stream one interchange (ISA..IEA) for claims of one payer, ``chunk_claims`` claims per chunk."""
    interchange = Interchange837P(header)
    source = iter(claims)
    while True:
        before = interchange.claim_count
        text = interchange.add(islice(source, chunk_claims))
        if interchange.claim_count - before < chunk_claims:  # the claims ran out
            yield text + interchange.close()
            return
        yield text


def iter_837p_bytes(
    claims: Iterable[Claim], header: InterchangeHeader, chunk_claims: int = 256,
) -> Iterator[bytes]:
    for chunk in iter_837p(claims, header, chunk_claims):
        yield chunk.encode("ascii", "replace")


def write_837p(claims: Iterable[Claim], header: InterchangeHeader) -> str:
    return "".join(iter_837p(claims, header))
