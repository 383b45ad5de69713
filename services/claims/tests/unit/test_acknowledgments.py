"""999 / 277CA readers, the sandbox 999, and the 276 builder / 277 reader on handmade files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from claims.edi.acknowledgments import build_999_for, read_277ca, read_999
from claims.edi.claim_status import StatusInquiry, build_276, read_277
from claims.edi.x12_837 import write_837p
from rcm_shared.testing.x12 import pyx12_errors
from rcm_shared.x12 import X12SyntaxError, iter_segments

from .conftest import CHILD, claim, header

ISA = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*RCMPLATFORM    *240307*0900*^*00501*000000555*0*T*:~"

def counted(text: str) -> str:
    """Fill SE01 (written as #) with the real ST..SE count, so handmade files stay consistent."""
    segments = text.split("~")
    st = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    return text.replace("SE*#*", f"SE*{se - st + 1}*")


ACK_999 = ISA + (
    "GS*FA*CLEARINGHOUSE*RCMPLATFORM*20240307*0900*555*X*005010X231A1~"
    "ST*999*0001*005010X231A1~"
    "AK1*HC*7*005010X222A1~"
    "AK2*837*0001*005010X222A1~IK5*A~"
    "AK2*837*0002*005010X222A1~"
    "IK3*NM1*24*2010BA*8~IK4*9*67*1~IK4*3**4~"
    "IK3*CLM*30**3~"
    "IK5*R*5~"
    "AK9*P*2*2*1~"
    "SE*12*0001~GE*1*555~IEA*1*000000555~"
)


def test_read_999() -> None:
    [group] = read_999(ACK_999)
    assert (group.group_control_number, group.status, group.accepted) == ("7", "P", True)
    first, second = group.transactions
    assert (first.transaction_control_number, first.accepted, first.errors) == ("0001", True, ())
    assert (second.transaction_control_number, second.accepted, second.reason_codes) == ("0002", False, ("5",))
    assert [(e.segment_id, e.element_position, e.element_error) for e in second.errors] == [
        ("NM1", "9", "1"), ("NM1", "3", "4"), ("CLM", "", ""),
    ]
    assert group.to_dict()["transactions"][1]["errors"][0]["loop"] == "2010BA"


def test_read_999_refuses_other_transactions() -> None:
    with pytest.raises(X12SyntaxError):
        read_999(ACK_999.replace("ST*999", "ST*997"))


def test_sandbox_999_accepts_our_837_and_is_pyx12_clean() -> None:
    text = write_837p([claim(), claim(claim_id="2", patient_control_number="P2", patient=CHILD)],
                      header(max_claims_per_transaction=1))
    ack = build_999_for(text)
    assert ack is not None
    [group] = read_999(ack)
    assert group.status == "A"
    assert [t.transaction_control_number for t in group.transactions] == ["0001", "0002"]
    assert pyx12_errors(ack, expect_ack=False) == []


def test_sandbox_999_rejects_a_wrong_segment_count() -> None:
    text = write_837p([claim()], header())
    se = next(s for s in iter_segments(text) if s.id == "SE")
    broken = text.replace(f"SE*{se.get(1)}*", f"SE*{int(se.get(1)) + 3}*")
    [group] = read_999(build_999_for(broken) or "")
    assert (group.status, group.transactions[0].accepted) == ("R", False)
    assert build_999_for("not x12") is None


ACK_277CA = counted(ISA + (
    "GS*HN*CLEARINGHOUSE*RCMPLATFORM*20240307*0900*556*X*005010X214~"
    "ST*277*0001*005010X214~BHT*0085*08*TRACE1*20240307*0900*TH~"
    "HL*1**20*1~NM1*AY*2*CLEARINGHOUSE INC*****46*CH0001~TRN*1*BATCH1~DTP*050*D8*20240307~DTP*009*D8*20240307~"
    "HL*2*1*21*1~NM1*41*2*CALM MINDS GROUP*****46*SUB123~TRN*2*000000101~STC*A1:19:PR*20240307*WQ*400~"
    "QTY*90*1~QTY*AA*1~AMT*YU*200~AMT*YY*200~"
    "HL*3*2*19*1~NM1*85*2*CALM MINDS GROUP*****XX*1234567893~TRN*1*PROV1~STC*A1:19:PR**WQ*200~"
    "HL*4*3*PT~NM1*QC*1*DOE*JANE****MI*W123456789~TRN*2*PCN0001~STC*A2:20:PR*20240307*WQ*200~"
    "REF*1K*PAYER-77~REF*D9*CHTRACE1~DTP*472*D8*20240304~"
    "HL*5*3*PT~NM1*QC*1*DOE*SAM****MI*W123456789~TRN*2*PCN0002~"
    "STC*A7:21:IL*20240307*U*200******A7:562:85~DTP*472*D8*20240304~"
    "SE*#*0001~GE*1*556~IEA*1*000000555~"
))


def test_read_277ca() -> None:
    accepted, rejected = read_277ca(ACK_277CA)
    assert (accepted.patient_control_number, accepted.accepted, accepted.payer_claim_number) == (
        "PCN0001", True, "PAYER-77")
    assert accepted.total_charge == Decimal("200")
    assert accepted.clearinghouse_trace == "CHTRACE1"
    assert (rejected.patient_control_number, rejected.accepted) == ("PCN0002", False)
    assert rejected.reason_codes == ("A7:21:IL", "A7:562:85")
    assert rejected.to_dict()["total_charge"] == "200"


def test_handmade_277ca_is_pyx12_clean() -> None:
    # the fixture itself must be a real 277CA, or the reader test proves little
    assert pyx12_errors(ACK_277CA, expect_ack=False) == []


def test_build_276_for_subscriber_and_dependent() -> None:
    c1 = claim()
    c1.payer_claim_number = "PAYER-77"
    c2 = claim(claim_id="2", patient_control_number="PCN0002", patient=CHILD)
    text = build_276([StatusInquiry.from_claim(c1, "T1"), StatusInquiry.from_claim(c2, "T2")], header())
    segments = list(iter_segments(text))
    ids = [s.id for s in segments]
    assert ids[:3] == ["ISA", "GS", "ST"]
    assert segments[1].get(1) == "HR" and segments[2].get(3) == "005010X212"
    se = segments[ids.index("SE")]
    assert int(se.get(1)) == ids.index("SE") - ids.index("ST") + 1
    hls = [(s.get(1), s.get(2), s.get(3)) for s in segments if s.id == "HL"]
    assert hls[:4] == [("1", "", "20"), ("2", "1", "21"), ("3", "2", "19"), ("4", "3", "22")]
    assert ("9", "8", "23") in hls
    refs = [(s.get(1), s.get(2)) for s in segments if s.id == "REF"]
    assert refs == [("1K", "PAYER-77"), ("EJ", "PCN0001"), ("EJ", "PCN0002")]
    assert any(s.id == "DTP" and s.get(3) == "20240304-20240304" for s in segments)
    assert any(s.id == "AMT" and s.get(2) == "200" for s in segments)


STATUS_277 = counted(ISA + (
    "GS*HN*PAYER*RCMPLATFORM*20240320*0900*900*X*005010X212~ST*277*0001*005010X212~"
    "BHT*0010*08*REF1*20240320*0900*DG~"
    "HL*1**20*1~NM1*PR*2*ACME COMMERCIAL HEALTH*****PI*ACME~"
    "HL*2*1*21*1~NM1*41*2*CALM MINDS GROUP*****46*SUB123~"
    "HL*3*2*19*1~NM1*1P*2*CALM MINDS GROUP*****XX*1234567893~"
    "HL*4*3*22*0~NM1*IL*1*DOE*JANE****MI*W123456789~TRN*2*T1~STC*F1:65*20240318**200*128~"
    "REF*1K*PAYER-77~REF*EJ*PCN0001~DTP*472*RD8*20240304-20240304~"
    "SVC*HC:90837*200*128~STC*F1:65*20240318~DTP*472*D8*20240304~"
    "HL*5*3*22*1~NM1*IL*1*DOE*JANE****MI*W123456789~HL*6*5*23~NM1*QC*1*DOE*SAM~TRN*2*T2~"
    "STC*F2:88*20240318**200*0~REF*EJ*PCN0002~DTP*472*D8*20240304~"
    "SE*#*0001~GE*1*900~IEA*1*000000555~"
))


def test_read_277_status() -> None:
    paid, denied = read_277(STATUS_277)
    assert (paid.trace_number, paid.patient_control_number, paid.payer_claim_number) == ("T1", "PCN0001", "PAYER-77")
    assert (paid.paid, paid.reason_codes) == (Decimal("128"), ("F1:65",))
    assert paid.service_lines[0]["procedure_code"] == "90837"
    assert (denied.trace_number, denied.patient_control_number, denied.reason_codes) == ("T2", "PCN0002", ("F2:88",))
    assert not denied.accepted
    assert date(2024, 3, 18).strftime("%Y%m%d") == paid.status_date


@pytest.mark.parametrize("amount", ["1e400", "NaN", "Infinity", "1,00", "12a"])
def test_an_unreadable_277ca_amount_is_a_syntax_error_naming_the_element(amount: str) -> None:
    # Found by the X12 fuzz drill: Decimal() raised InvalidOperation, which callers did not expect.
    text = ACK_277CA.replace("STC*A2:20:PR*20240307*WQ*200~", f"STC*A2:20:PR*20240307*WQ*{amount}~")
    with pytest.raises(X12SyntaxError) as caught:
        read_277ca(text)
    assert (caught.value.segment_id, caught.value.element) == ("STC", 4)
