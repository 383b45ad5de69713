"""Opaque cursors for list endpoints (keyset pagination on a stable sort key).

A cursor is read strictly: one the server did not write (not base64 JSON, other keys, a key of another
type) is a 400 naming ``query.cursor``, never silently read as "from the start".
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Depends, Query

from rcm_shared.http.errors import ProblemError

MAX_CURSOR_LENGTH = 512


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, keys: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """The values of a cursor this server wrote; with ``keys``, exactly those keys, each a string or a number."""
    if not cursor:  # absent or empty (``?cursor=``): the first page
        return None
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _bad_cursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"), parse_float=str)
    except (ValueError, UnicodeError, binascii.Error, RecursionError) as exc:  # RecursionError: nested JSON
        raise _bad_cursor() from exc
    if not isinstance(value, dict):
        raise _bad_cursor()
    if keys is not None:
        if set(value) != set(keys):
            raise _bad_cursor()
        if not all(isinstance(value[k], str | int) and not isinstance(value[k], bool) for k in keys):
            raise _bad_cursor()
    return value


def cursor_after(*keys: str) -> Any:
    """A dependency: the ``cursor`` query parameter read strictly for a list sorted on ``keys`` (None: first
    page). ``After = cursor_after("claim_id")`` then ``after: After`` in the route."""

    def dependency(cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH,
                                                       description="next_cursor of the previous page")] = None
                   ) -> dict[str, Any] | None:
        return decode_cursor(cursor, keys)

    return Depends(dependency)


def _bad_cursor() -> ProblemError:
    return ProblemError(400, "invalid-cursor", "Cursor is invalid",
                        errors=[{"field": "query.cursor", "code": "invalid",
                                 "message": "use the next_cursor from a previous page"}])
