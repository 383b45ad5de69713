"""Streaming 835 (005010X221A1) reader with balancing, built for throughput.

Public API::

    iter_remittance(source, *, strict=False, chunk_size=1 << 20) -> Iterator[RemittanceRecord]
    read_remittances(source, *, strict=True) -> list[Remittance]

``source`` is the ERA as ``str`` / ``bytes``, a file object opened by the caller (``.read(n)``), or any
iterable of ``str`` / ``bytes`` chunks. Bytes are decoded as UTF-8 (undecodable bytes become U+FFFD, which
then fail X12 syntax checks instead of crashing). Memory stays flat: one chunk plus one claim at a time.

Per ST transaction the iterator yields a :class:`RemittanceHeader`, then each :class:`ClaimPayment` as soon
as the next CLP / LX / PLB / SE closes it, then a :class:`RemittanceSummary` with PLB and totals. Several
ISA, GS and ST envelopes per file are fine; every delimiter comes from the ISA.

Balancing (to the cent, mismatches reported as :class:`BalanceIssue`, never raised):

* line: SVC02 - SVC03 = sum of the line's CAS amounts (every line; no CAS means charge = paid);
* claim: CLP03 - CLP04 = sum of claim-level and line-level CAS amounts;
* transaction: BPR02 (negated when BPR03 = D) = sum CLP04 - sum PLB amounts.

Anything that is not a well-formed 835 raises :class:`rcm_shared.x12.X12SyntaxError` naming the segment
number, segment id and (when one is to blame) the element; loop-order and envelope problems raise its
subclass :class:`Remittance835Error`. No other exception type escapes for any input text.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Protocol

from rcm_shared.x12 import Delimiters, X12SyntaxError, detect_delimiters
from rcm_shared.x12.tokens import ISA_LENGTH

from remittance.domain.model import (
    ZERO,
    BalanceIssue,
    ClaimPayment,
    Contact,
    Party,
    ProviderAdjustment,
    RawLine,
    Remittance,
    Remittance835Error,
    RemittanceHeader,
    RemittanceRecord,
    RemittanceSummary,
    element,
    parse_date,
    required_amount,
)

ADJUSTMENT_GROUPS = frozenset({"CO", "PR", "OA", "PI"})
CLAIM_STATUSES = frozenset({"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"})
_LEADING_NOISE = "\ufeff \r\n\t"
_MAX_CAS_INDEX = 20  # CAS01 group + six (reason, amount, quantity) triples

# Where to look when a segment fails in the fast path: required elements, then numbers, then dates.
_REQUIRED: dict[str, tuple[int, ...]] = {
    "ISA": (6, 8, 13), "GS": (1, 6, 8), "ST": (1, 2), "SE": (1, 2), "GE": (1, 2), "IEA": (1, 2),
    "BPR": (1, 2, 3, 4), "TRN": (1, 2), "N1": (1, 2), "N3": (1,), "N4": (1,), "REF": (1, 2), "DTM": (1, 2),
    "PER": (1,), "LX": (1,), "CLP": (1, 2, 3, 4), "CAS": (1, 2, 3), "SVC": (1, 2, 3), "PLB": (1, 2, 3, 4),
    "CUR": (1, 2),
}
_NUMBERS: dict[str, tuple[int, ...]] = {
    "BPR": (2,), "CLP": (3, 4, 5), "SVC": (2, 3, 5, 7), "AMT": (2,), "QTY": (2,), "SE": (1,), "GE": (1,),
    "IEA": (1,), "CAS": (3, 4, 6, 7, 9, 10, 12, 13, 15, 16, 18, 19), "PLB": (4, 6, 8, 10, 12, 14),
}
_DATES: dict[str, tuple[int, ...]] = {"BPR": (16,), "DTM": (2,), "PLB": (2,)}


class _Readable(Protocol):
    def read(self, size: int, /) -> str | bytes: ...


Source = str | bytes | bytearray | memoryview | _Readable | Iterable[str | bytes]


def _text_chunks(source: Source, chunk_size: int) -> Iterator[str]:
    """Turn whatever the caller holds into text chunks of about ``chunk_size`` characters."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    if isinstance(source, str):
        for start in range(0, len(source), chunk_size):
            yield source[start:start + chunk_size]
        return
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for start in range(0, len(data), chunk_size):
            yield decoder.decode(data[start:start + chunk_size])
        yield decoder.decode(b"", final=True)
        return
    if hasattr(source, "read"):
        read = source.read
        while True:
            block = read(chunk_size)
            if not block:
                break
            yield block if isinstance(block, str) else decoder.decode(block)
        yield decoder.decode(b"", final=True)
        return
    for block in source:
        yield block if isinstance(block, str) else decoder.decode(block)
    yield decoder.decode(b"", final=True)


