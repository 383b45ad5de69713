"""Claim status (005010X212): the 276 we send and the 277 the sandbox answers with.

pyx12 4.0.0 cannot check either: it ships no 276 map for 005010X212, and its 277.5010.X212.xml is not
registered in maps.xml and is unfinished (wrapper loops out of position order, 2000C-2000E as flat siblings,
a wrapper with an empty repeat). So both are checked two other ways:
- against x12sdk's 005010X212 models (an independent implementation of the guide: loops, required
  segments, qualifiers), which refuse a file that breaks them;
- the 276 also against the rules of the implementation guide written out below (hierarchy, loops
  2000A-2200E and their required segments, envelope counts).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from claims.domain.model import Claim
from claims.edi.claim_status import StatusInquiry, answer_276, build_276, read_277
from rcm_shared.x12 import Segment, iter_segments

from .conftest import CHILD, SUBSCRIBER, claim, header


def x12sdk_models(text: str) -> list[Any]:
    """x12sdk's models of the transactions in ``text``; raises when the text breaks them."""
    from x12sdk.io import X12ModelReader

    with X12ModelReader(text) as reader:
        return list(reader.models())


def inquiries() -> list[StatusInquiry]:
    replaced = claim(claim_id="r", patient_control_number="PCN0003", frequency_code="7",
                     payer_claim_number="PAYER-9")
    dirty = claim(claim_id="d", patient_control_number="PCN0004", patient=replace(
        CHILD, person=replace(CHILD.person, first_name="sam*~")))
    # the subscriber's birth date is not asked for when the patient is a dependent
    parent_without_birth_date = claim(
        claim_id="n", patient_control_number="PCN0005", patient=CHILD,
        subscriber=replace(SUBSCRIBER, person=replace(SUBSCRIBER.person, birth_date=None)))
    claims: list[Claim] = [claim(), claim(claim_id="2", patient_control_number="PCN0002", patient=CHILD), replaced,
                           dirty, parent_without_birth_date]
    return [StatusInquiry.from_claim(c, f"TRACE{i}") for i, c in enumerate(claims, 1)]


# ---------------------------------------------------------------- 276 against the implementation guide

def _loops_276(segments: list[Segment]) -> list[tuple[str, list[Segment]]]:
    """(loop id, segments) in file order, by the HL level code that opens each loop."""
    level_loop = {"20": "2000A", "21": "2000B", "19": "2000C", "22": "2000D", "23": "2000E"}
    loops: list[tuple[str, list[Segment]]] = []
    for seg in segments:
        if seg.id == "HL":
            loops.append((level_loop.get(seg.get(3), "?"), [seg]))
        elif loops and seg.id not in ("SE", "GE", "IEA"):
            loops[-1][1].append(seg)
    return loops


