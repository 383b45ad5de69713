"""What text an 837P can carry: free text as X12 may hold it (no delimiters, upper case, ASCII). A rule the
scrubber needs (a name with no character an 837P can carry is held, NAME_NOT_REPRESENTABLE) and the writer applies."""

from __future__ import annotations

import re
import unicodedata

# delimiters and control characters become spaces (a tab or NUL inside a name would break the file too)
_STRIP = str.maketrans({**{chr(i): " " for i in range(32)}, "\x7f": " ", "*": " ", ":": " ", "^": " ", "~": " "})
# Anything outside printable ASCII minus the four delimiters (``|`` joins fields in the fast check below).
_UNSAFE = re.compile(r"[^ -)+-9;-\]_-}]").search


def clean(text: str) -> str:
    """Free text as X12 may carry it: no delimiters, upper case, trimmed (fast path: nothing to remove);
    letters with accents lose them (JOSÉ -> JOSE: the file is ASCII), other non-ASCII characters are dropped."""
    if _UNSAFE(text) is None and text[:1] != " " and text[-1:] != " ":
        return text.upper()
    text = text.upper()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.translate(_STRIP).strip()
