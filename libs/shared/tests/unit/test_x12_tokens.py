"""The X12 tokenizer: whatever delimiters the ISA declares, in memory or streamed in any chunk sizes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rcm_shared.x12 import (
    Delimiters,
    Segment,
    X12SyntaxError,
    detect_delimiters,
    iter_segments,
    iter_segments_from_stream,
)

# Delimiters real trading partners use, plus other punctuation: never letters, digits or blanks. (The
# reader also refuses the X12 control-character separators FS/GS/RS/US: Python counts them as blanks.)
DELIMITER_CHARS = "*~:^|!#$%&+<>?@`{}\\"
DATA_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -.,/()'\"=_;"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

ISA_FIELDS = ["00", "          ", "00", "          ", "ZZ", "SUBMITTER01    ", "ZZ", "RECEIVER01     ",
              "260315", "1253"]  # ISA01..ISA10; then ISA11 repetition, ISA12..ISA15, ISA16 component


def isa(d: Delimiters) -> str:
    elements = ["ISA", *ISA_FIELDS, d.repetition, "00501", "000000905", "1", "P", d.component]
    header = d.element.join(elements) + d.segment
    assert len(header) == 106
    return header


def interchange(d: Delimiters, segments: list[list[str]], newline: str = "") -> str:
    return isa(d) + newline + "".join(d.element.join(s) + d.segment + newline for s in segments)


def chunked(text: str, sizes: list[int]) -> Iterator[str]:
    position, turn = 0, 0
    while position < len(text):
        size = sizes[turn % len(sizes)]
        yield text[position:position + size]
        position += size
        turn += 1


@st.composite
def delimiters(draw: st.DrawFn) -> Delimiters:
    chars = draw(st.lists(st.sampled_from(DELIMITER_CHARS), min_size=4, max_size=4, unique=True))
    return Delimiters(element=chars[0], component=chars[1], repetition=chars[2], segment=chars[3])


segment_ids = st.text(UPPER_ALNUM, min_size=2, max_size=3).filter(lambda s: s.isupper() or s.isdigit())
# Data may hold spaces inside, but a segment's last element is never blank-padded (the reader trims).
element_data = st.text(DATA_CHARS, max_size=12)
segments = st.builds(
    lambda seg_id, elements, last: [seg_id, *elements, last.rstrip()],
    segment_ids, st.lists(element_data, max_size=8), element_data,
)


def test_default_interchange_reads_segment_by_segment() -> None:
    d = Delimiters()
    text = interchange(d, [["GS", "HP", "SENDER", "RECEIVER"], ["ST", "835", "0001"],
                           ["CLP", "PCN1", "1", "150.00", "100.00", "", "12"]], newline="\r\n")
    parsed = list(iter_segments(text))
    assert [s.id for s in parsed] == ["ISA", "GS", "ST", "CLP"]
    assert [s.number for s in parsed] == [1, 2, 3, 4]
    clp = parsed[3]
    assert clp.get(3) == "150.00"
    assert clp.get(5) == ""
    assert clp.get(40, "n/a") == "n/a"
    assert parsed[0].get(16) == ":"
    assert detect_delimiters("\ufeff\r\n" + text) == d


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(d=delimiters(), body=st.lists(segments, max_size=12), newline=st.sampled_from(["", "\n", "\r\n"]),
       sizes=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=10),
       bom=st.booleans())
def test_memory_and_stream_readers_agree_for_any_delimiters(
    d: Delimiters, body: list[list[str]], newline: str, sizes: list[int], bom: bool
) -> None:
    text = ("\ufeff" if bom else "") + interchange(d, body, newline)
    assert detect_delimiters(text) == d
    in_memory = list(iter_segments(text))
    streamed = list(iter_segments_from_stream(chunked(text, sizes)))
    assert in_memory == streamed
    assert in_memory[0].elements[0] == "ISA"
    assert [s.elements for s in in_memory[1:]] == body
    assert [s.number for s in in_memory] == list(range(1, len(body) + 2))


@settings(max_examples=200)
@given(st.text(max_size=400), st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=5))
def test_garbage_raises_only_x12_syntax_errors(text: str, sizes: list[int]) -> None:
    try:
        list(iter_segments(text))
    except X12SyntaxError as exc:
        assert exc.as_dict()["message"]
    try:
        list(iter_segments_from_stream(chunked(text, sizes)))
    except X12SyntaxError as exc:
        assert exc.as_dict()["message"]


@settings(max_examples=150)
@given(d=delimiters(), body=st.lists(segments, min_size=1, max_size=6), data=st.data())
def test_damaged_interchanges_raise_only_x12_syntax_errors(
    d: Delimiters, body: list[list[str]], data: st.DataObject
) -> None:
    text = interchange(d, body)
    start = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    end = data.draw(st.integers(min_value=start, max_value=min(len(text), start + 20)))
    damaged = text[:start] + data.draw(st.text(DELIMITER_CHARS + DATA_CHARS, max_size=5)) + text[end:]
    try:
        list(iter_segments(damaged))
    except X12SyntaxError:
        pass
    try:
        list(iter_segments_from_stream(chunked(damaged, [data.draw(st.integers(min_value=1, max_value=120))])))
    except X12SyntaxError:
        pass


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must start with an ISA"),
        ("GS*HP*X~", "must start with an ISA"),
        ("ISA*00*", "shorter than 106"),
        ("ISAA00*          *00*" + "x" * 100, "invalid element separator"),
        (isa(Delimiters()).replace("*", "|", 1), "16 elements"),
        (isa(Delimiters(component="*")), "16 elements"),
        (isa(Delimiters(segment=":")), "clashing"),
    ],
)
def test_bad_headers_say_why(text: str, message: str) -> None:
    with pytest.raises(X12SyntaxError, match=message) as caught:
        list(iter_segments(text))
    assert caught.value.segment_number == 1
    with pytest.raises(X12SyntaxError, match=message):
        list(iter_segments_from_stream([text]))


def test_errors_locate_the_segment_without_echoing_data() -> None:
    text = interchange(Delimiters(), [["ST", "835", "0001"], ["holloway", "MARGARET"]])
    with pytest.raises(X12SyntaxError) as caught:
        list(iter_segments(text))
    assert caught.value.segment_number == 3
    assert "MARGARET" not in str(caught.value)
    assert caught.value.as_dict() == {"message": caught.value.message, "segment_number": 3,
                                      "segment_id": None, "element": None}


def test_stream_refuses_a_truncated_final_segment() -> None:
    text = interchange(Delimiters(), [["ST", "835", "0001"]]) + "SE*2*00"
    with pytest.raises(X12SyntaxError, match="missing terminator") as caught:
        list(iter_segments_from_stream(chunked(text, [7])))
    assert caught.value.segment_number == 3


def test_segment_is_a_value() -> None:
    assert Segment(1, ["N1", "PR", "ACME"]) == Segment(1, ["N1", "PR", "ACME"])
    assert Segment(1, ["N1"]).get(1) == ""
