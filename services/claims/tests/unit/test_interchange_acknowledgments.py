"""TA1 reader, how claims recognises a TA1 in the mailbox, and which upload refusals are for good."""

from __future__ import annotations

import pytest
from claims.adapters.clearinghouse import ours, refusal_status
from claims.edi.acknowledgments import TA1_NOTES, read_ta1
from hypothesis import given
from hypothesis import strategies as st
from rcm_shared.clearinghouse import MailboxUnavailable, is_interchange_acknowledgment
from rcm_shared.x12 import X12SyntaxError

ISA = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*RCMPLATFORM    *261130*0900*^*00501*000000777*0*T*:~"


def ta1(control: str = "000000042", status: str = "R", note: str = "024", isa: str = ISA) -> str:
    return f"{isa}TA1*{control}*261130*0915*{status}*{note}~IEA*0*000000777~"


def test_a_rejected_interchange_says_which_and_why() -> None:
    [answer] = read_ta1(ta1())
    assert (answer.interchange_control_number, answer.date, answer.time, answer.status) == (
        "000000042", "261130", "0915", "R")
    assert answer.rejected
    assert (answer.note_code, answer.note) == ("024", "Invalid interchange content (e.g. invalid GS segment)")
    assert answer.to_dict()["rejected"] is True


def test_accepted_and_accepted_with_errors_are_not_rejections() -> None:
    assert [a.rejected for a in read_ta1(ta1(status="A", note="000"))] == [False]
    [with_errors] = read_ta1(ta1(status="E", note="014"))
    assert not with_errors.rejected and with_errors.note == "Invalid interchange date value"


def test_an_unlisted_note_code_keeps_its_code_without_a_meaning() -> None:
    [answer] = read_ta1(ta1(note="099"))
    assert (answer.note_code, answer.note) == ("099", "")


def test_several_ta1s_in_one_interchange_and_other_delimiters() -> None:
    isa = ISA.replace("*", "|").replace("~", "\n").replace("|^|", "|^|").replace("|:\n", "|>\n")
    text = (f"{isa}TA1|000000001|261130|0915|A|000\nTA1|000000002|261130|0915|R|022\nIEA|0|000000777\n")
    answers = read_ta1(text)
    assert [(a.interchange_control_number, a.status, a.note_code) for a in answers] == [
        ("000000001", "A", "000"), ("000000002", "R", "022")]


@pytest.mark.parametrize("text", [
    ta1(status="X"),  # not A, E or R
    ta1(control="ABC"),  # no control number to match a batch on
    ISA + "IEA*0*000000777~",  # no TA1 at all
    "TA1*000000042*261130*0915*R*024~",  # no envelope
])
def test_malformed_ta1_raises_a_syntax_error(text: str) -> None:
    with pytest.raises(X12SyntaxError):
        read_ta1(text)


@given(control=st.integers(min_value=0, max_value=999_999_999), status=st.sampled_from("AER"),
       note=st.sampled_from(sorted(TA1_NOTES)))
def test_what_a_ta1_says_is_read_back(control: int, status: str, note: str) -> None:
    [answer] = read_ta1(ta1(f"{control:09d}", status, note))
    assert (int(answer.interchange_control_number), answer.status, answer.note_code) == (control, status, note)
    assert answer.note == TA1_NOTES[note] and answer.rejected == (status == "R")


def test_claims_takes_ta1s_from_the_mailbox_but_not_835s() -> None:
    assert is_interchange_acknowledgment(ta1().encode())
    assert ours("TA1_x.x12", ta1().encode())
    assert ours("TA1_bom.x12", b"\xef\xbb\xbf\r\n" + ta1().encode())
    remittance = (ISA + "GS*HP*CH*RCM*20261130*0900*1*X*005010X221A1~ST*835*0001~").encode()
    assert not is_interchange_acknowledgment(remittance) and not ours("835.x12", remittance)
    ack = (ISA + "GS*FA*CH*RCM*20261130*0900*1*X*005010X231A1~ST*999*0001~").encode()
    assert ours("999.x12", ack) and not is_interchange_acknowledgment(ack)
    assert not ours("report.txt", b"TA1*000000042*261130*0915*R*024~")
    assert not is_interchange_acknowledgment(ISA.encode())  # an envelope cut short after the ISA


@pytest.mark.parametrize(("message", "expected"), [
    ("clearinghouse answered 413", 413),
    ("clearinghouse answered 400", 400),
    ("clearinghouse answered 422", 422),
    ("clearinghouse answered 503", None),  # an outage: retried in order
    ("clearinghouse answered 429", None),
    ("clearinghouse answered 401", None),  # a bad key refuses every file: not this batch's fault
    ("clearinghouse answered 403", None),
    ("https upload failed: ConnectTimeout", None),
    ("sftp upload failed: TimeoutError", None),
])
def test_only_a_refusal_of_the_file_itself_is_permanent(message: str, expected: int | None) -> None:
    status = int(message.rsplit(" ", 1)[1]) if message.startswith("clearinghouse answered") else None
    assert refusal_status(MailboxUnavailable(message, status=status)) == expected