def ig_276_violations(text: str) -> list[str]:
    """Rules of 005010X212 (276) that our request must keep; an empty list means none broken."""
    problems: list[str] = []
    segments = list(iter_segments(text))
    ids = [s.id for s in segments]
    isa, gs, st = segments[0], segments[1], segments[2]
    if (isa.id, gs.id, st.id) != ("ISA", "GS", "ST") or ids[-3:] != ["SE", "GE", "IEA"]:
        return ["envelope: ISA GS ST ... SE GE IEA"]
    se, ge, iea = segments[-3], segments[-2], segments[-1]
    if gs.get(1) != "HR" or gs.get(8) != "005010X212" or st.get(1) != "276" or st.get(3) != "005010X212":
        problems.append("GS01 HR, GS08 / ST03 005010X212, ST01 276")
    if se.get(1) != str(len(segments) - 4) or se.get(2) != st.get(2):
        problems.append("SE01 counts ST..SE, SE02 repeats ST02")
    if ge.get(1) != "1" or ge.get(2) != gs.get(6) or iea.get(2) != isa.get(13):
        problems.append("GE / IEA control numbers")
    bht = segments[3]
    if bht.id != "BHT" or (bht.get(1), bht.get(2)) != ("0010", "13") or not bht.get(3) or len(bht.get(4)) != 8:
        problems.append("BHT*0010*13 with a reference and a CCYYMMDD date")

    parent_level = {"2000A": None, "2000B": "2000A", "2000C": "2000B", "2000D": "2000C", "2000E": "2000D"}
    seen: dict[str, str] = {}  # HL id -> loop
    loops = _loops_276(segments)
    for index, (loop, segs) in enumerate(loops):
        hl = segs[0]
        where = f"HL*{hl.get(1)} ({loop})"
        if loop == "?":
            problems.append(f"{where}: HL03 must be 20, 21, 19, 22 or 23")
            continue
        if hl.get(1) != str(index + 1):
            problems.append(f"{where}: HL01 numbers HLs 1, 2, 3 ... in order")
        expected_parent = parent_level[loop]
        parent = hl.get(2)
        if expected_parent is None and parent:
            problems.append(f"{where}: 2000A has no parent")
        elif expected_parent is not None and seen.get(parent) != expected_parent:
            problems.append(f"{where}: parent must be a {expected_parent} HL")
        following = loops[index + 1][0] if index + 1 < len(loops) else None
        has_child = following is not None and parent_level[following] == loop
        if loop != "2000E" and hl.get(4) != ("1" if has_child else "0"):
            problems.append(f"{where}: HL04 says whether a child level follows")
        if loop in ("2000A", "2000B", "2000C") and not has_child:
            problems.append(f"{where}: a {loop} must have a child level")
        seen[hl.get(1)] = loop
        body = segs[1:]
        names = [s for s in body if s.id == "NM1"]
        rules = {"2000A": ("PR", "2", ("PI", "XV")), "2000B": ("41", "2", ("46",)), "2000C": ("1P", "2", ("XX",)),
                 "2000D": ("IL", "1", ("MI", "II")), "2000E": ("QC", "1", ())}
        entity, kind, qualifiers = rules[loop]
        if len(names) != 1 or names[0].get(1) != entity or names[0].get(2) != kind or not names[0].get(3):
            problems.append(f"{where}: one NM1*{entity}*{kind} with a name (21{loop[2:]})")
        elif qualifiers and (names[0].get(8) not in qualifiers or not names[0].get(9)):
            problems.append(f"{where}: NM108 {'/'.join(qualifiers)} with NM109")
        elif loop == "2000C" and not (len(names[0].get(9)) == 10 and names[0].get(9).isdigit()):
            problems.append(f"{where}: NM109 is a 10-digit NPI")
        position = {s.id: i for i, s in reversed(list(enumerate(body)))}
        patient_level = loop == "2000E" or (loop == "2000D" and hl.get(4) == "0")
        if patient_level and "DMG" not in position:
            problems.append(f"{where}: the patient's DMG (birth date, gender) is required")
        if "DMG" in position:
            if loop not in ("2000D", "2000E") or (loop == "2000D" and hl.get(4) == "1"):
                problems.append(f"{where}: DMG only for the patient (2000D without a dependent, or 2000E)")
            elif position["DMG"] > position.get("NM1", 0):
                problems.append(f"{where}: DMG belongs to the HL level, before the name")
        # 2200D / 2200E: the claim asked about, under the patient's level
        if patient_level != ("TRN" in position):
            problems.append(f"{where}: a claim (2200D/E) only, and always, at the patient's level")
        if "TRN" in position:
            claim_part = body[position["TRN"]:]
            trn = claim_part[0]
            if trn.get(1) != "1" or not trn.get(2):
                problems.append(f"{where}: TRN*1 with a trace number")
            order = [s.id for s in claim_part]
            if order != sorted(order, key=["TRN", "REF", "AMT", "DTP"].index):
                problems.append(f"{where}: 2200 order TRN, REF, AMT, DTP")
            refs = [s.get(1) for s in claim_part if s.id == "REF"]
            if "EJ" not in refs or any(r not in ("1K", "BLT", "EA", "EJ", "XZ", "D9", "6P", "BLT") for r in refs):
                problems.append(f"{where}: REF*EJ (patient control number), other REF qualifiers of the guide")
            amounts = [s for s in claim_part if s.id == "AMT"]
            if len(amounts) > 1 or (amounts and amounts[0].get(1) != "T3"):
                problems.append(f"{where}: at most one AMT, T3 (total charge)")
            dates = [s for s in claim_part if s.id == "DTP"]
            if len(dates) > 1 or (dates and (dates[0].get(1) != "472" or dates[0].get(2) not in ("D8", "RD8"))):
                problems.append(f"{where}: DTP*472 as D8 or RD8")
    if not loops or loops[0][0] != "2000A":
        problems.append("the first HL is 2000A")
    return problems


