"""Tokenize X12 interchanges using the delimiters the ISA segment declares.

ISA is fixed-width (106 characters): element separator at offset 3, repetition separator at 82 (ISA11),
component separator at 104 (ISA16) and the segment terminator at 105. Whatever the ISA declares wins;
nothing here assumes ``*``, ``:`` or ``~``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

ISA_LENGTH = 106


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


class X12SyntaxError(ValueError):
    """Input that is not well-formed X12: says where (segment ordinal, segment id, element position)."""

    def __init__(
        self, message: str, *, segment_number: int | None = None, segment_id: str | None = None,
        element: int | None = None,
    ) -> None:
        self.message = message
        self.segment_number = segment_number
        self.segment_id = segment_id
        self.element = element
        where = []
        if segment_number is not None:
            where.append(f"segment {segment_number}")
        if segment_id:
            where.append(segment_id)
        if element is not None:
            where.append(f"element {element:02d}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)

    def as_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "segment_number": self.segment_number,
            "segment_id": self.segment_id,
            "element": self.element,
        }


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: ``number`` is its 1-based ordinal in the interchange, ``elements[0]`` its id."""

    number: int
    elements: list[str]

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, index: int, default: str = "") -> str:
        return self.elements[index] if index < len(self.elements) else default


def detect_delimiters(text: str) -> Delimiters:
    """Read the delimiters from the ISA header; refuse anything that does not start like an interchange."""
    start = text.lstrip("\ufeff \r\n\t")
    if not start.startswith("ISA"):
        raise X12SyntaxError("interchange must start with an ISA segment", segment_number=1)
    if len(start) < ISA_LENGTH:
        raise X12SyntaxError("ISA segment is shorter than 106 characters", segment_number=1, segment_id="ISA")
    element = start[3]
    # X12 allows control characters (0x1C-0x1F) as delimiters; Python calls those whitespace, so name the
    # characters that are really refused.
    if element.isalnum() or element in " \r\n\t":
        raise X12SyntaxError("ISA declares an invalid element separator", segment_number=1, segment_id="ISA")
    if start.count(element, 0, ISA_LENGTH) != 16:
        raise X12SyntaxError(
            "ISA must have 16 elements of fixed width", segment_number=1, segment_id="ISA"
        )
    repetition = start[82]
    component = start[104]
    segment = start[105]
    if segment in (element, component) or component == element:
        raise X12SyntaxError("ISA declares clashing delimiters", segment_number=1, segment_id="ISA", element=16)
    return Delimiters(element=element, component=component, repetition=repetition, segment=segment)


def iter_segments(text: str) -> Iterator[Segment]:
    """Yield every segment of an interchange held in memory (line breaks after terminators are ignored)."""
    delimiters = detect_delimiters(text)
    text = text.lstrip("\ufeff \r\n\t")
    element = delimiters.element
    number = 0
    for raw in text.split(delimiters.segment):
        raw = raw.strip("\r\n\t ")
        if not raw:
            continue
        number += 1
        elements = raw.split(element)
        seg_id = elements[0]
        if not (2 <= len(seg_id) <= 3) or not seg_id.isalnum() or (not seg_id.isupper() and not seg_id.isdigit()):
            raise X12SyntaxError(f"invalid segment id {seg_id[:8]!r}", segment_number=number)
        yield Segment(number, elements)


def iter_segments_from_stream(chunks: Iterable[str]) -> Iterator[Segment]:
    """Stream segments from text chunks (a file read in pieces) with memory bounded by the largest segment."""
    buffer = ""
    delimiters: Delimiters | None = None
    number = 0
    for chunk in chunks:
        buffer += chunk
        if delimiters is None:
            if len(buffer.lstrip("\ufeff \r\n\t")) < ISA_LENGTH:
                continue
            buffer = buffer.lstrip("\ufeff \r\n\t")
            delimiters = detect_delimiters(buffer)
        parts = buffer.split(delimiters.segment)
        buffer = parts.pop()
        for raw in parts:
            raw = raw.strip("\r\n\t ")
            if raw:
                number += 1
                yield Segment(number, raw.split(delimiters.element))
    if delimiters is None:
        detect_delimiters(buffer)  # raises the precise reason
        return
    tail = buffer.strip("\r\n\t ")
    if tail:
        raise X12SyntaxError("file ends inside a segment (missing terminator)", segment_number=number + 1)