def _valid_segment_id(seg_id: str) -> bool:
    return 2 <= len(seg_id) <= 3 and seg_id.isascii() and seg_id.isalnum() and seg_id.upper() == seg_id


class _EraReader:
    """One pass over one file; state lives here for the rare segments, in locals for the hot ones."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.delimiters = Delimiters()
        # envelope
        self.in_interchange = False
        self.isa_control = ""
        self.sender_id = ""
        self.receiver_id = ""
        self.group_count = 0
        self.in_group = False
        self.gs_control = ""
        self.version = ""
        self.group_transactions = 0
        # transaction
        self.in_transaction = False
        self.st_number = 0
        self.header: RemittanceHeader | None = None
        self.header_pending = False
        self.seen_bpr = False
        self.seen_trn = False
        self.party: Party | None = None
        self.after_plb = False
        self.st_control = ""
        self.unterminated_tail = False
        self.reset_totals()
        self.handlers: dict[str, Callable[[list[str], int], list[RemittanceRecord] | None]] = {
            "ISA": self.on_isa, "GS": self.on_gs, "ST": self.on_st, "BPR": self.on_bpr, "TRN": self.on_trn,
            "CUR": self.on_cur, "REF": self.on_header_ref, "DTM": self.on_header_dtm, "N1": self.on_n1,
            "N2": self.on_party_detail, "N3": self.on_n3, "N4": self.on_n4, "PER": self.on_per,
            "RDM": self.on_party_detail, "LX": self.on_lx, "TS3": self.on_lx_detail, "TS2": self.on_lx_detail,
            "PLB": self.on_plb, "SE": self.on_se, "GE": self.on_ge, "IEA": self.on_iea,
        }

    def reset_totals(self) -> None:
        self.claim_ordinal = 0
        self.header_number = ""
        self.claim_count = 0
        self.line_count = 0
        self.total_charge = ZERO
        self.total_claim_paid = ZERO
        self.plb: list[ProviderAdjustment] = []
        self.plb_total = ZERO
        self.issues: list[BalanceIssue] = []

    # ------------------------------------------------------------------ tokenizing
    def segment_batches(self, chunks: Iterable[str]) -> Iterator[list[str]]:
        """Lists of raw segments (terminator removed; CR/LF dropped unless one of them is the terminator)."""
        buffer = ""
        started = False
        terminator = "~"
        drop: tuple[str, ...] = ()
        for chunk in chunks:
            if not started:
                buffer += chunk
                stripped = buffer.lstrip(_LEADING_NOISE)
                if len(stripped) < ISA_LENGTH:
                    continue
                self.delimiters = detect_delimiters(stripped)
                terminator = self.delimiters.segment
                drop = tuple(c for c in "\r\n" if c != terminator)
                started = True
                text = stripped
            else:
                text = buffer + chunk
            for noise in drop:
                if noise in text:
                    text = text.replace(noise, "")
            parts = text.split(terminator)
            buffer = parts.pop()
            yield parts
        if not started:
            detect_delimiters(buffer)  # raises the precise reason
            raise X12SyntaxError("interchange is incomplete", segment_number=1, segment_id="ISA")
        self.unterminated_tail = bool(buffer.strip(" \t\r\n"))

    # ------------------------------------------------------------------ main loop
    def records(self, chunks: Iterable[str]) -> Iterator[RemittanceRecord]:
        """The hot loop: the frequent segments are handled inline, the rest through ``self.handlers``."""
        number = 0
        claim: ClaimPayment | None = None
        line: RawLine | None = None  # the current service line, see model.RawLine
        lines: list[RawLine] = []
        claim_charge = claim_paid = claim_adjusted = ZERO
        decimal = Decimal
        groups = ADJUSTMENT_GROUPS
        statuses = CLAIM_STATUSES
        handlers = self.handlers
        for parts in self.segment_batches(chunks):
            d = self.delimiters
            sep = d.element
            svc_, cas_, clp_ = "SVC" + sep, "CAS" + sep, "CLP" + sep
            claim_extras = ("NM1" + sep, "DTM" + sep, "REF" + sep, "AMT" + sep)
            nm1_ = claim_extras[0]
            lq_ = "LQ" + sep
            if "" in parts:
                parts = [p for p in parts if p]
            for number, raw in enumerate(parts, number + 1):  # noqa: B020 - numbering continues across batches
                head = raw[:4]
                try:
                    if head == svc_:
                        if claim is None:
                            raise Remittance835Error("SVC outside a claim payment", segment_number=number,
                                                     segment_id="SVC")
                        line = [number, raw.split(sep), None, None, ZERO]
                        lines.append(line)
                    elif head == cas_:
                        el = raw.split(sep)
                        if el[1] not in groups:
                            raise X12SyntaxError("unknown adjustment group code", segment_number=number,
                                                 segment_id="CAS", element=1)
                        total = decimal(el[3])
                        for i in range(5, min(len(el), _MAX_CAS_INDEX), 3):
                            if el[i]:
                                total += decimal(el[i + 1])
                        if line is not None:
                            if line[2] is None:
                                line[2] = [(number, el)]
                            else:
                                line[2].append((number, el))
                            line[4] += total
                        elif claim is not None:
                            if claim._cas is None:
                                claim._cas = [(number, el)]
                            else:
                                claim._cas.append((number, el))
                            claim.adjustment_total += total
                        else:
                            raise Remittance835Error("CAS outside a claim payment", segment_number=number,
                                                     segment_id="CAS")
                        claim_adjusted += total
                    elif head == clp_:
                        if claim is not None:
                            self.finish_claim(claim, claim_charge, claim_paid, claim_adjusted)
                            yield claim
                        el = raw.split(sep)
                        if self.header_pending:
                            yield self.emit_header(number)
                        if not self.in_transaction or self.after_plb:
                            raise Remittance835Error("CLP outside the detail of a transaction",
                                                     segment_number=number, segment_id="CLP")
                        if not el[1]:
                            raise X12SyntaxError("required element missing", segment_number=number,
                                                 segment_id="CLP", element=1)
                        if el[2] not in statuses:
                            raise X12SyntaxError("unknown claim status code", segment_number=number,
                                                 segment_id="CLP", element=2)
                        claim_charge = decimal(el[3])
                        claim_paid = decimal(el[4])
                        claim_adjusted = ZERO
                        self.claim_ordinal += 1
                        claim = ClaimPayment(self.st_control, self.claim_ordinal, self.header_number, number, el, d)
                        lines = claim._raw_lines
                        line = None
                    elif head in claim_extras and claim is not None:
                        if line is None or head == nm1_:
                            if claim._extra is None:
                                claim._extra = [(number, raw)]
                            else:
                                claim._extra.append((number, raw))
                        elif line[3] is None:
                            line[3] = [(number, raw)]
                        else:
                            line[3].append((number, raw))
                    elif raw[:3] == lq_:
                        if line is None:
                            raise Remittance835Error("LQ outside a service line", segment_number=number,
                                                     segment_id="LQ")
                        if line[3] is None:
                            line[3] = [(number, raw)]
                        else:
                            line[3].append((number, raw))
                    else:
                        el = raw.split(sep)
                        seg_id = el[0]
                        handler = handlers.get(seg_id)
                        if claim is not None:
                            if handler is None:
                                # MIA, MOA, QTY, PER and other situational claim segments: kept for lazy reads
                                if line is None or seg_id != "QTY":
                                    if claim._extra is None:
                                        claim._extra = [(number, raw)]
                                    else:
                                        claim._extra.append((number, raw))
                                elif line[3] is None:
                                    line[3] = [(number, raw)]
                                else:
                                    line[3].append((number, raw))
                                continue
                            self.finish_claim(claim, claim_charge, claim_paid, claim_adjusted)
                            yield claim
                            claim = line = None
                        if handler is not None:
                            emitted = handler(el, number)
                            if emitted:
                                yield from emitted
                        elif not _valid_segment_id(seg_id):
                            raise X12SyntaxError(f"invalid segment id {seg_id[:8]!r}", segment_number=number)
                        elif not self.in_transaction:
                            raise Remittance835Error("segment outside a transaction", segment_number=number,
                                                     segment_id=seg_id)
                        # other well-formed segments (situational ones this service does not use) are skipped
                except X12SyntaxError:
                    raise
                except Exception as exc:  # any slip on garbage becomes a located syntax error
                    raise self.fault(number, raw) from exc
        if self.unterminated_tail:
            raise Remittance835Error("file ends inside a segment (missing terminator)", segment_number=number + 1)
        if claim is not None or self.in_transaction or self.in_group or self.in_interchange:
            raise Remittance835Error("file ends before the interchange is closed (missing SE/GE/IEA)",
                                     segment_number=number + 1)

    def fault(self, number: int, raw: str) -> X12SyntaxError:
        """Name the element that made the fast path fail."""
        el = raw.split(self.delimiters.element)
        seg_id = el[0]
        for index in _REQUIRED.get(seg_id, ()):
            if index >= len(el) or not el[index]:
                return X12SyntaxError("required element missing", segment_number=number, segment_id=seg_id,
                                      element=index)
        for index in _NUMBERS.get(seg_id, ()):
            if index < len(el) and el[index]:
                try:
                    if decimal_is_finite(el[index]):
                        continue
                except (InvalidOperation, ValueError):
                    pass
                return X12SyntaxError("not a decimal number", segment_number=number, segment_id=seg_id,
                                      element=index)
        if seg_id == "CAS":
            for index in range(2, min(len(el), _MAX_CAS_INDEX), 3):
                if el[index] and (index + 1 >= len(el) or not el[index + 1]):
                    return X12SyntaxError("adjustment reason without amount", segment_number=number,
                                          segment_id=seg_id, element=index + 1)
        for index in _DATES.get(seg_id, ()):
            try:
                parse_date(el, index, number)
            except X12SyntaxError as exc:
                return exc
        return X12SyntaxError("malformed segment", segment_number=number, segment_id=seg_id[:8])

    # ------------------------------------------------------------------ claims and balancing
    def finish_claim(self, claim: ClaimPayment, charge: Decimal, paid: Decimal, adjusted: Decimal) -> None:
        expected = charge - paid
        if not (expected + adjusted).is_finite():
            raise X12SyntaxError("claim amounts are not finite numbers", segment_number=claim.number,
                                 segment_id="CLP")
        control = self.st_control
        issues = claim.balance_issues
        if expected != adjusted:
            issues.append(BalanceIssue("claim", control, claim.ordinal, claim._clp[1], None, expected, adjusted))
        decimal = Decimal
        try:
            ordinal = 0
            for line in claim._raw_lines:
                ordinal += 1
                svc = line[1]
                if line[2] is None and svc[2] == svc[3]:
                    continue  # fast path: no adjustments and the same text for charge and paid
                line_expected = decimal(svc[2]) - decimal(svc[3])
                if not line_expected.is_finite():
                    raise ValueError(svc[2])
                if line_expected != line[4]:
                    issues.append(BalanceIssue("line", control, claim.ordinal, claim._clp[1], ordinal,
                                               line_expected, line[4]))
        except (IndexError, ArithmeticError, ValueError):
            for line in claim._raw_lines:  # find and name the culprit
                required_amount(line[1], 2, line[0])
                required_amount(line[1], 3, line[0])
            raise X12SyntaxError("malformed service line", segment_number=claim.number, segment_id="CLP") from None
        if issues:
            self.issues.extend(issues)
        self.claim_count += 1
        self.line_count += len(claim._raw_lines)
        self.total_charge += charge
        self.total_claim_paid += paid
        if self.strict:
            claim.materialize()

    def emit_header(self, number: int) -> RemittanceHeader:
        header = self.header
        if header is None or not self.seen_bpr:
            raise Remittance835Error("transaction has no BPR before its detail", segment_number=number,
                                     segment_id="BPR")
        if not self.seen_trn:
            raise Remittance835Error("transaction has no TRN before its detail", segment_number=number,
                                     segment_id="TRN")
        self.header_pending = False
        self.party = None
        return header

    # ------------------------------------------------------------------ envelope
    def on_isa(self, el: list[str], number: int) -> None:
        if self.in_interchange:
            raise Remittance835Error("ISA inside an open interchange", segment_number=number, segment_id="ISA")
        if len(el) != 17:
            raise X12SyntaxError("ISA must have 16 elements", segment_number=number, segment_id="ISA")
        if el[16] != self.delimiters.component:
            raise Remittance835Error("ISA16 does not match the declared component separator", segment_number=number,
                                     segment_id="ISA", element=16)
        self.in_interchange = True
        self.sender_id = el[6].strip()
        self.receiver_id = el[8].strip()
        self.isa_control = el[13].strip()
        self.group_count = 0

    def on_gs(self, el: list[str], number: int) -> None:
        if not self.in_interchange or self.in_group:
            raise Remittance835Error("GS outside an interchange or inside a group", segment_number=number,
                                     segment_id="GS")
        self.in_group = True
        self.gs_control = el[6]
        self.version = element(el, 8)
        self.group_transactions = 0
        self.group_count += 1

    def on_st(self, el: list[str], number: int) -> None:
        if not self.in_group or self.in_transaction:
            raise Remittance835Error("ST outside a functional group or inside a transaction",
                                     segment_number=number, segment_id="ST")
        if el[1] != "835":
            raise Remittance835Error("transaction set is not an 835", segment_number=number, segment_id="ST",
                                     element=1)
        if not el[2]:
            raise X12SyntaxError("required element missing", segment_number=number, segment_id="ST", element=2)
        self.in_transaction = True
        self.st_number = number
        self.st_control = el[2]
        self.group_transactions += 1
        self.header = RemittanceHeader(
            interchange_control_number=self.isa_control, sender_id=self.sender_id, receiver_id=self.receiver_id,
            group_control_number=self.gs_control, version=element(el, 3) or self.version,
            transaction_control_number=el[2], number=number, references={},
        )
        self.header_pending = True
        self.seen_bpr = self.seen_trn = False
        self.party = None
        self.after_plb = False
        self.reset_totals()

    def _header_segment(self, el: list[str], number: int) -> RemittanceHeader:
        if not self.in_transaction or not self.header_pending or self.header is None:
            raise Remittance835Error("header segment out of place", segment_number=number, segment_id=el[0])
        return self.header

    def on_bpr(self, el: list[str], number: int) -> None:
        header = self._header_segment(el, number)
        if self.seen_bpr or self.party is not None:
            raise Remittance835Error("BPR out of place", segment_number=number, segment_id="BPR")
        if el[3] not in ("C", "D"):
            raise X12SyntaxError("credit/debit flag must be C or D", segment_number=number, segment_id="BPR",
                                 element=3)
        header.handling_code = el[1]
        header.total_paid = required_amount(el, 2, number)
        header.credit_debit = el[3]
        header.payment_method = el[4]
        header.payment_format = element(el, 5)
        header.payment_date = parse_date(el, 16, number)
        self.seen_bpr = True

    def on_trn(self, el: list[str], number: int) -> None:
        header = self._header_segment(el, number)
        if not self.seen_bpr or self.seen_trn:
            raise Remittance835Error("TRN must follow BPR once", segment_number=number, segment_id="TRN")
        header.trace_type = el[1]
        header.trace_number = el[2]
        header.payer_identifier = element(el, 3)
        header.originating_company_supplemental = element(el, 4)
        self.seen_trn = True

    def on_cur(self, el: list[str], number: int) -> None:
        self._header_segment(el, number).currency = el[2]

    def on_header_ref(self, el: list[str], number: int) -> None:
        header = self._header_segment(el, number)
        if not el[1] or not el[2]:
            raise X12SyntaxError("required element missing", segment_number=number, segment_id="REF",
                                 element=1 if not el[1] else 2)
        if self.party is not None:
            self.party.references[el[1]] = el[2]
        elif header.references is not None:
            header.references[el[1]] = el[2]

    def on_header_dtm(self, el: list[str], number: int) -> None:
        header = self._header_segment(el, number)
        value = parse_date(el, 2, number)
        if value is None:
            raise X12SyntaxError("required date missing", segment_number=number, segment_id="DTM", element=2)
        if el[1] == "405":
            header.production_date = value

    def on_n1(self, el: list[str], number: int) -> None:
        header = self._header_segment(el, number)
        if not self.seen_trn:
            raise Remittance835Error("N1 before BPR/TRN", segment_number=number, segment_id="N1")
        party = Party(el[1], element(el, 2), element(el, 3), element(el, 4), [], "", "", "", "", {}, [])
        if el[1] == "PR":
            header.payer = party
        elif el[1] == "PE":
            header.payee = party
        self.party = party

    def _current_party(self, el: list[str], number: int) -> Party:
        self._header_segment(el, number)
        if self.party is None:
            raise Remittance835Error(f"{el[0]} outside an N1 loop", segment_number=number, segment_id=el[0])
        return self.party

    def on_party_detail(self, el: list[str], number: int) -> None:
        self._current_party(el, number)

    def on_n3(self, el: list[str], number: int) -> None:
        party = self._current_party(el, number)
        party.address_lines.extend(a for a in el[1:3] if a)

    def on_n4(self, el: list[str], number: int) -> None:
        party = self._current_party(el, number)
        party.city = el[1]
        party.state = element(el, 2)
        party.postal_code = element(el, 3)
        party.country = element(el, 4)

    def on_per(self, el: list[str], number: int) -> None:
        party = self._current_party(el, number)
        channels = tuple((el[i], element(el, i + 1)) for i in range(3, min(len(el), 9), 2) if el[i])
        party.contacts.append(Contact(el[1], element(el, 2), channels))

    def on_lx(self, el: list[str], number: int) -> list[RemittanceRecord] | None:
        emitted: list[RemittanceRecord] | None = None
        if self.header_pending:
            emitted = [self.emit_header(number)]
        if not self.in_transaction or self.after_plb:
            raise Remittance835Error("LX out of place", segment_number=number, segment_id="LX")
        if not el[1]:
            raise X12SyntaxError("required element missing", segment_number=number, segment_id="LX", element=1)
        self.header_number = el[1]
        return emitted

    def on_lx_detail(self, el: list[str], number: int) -> None:
        if not self.in_transaction or self.header_pending or self.after_plb or not self.header_number:
            raise Remittance835Error(f"{el[0]} outside an LX loop", segment_number=number, segment_id=el[0])

    def on_plb(self, el: list[str], number: int) -> list[RemittanceRecord] | None:
        emitted: list[RemittanceRecord] | None = None
        if self.header_pending:
            emitted = [self.emit_header(number)]
        if not self.in_transaction:
            raise Remittance835Error("PLB outside a transaction", segment_number=number, segment_id="PLB")
        self.after_plb = True
        provider = el[1]
        if not provider:
            raise X12SyntaxError("required element missing", segment_number=number, segment_id="PLB", element=1)
        period = parse_date(el, 2, number)
        component = self.delimiters.component
        pairs = 0
        for i in range(3, min(len(el), 15), 2):
            if not el[i]:
                continue
            reason, _, reference = el[i].partition(component)
            amount = required_amount(el, i + 1, number)
            self.plb.append(ProviderAdjustment(provider, period, reason, reference, amount))
            self.plb_total += amount
            pairs += 1
        if not pairs:
            raise X12SyntaxError("PLB without an adjustment", segment_number=number, segment_id="PLB", element=3)
        return emitted

    def on_se(self, el: list[str], number: int) -> list[RemittanceRecord]:
        if not self.in_transaction:
            raise Remittance835Error("SE without ST", segment_number=number, segment_id="SE")
        emitted: list[RemittanceRecord] = []
        if self.header_pending:
            emitted.append(self.emit_header(number))
        if el[1] != str(number - self.st_number + 1):
            raise Remittance835Error("SE01 does not match the number of segments", segment_number=number,
                                     segment_id="SE", element=1)
        if el[2] != self.st_control:
            raise Remittance835Error("SE02 does not match ST02", segment_number=number, segment_id="SE",
                                     element=2)
        header = self.header
        assert header is not None  # set by on_st
        issues = self.issues
        actual = self.total_claim_paid - self.plb_total
        if header.signed_total != actual:
            issues.append(BalanceIssue("transaction", self.st_control, None, None, None, header.signed_total,
                                       actual))
        emitted.append(RemittanceSummary(
            transaction_control_number=self.st_control, claim_count=self.claim_count, line_count=self.line_count,
            total_charge=self.total_charge, total_claim_paid=self.total_claim_paid, provider_adjustments=self.plb,
            provider_adjustment_total=self.plb_total, total_paid=header.total_paid, balance_issues=issues,
        ))
        self.in_transaction = False
        self.header = None
        self.reset_totals()
        return emitted

    def on_ge(self, el: list[str], number: int) -> None:
        if not self.in_group or self.in_transaction:
            raise Remittance835Error("GE out of place", segment_number=number, segment_id="GE")
        if el[1] != str(self.group_transactions):
            raise Remittance835Error("GE01 does not match the number of transactions", segment_number=number,
                                     segment_id="GE", element=1)
        if el[2] != self.gs_control:
            raise Remittance835Error("GE02 does not match GS06", segment_number=number, segment_id="GE", element=2)
        self.in_group = False

    def on_iea(self, el: list[str], number: int) -> None:
        if not self.in_interchange or self.in_group:
            raise Remittance835Error("IEA out of place", segment_number=number, segment_id="IEA")
        if el[1] != str(self.group_count):
            raise Remittance835Error("IEA01 does not match the number of groups", segment_number=number,
                                     segment_id="IEA", element=1)
        if el[2].strip() != self.isa_control:
            raise Remittance835Error("IEA02 does not match ISA13", segment_number=number, segment_id="IEA",
                                     element=2)
        self.in_interchange = False


def decimal_is_finite(text: str) -> bool:
    return Decimal(text).is_finite()


def iter_remittance(source: Source, *, strict: bool = False, chunk_size: int = 1 << 20) -> Iterator[RemittanceRecord]:
    """Stream an 835: header, claims, summary per ST transaction (see the module docstring).

    ``strict=True`` parses every field of each claim before yielding it, so malformed situational fields
    fail here rather than when first read.
    """
    reader = _EraReader(strict)
    return reader.records(_text_chunks(source, chunk_size))


def read_remittances(source: Source, *, strict: bool = True) -> list[Remittance]:
    """Read a whole (small) 835 into one :class:`Remittance` per ST transaction."""
    result: list[Remittance] = []
    header: RemittanceHeader | None = None
    claims: list[ClaimPayment] = []
    for record in iter_remittance(source, strict=strict):
        if isinstance(record, RemittanceHeader):
            header, claims = record, []
        elif isinstance(record, ClaimPayment):
            claims.append(record)
        else:
            assert header is not None  # the reader always yields the header first
            result.append(Remittance(header, claims, record))
    return result


__all__ = ["Source", "iter_remittance", "read_remittances"]