def test_276_follows_the_implementation_guide() -> None:
    text = build_276(inquiries(), header())
    assert ig_276_violations(text) == []


@pytest.mark.parametrize("breakage", [
    ("HL*4*3*22*", "HL*4*2*22*"),  # a subscriber under the receiver
    ("TRN*1*TRACE1~", "TRN*2*TRACE1~"),  # TRN01 of a request is 1
    ("REF*EJ*PCN0001~", "REF*ZZ*PCN0001~"),
    ("NM1*1P*2*CALM MINDS GROUP*****XX*1234567893~", "NM1*1P*2*CALM MINDS GROUP*****XX*12345~"),
    ("ST*276*0001*005010X212~", "ST*276*0001*005010X212~BHT*0010*08*X*20240306*1430~"),
    ("DMG*D8*20120708*M~", ""),  # the dependent's birth date
])
def test_the_guide_check_can_fail(breakage: tuple[str, str]) -> None:
    text = build_276(inquiries(), header())
    assert breakage[0] in text
    assert ig_276_violations(text.replace(breakage[0], breakage[1], 1))


def test_276_refuses_a_patient_without_birth_date() -> None:
    child = replace(CHILD, person=replace(CHILD.person, birth_date=None))
    with pytest.raises(ValueError, match="birth date"):
        build_276([StatusInquiry.from_claim(claim(patient=child), "T1")], header())


# ---------------------------------------------------------------- against x12sdk's 005010X212 models

def test_276_and_the_sandbox_277_match_x12sdk_models() -> None:
    request = build_276(inquiries(), header())
    response = answer_276(request, status_date=date(2024, 3, 20))
    assert [type(m).__name__ for m in x12sdk_models(request)] == ["HealthCareClaimsStatusRequest"]
    assert [type(m).__name__ for m in x12sdk_models(response)] == ["HealthCareClaimsStatusResponse"]


def test_x12sdk_check_can_fail() -> None:
    response = answer_276(build_276(inquiries()[:1], header()))
    # the patient's name at the subscriber level (what the sandbox used to answer) is not a 277
    broken = response.replace("NM1*IL*1*DOE*JANE****MI*W123456789~", "NM1*QC*1*DOE*JANE~")
    with pytest.raises(Exception, match="loop_2100d"):
        x12sdk_models(broken)


def test_sandbox_277_answers_every_claim_under_its_patient() -> None:
    asked = inquiries()
    answers = read_277(answer_276(build_276(asked, header()), status_date=date(2024, 3, 20)))
    assert [(a.trace_number, a.patient_control_number) for a in answers] == [
        (q.trace_number, q.patient_control_number) for q in asked]
    assert [a.payer_claim_number for a in answers][2] == "PAYER-9"
    assert {a.reason_codes for a in answers} == {("P1:20",)}
    segments = list(iter_segments(answer_276(build_276(asked, header()))))
    stc_dates = {s.get(2) for s in segments if s.id == "STC"}
    assert stc_dates == {header().created.strftime("%Y%m%d")}, "as of the day asked, never the machine's date"
    hls = [s.get(3) for s in segments if s.id == "HL"]
    assert hls == ["20", "21"] + [
        level for q in asked for level in (["19", "22", "23"] if q.patient else ["19", "22"])]
