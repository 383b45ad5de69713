"""X12 plumbing shared by every service that reads or writes X12: delimiters, segment tokenizing, errors.

Transaction-specific readers and writers (837P, 835, 270/271, 999, 277CA) live in the owning service's edi/;
the code lists they share (AAA reject reasons and follow-up actions) are in ``code_tables``, dates in ``dates``.
"""

from rcm_shared.x12.tokens import (
    Delimiters,
    Segment,
    X12SyntaxError,
    detect_delimiters,
    iter_segments,
    iter_segments_from_stream,
)

__all__ = [
    "Delimiters",
    "Segment",
    "X12SyntaxError",
    "detect_delimiters",
    "iter_segments",
    "iter_segments_from_stream",
]
