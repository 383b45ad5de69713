"""A structural validator for 278 requests and responses (005010X217), because pyx12 4.0.0 ships only the
4010 278 maps. It checks what the implementation guide fixes about structure, not payer business edits:

- envelope: ISA/IEA, GS/GE (GS01=HI, GS08=005010X217), ST/SE (ST01=278, ST03=005010X217, SE01 = segments
  from ST to SE, SE02 = ST02), GE01 = transactions, GE02 = GS06, IEA01 = groups, IEA02 = ISA13;
- BHT: BHT01=0007, BHT02 13 (request) or 11 (response), BHT03 present, BHT04 a date, BHT05 a time;
- the HL tree: HL01 numbered 1, 2, 3 ... in order; HL02 empty on 20 and naming an earlier HL of the right
  parent level (21 under 20, 22 under 21, 23 under 22, EV under 22 or - when a dependent is present - 23, SS
  under EV); HL04 1 exactly when the level has children; one 2000A, one 2000B, one 2000C, at most one 2000D,
  one 2000E per patient (request; a response may stop early with AAA), any number of 2000F;
- per loop (2000A UMO, 2010A, 2000B requester, 2010B, 2000C subscriber, 2010C, 2000D dependent, 2010D, 2000E
  patient event, 2010E*, 2000F service, 2010F*): which segments may appear, in the guide's order, how often
  (HL, UM, HCR, HI, HSD and one of SV1/SV2/SV3 once; AAA at most 9; one DTP per qualifier), which are
  required (the NM1 of 2010A/B/C/D; TRN and UM in a requested 2000E, UM in a requested 2000F; in a response
  TRN in 2000E and HCR in every reviewed 2000E / 2000F unless that level - or one above it - carries an AAA);
  AAA and HCR only in responses;
- elements: NM101 entity codes per loop, NM102 1/2, NM108/NM109 together (required in 2010A/B/C), XX ids in a
  request pass the NPI check digit; TRN01 1 (request) / 1 or 2 (response) and TRN03 ten characters starting 1 or 9; UM01
  and UM02 codes, UM04 facility qualifier A/B; HCR01 action codes, HCR02 present for A1/A2/A6, HCR03 for A3/A6;
  AAA01 Y/N, AAA02 empty, AAA03 two characters, AAA04 a follow-up code; DTP qualifiers allowed per loop,
  D8/RD8 dates that exist and ranges that do not run backwards; HI composites ABK first then ABF, codes 3-7
  alphanumerics without the dot; HSD01 codes with a numeric HSD02; SV1 HC/IV/ZZ composite with UN/MJ units;
  DMG D8 dates; INS01 N with a numeric INS02.

Issues name where (segment number, id, loop, element), never the value: the values are PHI.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from authorizations.domain.review import npi_is_valid
from rcm_shared.x12 import Delimiters, Segment, X12SyntaxError, detect_delimiters, iter_segments
from rcm_shared.x12.dates import parse_d8

IMPLEMENTATION = "005010X217"

# The guide's segment order inside each loop (request and response together; AAA/HCR are response-only).
_EVENT = ("HL", "TRN", "AAA", "UM", "HCR", "REF", "DTP", "HI", "HSD", "CRC", "CL1", "CR1", "CR2", "CR4", "CR5",
          "CR6", "CR7", "CR8", "PWK", "MSG")
_SERVICE = ("HL", "TRN", "AAA", "UM", "HCR", "REF", "DTP", "SV1", "SV2", "SV3", "TOO", "HSD", "CRC", "CL1", "CR1",
            "CR2", "CR4", "CR5", "CR6", "CR7", "CR8", "PWK", "MSG")
_NAME = ("NM1", "REF", "N3", "N4", "PER", "AAA", "PRV", "DMG", "INS")
LOOP_SEGMENTS: dict[str, tuple[str, ...]] = {
    "2000A": ("HL", "AAA"), "2010A": ("NM1", "PER", "AAA"),
    "2000B": ("HL",), "2010B": ("NM1", "REF", "N3", "N4", "PER", "AAA", "PRV"),
    "2000C": ("HL",), "2010C": ("NM1", "REF", "N3", "N4", "AAA", "DMG", "INS"),
    "2000D": ("HL",), "2010D": ("NM1", "REF", "N3", "N4", "AAA", "DMG", "INS"),
    "2000E": _EVENT, "2010E": _NAME, "2000F": _SERVICE, "2010F": _NAME,
}
LEVEL_LOOP = {"20": "2000A", "21": "2000B", "22": "2000C", "23": "2000D", "EV": "2000E", "SS": "2000F"}
PARENT_LEVELS = {"20": (), "21": ("20",), "22": ("21",), "23": ("22",), "EV": ("22", "23"), "SS": ("EV",)}
ONCE = frozenset({"HL", "UM", "HCR", "HI", "HSD", "NM1", "DMG", "INS", "PRV", "N3", "N4", "CL1"})
NM1_ENTITIES: dict[str, frozenset[str]] = {
    "2010A": frozenset({"X3"}), "2010B": frozenset({"1P", "FA"}), "2010C": frozenset({"IL"}),
    "2010D": frozenset({"QC"}),
    "2010E": frozenset({"71", "72", "73", "77", "AAJ", "DD", "DK", "DN", "FA", "G3", "P3", "QB", "QV", "SJ",
                        "1P", "2B", "ABG", "PR", "X3", "45", "FS", "ND", "PW", "R3"}),
    "2010F": frozenset({"71", "72", "73", "77", "AAJ", "DD", "DK", "DN", "FA", "G3", "P3", "QB", "QV", "SJ",
                        "1P", "2B", "ABG", "PR", "X3"}),
}
NM108_REQUIRED = frozenset({"2010A", "2010B", "2010C"})
DTP_QUALIFIERS = {
    ("2000E", "request"): frozenset({"439", "484", "ABC", "431", "AAH", "435", "096"}),
    ("2000E", "response"): frozenset({"AAH", "435", "096", "102", "036", "007"}),
    ("2000F", "request"): frozenset({"472"}),
    ("2000F", "response"): frozenset({"472", "102", "036", "007"}),
}
UM01 = frozenset({"AR", "HS", "SC", "IN"})
UM02 = frozenset({"1", "2", "3", "4", "I", "R", "S"})
HCR01 = frozenset({"A1", "A2", "A3", "A4", "A6", "C", "CT", "NA"})
AAA04 = frozenset({"C", "N", "P", "R", "S", "W", "X", "Y"})
HSD01 = frozenset({"DY", "FL", "HS", "MN", "VS"})
HI_PRINCIPAL = frozenset({"ABK", "BK"})
HI_OTHER = frozenset({"ABF", "BF"})


@dataclass(frozen=True, slots=True)
class StructureIssue:
    segment_number: int
    segment_id: str
    loop: str
    message: str
    element: int | None = None

    def __str__(self) -> str:
        where = f"segment {self.segment_number} {self.segment_id}"
        where += f"{self.element:02d}" if self.element is not None else ""
        return f"{where} [{self.loop or '-'}]: {self.message}"


@dataclass
class _Level:
    hl_id: str
    level: str
    parent: str
    child_code: str
    segment: Segment
    children: list[str] = field(default_factory=list)


class _Checker:
    def __init__(self, delimiters: Delimiters) -> None:
        self.delimiters = delimiters
        self.issues: list[StructureIssue] = []
        self.purpose = ""

    def add(self, seg: Segment, loop: str, message: str, element: int | None = None) -> None:
        self.issues.append(StructureIssue(seg.number, seg.id, loop, message, element))

    def need(self, seg: Segment, loop: str, index: int, what: str) -> str:
        value = seg.get(index)
        if not value:
            self.add(seg, loop, f"{what} is required", index)
        return value


def _is_date(raw: str) -> bool:
    try:
        parse_d8(raw)
    except ValueError:
        return False
    return True


def _is_time(raw: str) -> bool:
    if len(raw) not in (4, 6, 7, 8) or not raw.isdigit():
        return False
    return int(raw[:2]) < 24 and int(raw[2:4]) < 60 and (len(raw) < 6 or int(raw[4:6]) < 60)


def validate_278(text: str) -> list[StructureIssue]:
    """Every structural issue of a 278 interchange; [] means it follows the 005010X217 structure."""
    try:
        delimiters = detect_delimiters(text)
        segments = list(iter_segments(text))
    except X12SyntaxError as exc:
        return [StructureIssue(exc.segment_number or 1, exc.segment_id or "", "", exc.message, exc.element)]
    checker = _Checker(delimiters)
    _envelope(checker, segments)
    start = 0
    while True:
        st = next((i for i in range(start, len(segments)) if segments[i].id == "ST"), None)
        if st is None:
            break
        se = next((i for i in range(st + 1, len(segments)) if segments[i].id in ("SE", "ST", "GE")), None)
        if se is None or segments[se].id != "SE":
            checker.add(segments[st], "", "transaction has no SE")
            break
        _transaction(checker, segments[st:se + 1])
        start = se + 1
    return checker.issues


def _envelope(c: _Checker, segments: list[Segment]) -> None:
    if not segments or segments[0].id != "ISA":
        return
    isa = segments[0]
    if segments[-1].id != "IEA":
        c.add(segments[-1], "", "interchange must end with IEA")
    else:
        iea = segments[-1]
        if iea.get(2) != isa.get(13):
            c.add(iea, "", "IEA02 must equal ISA13", 2)
        groups = sum(1 for s in segments if s.id == "GS")
        if iea.get(1) != str(groups):
            c.add(iea, "", "IEA01 must count the functional groups", 1)
    gs: Segment | None = None
    transactions = 0
    for seg in segments[1:]:
        if seg.id == "GS":
            gs, transactions = seg, 0
            if seg.get(1) != "HI":
                c.add(seg, "", "GS01 must be HI for a 278", 1)
            if seg.get(8) != IMPLEMENTATION:
                c.add(seg, "", f"GS08 must be {IMPLEMENTATION}", 8)
            if not _is_date(seg.get(4)):
                c.add(seg, "", "GS04 must be a CCYYMMDD date", 4)
        elif seg.id == "ST":
            transactions += 1
        elif seg.id == "GE":
            if gs is None:
                c.add(seg, "", "GE without GS")
                continue
            if seg.get(1) != str(transactions):
                c.add(seg, "", "GE01 must count the transactions of the group", 1)
            if seg.get(2) != gs.get(6):
                c.add(seg, "", "GE02 must equal GS06", 2)
            gs = None
    if gs is not None:
        c.add(gs, "", "GS has no GE")


def _transaction(c: _Checker, segments: list[Segment]) -> None:
    st, se = segments[0], segments[-1]
    if st.get(1) != "278":
        c.add(st, "", "ST01 must be 278", 1)
    if st.get(3) != IMPLEMENTATION:
        c.add(st, "", f"ST03 must be {IMPLEMENTATION}", 3)
    if not (4 <= len(st.get(2)) <= 9):
        c.add(st, "", "ST02 must be 4-9 characters", 2)
    if se.get(1) != str(len(segments)):
        c.add(se, "", "SE01 must count the segments from ST to SE", 1)
    if se.get(2) != st.get(2):
        c.add(se, "", "SE02 must equal ST02", 2)
    if len(segments) < 3 or segments[1].id != "BHT":
        c.add(st, "", "BHT must follow ST")
        return
    _bht(c, segments[1])
    body = segments[2:-1]
    if not body or body[0].id != "HL":
        c.add(segments[1], "", "the transaction needs its HL levels")
        return
    levels = _tree(c, body)
    _loops(c, body, levels)


def _bht(c: _Checker, bht: Segment) -> None:
    if bht.get(1) != "0007":
        c.add(bht, "", "BHT01 must be 0007", 1)
    c.purpose = {"13": "request", "11": "response"}.get(bht.get(2), "")
    if not c.purpose:
        c.add(bht, "", "BHT02 must be 13 (request) or 11 (response)", 2)
    if not (1 <= len(bht.get(3)) <= 50):
        c.add(bht, "", "BHT03 reference is required (1-50)", 3)
    if not _is_date(bht.get(4)):
        c.add(bht, "", "BHT04 must be a CCYYMMDD date", 4)
    if not _is_time(bht.get(5)):
        c.add(bht, "", "BHT05 must be a time HHMM[SS[D[D]]]", 5)


def _tree(c: _Checker, body: list[Segment]) -> dict[str, _Level]:
    levels: dict[str, _Level] = {}
    counts: Counter[str] = Counter()
    expected = 1
    for seg in body:
        if seg.id != "HL":
            continue
        counts[seg.get(3)] += 1
        hl_id, parent, code, child = seg.get(1), seg.get(2), seg.get(3), seg.get(4)
        loop = LEVEL_LOOP.get(code, "")
        if hl_id != str(expected):
            c.add(seg, loop, "HL01 must number the levels 1, 2, 3 ... in order", 1)
        expected += 1
        if code not in PARENT_LEVELS:
            c.add(seg, "", "HL03 is not a 278 level code (20, 21, 22, 23, EV, SS)", 3)
            continue
        if child not in ("0", "1"):
            c.add(seg, loop, "HL04 must be 0 or 1", 4)
        if code == "20":
            if parent:
                c.add(seg, loop, "HL02 must be empty on the UMO level", 2)
        elif parent not in levels:
            c.add(seg, loop, "HL02 must name an earlier HL", 2)
        elif levels[parent].level not in PARENT_LEVELS[code]:
            c.add(seg, loop, f"a {code} level cannot sit under a {levels[parent].level} level", 2)
        else:
            levels[parent].children.append(hl_id)
        levels[hl_id] = _Level(hl_id, code, parent, child, seg)
    first = body[0]
    for code, name in (("20", "2000A"), ("21", "2000B"), ("22", "2000C")):
        # A response may stop above the level an AAA refused (e.g. a UMO-level rejection has only 2000A).
        if counts[code] > 1 or (counts[code] == 0 and (code == "20" or c.purpose == "request")):
            c.add(first, name, f"exactly one {name} level is required")
    for level in levels.values():
        kinds = Counter(levels[ch].level for ch in level.children)
        if level.child_code == "1" and not level.children:
            c.add(level.segment, LEVEL_LOOP[level.level], "HL04 says children follow but none do", 4)
        if level.child_code == "0" and level.children:
            c.add(level.segment, LEVEL_LOOP[level.level], "HL04 says no children but some follow", 4)
        if level.level in ("20", "21") and sum(kinds.values()) > 1:
            c.add(level.segment, LEVEL_LOOP[level.level], "this level repeats only once under its parent")
        if level.level == "22":
            if kinds["23"] > 1 or (kinds["23"] and kinds["EV"]):
                c.add(level.segment, "2000C", "a dependent's event belongs under the 2000D level")
            if c.purpose == "request" and not (kinds["EV"] == 1 or kinds["23"] == 1):
                c.add(level.segment, "2000C", "a request needs one patient event (2000E)")
        if level.level == "23":
            if kinds["EV"] != 1 and c.purpose == "request":
                c.add(level.segment, "2000D", "a request needs one patient event (2000E) under the dependent")
            if kinds["EV"] > 1:
                c.add(level.segment, "2000D", "one patient event per patient")
    return levels


def _loops(c: _Checker, body: list[Segment], levels: dict[str, _Level]) -> None:
    """Walk the segments loop by loop: allowed ids, order, repeats, required segments, element checks."""
    groups: list[tuple[str, list[Segment], _Level | None]] = []
    current: _Level | None = None
    for seg in body:
        if seg.id == "HL":
            current = levels.get(seg.get(1))
            loop = LEVEL_LOOP.get(seg.get(3), "")
            groups.append((loop, [seg], current))
        elif seg.id == "NM1" and groups:
            parent = groups[-1][0]
            name_loop = "2010" + parent[-1] if parent.startswith("2000") else parent
            groups.append((name_loop, [seg], current))
        elif groups:
            groups[-1][1].append(seg)
    # An AAA anywhere in a level (its HL part or its name loops) says why that level - and everything under
    # it, or after a refusal above the event - was not reviewed.
    refused = {level.hl_id for _, segs, level in groups if level is not None and any(s.id == "AAA" for s in segs)}

    def excused(level: _Level | None) -> bool:
        seen: set[str] = set()
        while level is not None and level.hl_id not in seen:
            if level.hl_id in refused:
                return True
            seen.add(level.hl_id)
            level = levels.get(level.parent)
        return False

    rejected_above = False
    for loop, segs, level in groups:
        has_aaa = any(s.id == "AAA" for s in segs)
        _order(c, loop, segs)
        for seg in segs:
            _element_checks(c, loop, seg)
        if loop in ("2000E", "2000F"):
            _review_level(c, loop, segs, excused(level) or rejected_above)
        if loop in ("2000A", "2010A", "2010B", "2010C", "2010D") and has_aaa:
            rejected_above = True
        if loop in ("2000A", "2000B", "2000C", "2000D"):
            follows = next((g for g in groups if g[2] is level and g[0] == "2010" + loop[-1]), None)
            if follows is None:
                c.add(segs[0], loop, f"the {loop} level needs its 2010{loop[-1]} NM1")


def _order(c: _Checker, loop: str, segs: list[Segment]) -> None:
    allowed = LOOP_SEGMENTS.get(loop)
    if allowed is None:
        c.add(segs[0], loop, "segment outside any 278 loop")
        return
    position = -1
    seen: Counter[str] = Counter()
    dtp: Counter[str] = Counter()
    services = 0
    for seg in segs:
        if seg.id not in allowed:
            c.add(seg, loop, f"{seg.id} is not used in loop {loop}")
            continue
        if c.purpose == "request" and seg.id in ("AAA", "HCR"):
            c.add(seg, loop, f"{seg.id} belongs only in a 278 response")
        index = allowed.index(seg.id)
        if index < position:
            c.add(seg, loop, f"{seg.id} is out of the guide's order in loop {loop}")
        position = max(position, index)
        seen[seg.id] += 1
        if seg.id in ONCE and seen[seg.id] == 2:
            c.add(seg, loop, f"{seg.id} may appear once in loop {loop}")
        if seg.id == "AAA" and seen["AAA"] == 10:
            c.add(seg, loop, "AAA may repeat at most 9 times")
        if seg.id == "TRN" and seen["TRN"] == 4:
            c.add(seg, loop, "TRN may repeat at most 3 times")
        if seg.id == "DTP":
            dtp[seg.get(1)] += 1
            if dtp[seg.get(1)] == 2:
                c.add(seg, loop, "one DTP per date qualifier", 1)
        if seg.id in ("SV1", "SV2", "SV3"):
            services += 1
            if services == 2:
                c.add(seg, loop, "a service level carries one SV1, SV2 or SV3")


def _review_level(c: _Checker, loop: str, segs: list[Segment], rejected: bool) -> None:
    ids = Counter(s.id for s in segs)
    head = segs[0]
    if c.purpose == "request":
        if loop == "2000E" and ids["TRN"] == 0:
            c.add(head, loop, "a requested patient event needs its TRN")
        if ids["UM"] == 0:
            c.add(head, loop, "UM is required in a request")
        if loop == "2000F" and ids["SV1"] + ids["SV2"] + ids["SV3"] == 0:
            c.add(head, loop, "a requested service needs SV1, SV2 or SV3")
    elif c.purpose == "response":
        if loop == "2000E" and ids["TRN"] == 0:
            c.add(head, loop, "the response must echo the request's TRN")
        if ids["HCR"] == 0 and not rejected:
            c.add(head, loop, "a reviewed level needs HCR (or AAA saying why it was not reviewed)")


def _element_checks(c: _Checker, loop: str, seg: Segment) -> None:
    sid = seg.id
    component = c.delimiters.component
    if sid == "NM1":
        _nm1(c, loop, seg)
    elif sid == "TRN":
        allowed = ("1",) if c.purpose == "request" else ("1", "2")
        if seg.get(1) not in allowed:
            c.add(seg, loop, "TRN01 must be 1 (request) or 1/2 (response)", 1)
        c.need(seg, loop, 2, "TRN02 trace number")
        originator = seg.get(3)
        if len(originator) != 10 or originator[0] not in "19":
            c.add(seg, loop, "TRN03 must be 10 characters: 1 + EIN or 9 + an assigned id", 3)
    elif sid == "UM":
        if seg.get(1) not in UM01:
            c.add(seg, loop, "UM01 request category must be AR, HS, SC or IN", 1)
        if seg.get(2) not in UM02:
            c.add(seg, loop, "UM02 certification type is not an X217 code", 2)
        if seg.get(4):
            parts = seg.get(4).split(component)
            if len(parts) < 2 or parts[1] not in ("A", "B") or not parts[0]:
                c.add(seg, loop, "UM04 needs a facility code and qualifier A or B", 4)
    elif sid == "HCR":
        action = seg.get(1)
        if action not in HCR01:
            c.add(seg, loop, "HCR01 is not a review action code", 1)
        if action in ("A1", "A2", "A6") and not seg.get(2):
            c.add(seg, loop, "HCR02 certification number is required for a certification", 2)
        if action in ("A3", "A6") and not seg.get(3):
            c.add(seg, loop, "HCR03 decision reason is required when not certified or modified", 3)
    elif sid == "AAA":
        if seg.get(1) not in ("Y", "N"):
            c.add(seg, loop, "AAA01 must be Y or N", 1)
        if seg.get(2):
            c.add(seg, loop, "AAA02 is not used", 2)
        if len(seg.get(3)) != 2:
            c.add(seg, loop, "AAA03 reject reason must be a two-character code", 3)
        if seg.get(4) not in AAA04:
            c.add(seg, loop, "AAA04 is not a follow-up action code", 4)
    elif sid == "DTP":
        _dtp(c, loop, seg)
    elif sid == "HI":
        _hi(c, loop, seg)
    elif sid == "HSD":
        if seg.get(1) and (seg.get(1) not in HSD01 or not _is_number(seg.get(2))):
            c.add(seg, loop, "HSD01 quantity qualifier needs a numeric HSD02", 1)
    elif sid == "SV1":
        procedure = seg.get(1).split(component)
        if len(procedure) < 2 or procedure[0] not in ("HC", "IV", "ZZ") or not procedure[1]:
            c.add(seg, loop, "SV101 must be HC/IV/ZZ:code", 1)
        if seg.get(4) and (seg.get(3) not in ("UN", "MJ") or not _is_number(seg.get(4))):
            c.add(seg, loop, "SV103/SV104 must be UN or MJ with a count", 3)
    elif sid == "DMG":
        if seg.get(1) != "D8" or not _is_date(seg.get(2)):
            c.add(seg, loop, "DMG01/02 must be D8 and a date", 2)
        if seg.get(3) and seg.get(3) not in ("F", "M", "U"):
            c.add(seg, loop, "DMG03 gender must be F, M or U", 3)
    elif sid == "INS":
        if seg.get(1) != "N" or not seg.get(2).isdigit():
            c.add(seg, loop, "INS01 must be N with a numeric relationship in INS02", 2)
    elif sid == "REF":
        c.need(seg, loop, 1, "REF01 qualifier")
        c.need(seg, loop, 2, "REF02 reference")


def _is_number(raw: str) -> bool:
    try:
        return float(raw) >= 0
    except ValueError:
        return False


def _nm1(c: _Checker, loop: str, seg: Segment) -> None:
    family = loop[:5] if loop.startswith("2010E") or loop.startswith("2010F") else loop
    entities = NM1_ENTITIES.get(family)
    if entities is not None and seg.get(1) not in entities:
        c.add(seg, loop, f"NM101 entity code is not used in loop {loop}", 1)
    if seg.get(2) not in ("1", "2"):
        c.add(seg, loop, "NM102 must be 1 (person) or 2 (organization)", 2)
    if seg.get(2) == "1" and not seg.get(3):
        c.add(seg, loop, "NM103 last name is required for a person", 3)
    qualifier, identifier = seg.get(8), seg.get(9)
    if bool(qualifier) != bool(identifier):
        c.add(seg, loop, "NM108 and NM109 go together", 8)
    if family in NM108_REQUIRED and not identifier:
        c.add(seg, loop, "NM108/NM109 identification is required in this loop", 9)
    # Requests only: a response echoes what it was sent, and an AAA says when that NPI was the problem.
    if qualifier == "XX" and identifier and c.purpose == "request" and not npi_is_valid(identifier):
        c.add(seg, loop, "NM109 NPI fails its check digit", 9)


def _dtp(c: _Checker, loop: str, seg: Segment) -> None:
    allowed = DTP_QUALIFIERS.get((loop, c.purpose))
    if allowed is not None and seg.get(1) not in allowed:
        c.add(seg, loop, f"DTP01 qualifier is not used in loop {loop} of a {c.purpose}", 1)
    fmt, raw = seg.get(2), seg.get(3)
    if fmt == "D8":
        if not _is_date(raw):
            c.add(seg, loop, "DTP03 must be a CCYYMMDD date", 3)
    elif fmt == "RD8":
        start, sep, end = raw.partition("-")
        if not sep or not _is_date(start) or not _is_date(end):
            c.add(seg, loop, "DTP03 must be CCYYMMDD-CCYYMMDD", 3)
        elif parse_d8(end) < parse_d8(start):
            c.add(seg, loop, "DTP03 range ends before it starts", 3)
    else:
        c.add(seg, loop, "DTP02 must be D8 or RD8", 2)


def _hi(c: _Checker, loop: str, seg: Segment) -> None:
    elements = seg.elements[1:]
    if not elements or len(elements) > 12:
        c.add(seg, loop, "HI carries 1 to 12 diagnoses")
    for i, element in enumerate(elements, start=1):
        parts = element.split(c.delimiters.component)
        qualifier = parts[0] if parts else ""
        if (i == 1 and qualifier not in HI_PRINCIPAL) or (i > 1 and qualifier not in HI_OTHER):
            c.add(seg, loop, "HI starts with the principal (ABK) diagnosis, then others (ABF)", i)
        code = parts[1] if len(parts) > 1 else ""
        if not (3 <= len(code) <= 7) or not code.isalnum():
            c.add(seg, loop, "diagnosis codes are 3-7 alphanumerics without the dot", i)
