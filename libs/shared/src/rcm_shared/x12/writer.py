"""Write X12 5010 interchanges: fixed-width ISA, GS/ST envelopes, SE/GE/IEA counts.

Values are checked, never silently cleaned: a value holding a delimiter would shift every element after it,
so it is refused with ``X12ValueError`` naming the segment and element (never the value, which may be PHI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
SEGMENT = "~"
_RESERVED = frozenset(ELEMENT + COMPONENT + REPETITION + SEGMENT + "\r\n")


class X12ValueError(ValueError):
    """A value cannot be written into an X12 element (delimiter inside, too long, empty where required)."""


def _clean(segment_id: str, position: int, value: str) -> str:
    if any(ch in _RESERVED for ch in value):
        raise X12ValueError(f"{segment_id}{position:02d} contains an X12 delimiter")
    return value.strip()


@dataclass(frozen=True, slots=True)
class Composite:
    """A composite element (components joined by the component separator, trailing empties dropped)."""

    parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Repeated:
    """A repeated element (values joined by the repetition separator), e.g. EB03 service types."""

    values: tuple[str, ...]


Element = str | Composite | Repeated


def _render(segment_id: str, position: int, value: Element) -> str:
    if isinstance(value, Composite):
        parts = [_clean(segment_id, position, c) for c in value.parts]
        while parts and parts[-1] == "":
            parts.pop()
        return COMPONENT.join(parts)
    if isinstance(value, Repeated):
        return REPETITION.join(_clean(segment_id, position, v) for v in value.values if v)
    return _clean(segment_id, position, value)


@dataclass
class TransactionWriter:
    """Collects the segments of one ST..SE transaction; ``segment()`` drops trailing empty elements."""

    transaction_set: str
    control_number: str
    implementation: str
    segments: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.segment("ST", self.transaction_set, self.control_number, self.implementation)

    def segment(self, segment_id: str, *elements: Element) -> None:
        values = [_render(segment_id, i + 1, e) for i, e in enumerate(elements)]
        while values and values[-1] == "":
            values.pop()
        self.segments.append(ELEMENT.join([segment_id, *values]))

    def close(self) -> list[str]:
        count = len(self.segments) + 1
        return [*self.segments, ELEMENT.join(["SE", str(count), self.control_number])]


def _fixed(value: str, width: int, segment_id: str = "ISA", position: int = 0) -> str:
    value = _clean(segment_id, position, value)
    if len(value) > width:
        raise X12ValueError(f"{segment_id}{position:02d} is longer than {width} characters")
    return value.ljust(width)


def envelope(
    transactions: list[list[str]], *, functional_id: str, version: str, parties: InterchangeParties,
    control: ControlNumbers,
) -> str:
    """Wrap closed transactions in GS/GE and ISA/IEA; returns the interchange with one segment per line."""
    if not 1 <= control.interchange <= 999_999_999 or not 1 <= control.group <= 999_999_999:
        raise X12ValueError("ISA13/GS06 control numbers must be 1..999999999")
    if parties.usage not in ("T", "P"):
        raise X12ValueError("ISA15 usage indicator must be T or P")
    created: datetime = control.created_at
    isa = ELEMENT.join([
        "ISA", "00", " " * 10, "00", " " * 10,
        _fixed(parties.sender_qualifier, 2, "ISA", 5), _fixed(parties.sender_id, 15, "ISA", 6),
        _fixed(parties.receiver_qualifier, 2, "ISA", 7), _fixed(parties.receiver_id, 15, "ISA", 8),
        created.strftime("%y%m%d"), created.strftime("%H%M"), REPETITION, "00501",
        f"{control.interchange:09d}", "0", parties.usage, COMPONENT,
    ])
    gs = ELEMENT.join([
        "GS", functional_id,
        _clean("GS", 2, parties.application_sender or parties.sender_id),
        _clean("GS", 3, parties.application_receiver or parties.receiver_id),
        created.strftime("%Y%m%d"), created.strftime("%H%M"), str(control.group), "X", version,
    ])
    body = [segment for transaction in transactions for segment in transaction]
    lines = [
        isa, gs, *body,
        ELEMENT.join(["GE", str(len(transactions)), str(control.group)]),
        ELEMENT.join(["IEA", "1", f"{control.interchange:09d}"]),
    ]
    return "".join(line + SEGMENT + "\n" for line in lines)
