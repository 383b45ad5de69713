"""Opaque cursors for list endpoints (keyset pagination on a stable sort key)."""

from __future__ import annotations

import base64
import json
from typing import Any

from rcm_shared.http.errors import ProblemError


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: deeply nested JSON
        raise _bad_cursor() from exc
    if not isinstance(value, dict):
        raise _bad_cursor()
    return value


def _bad_cursor() -> ProblemError:
    return ProblemError(400, "invalid-cursor", "Cursor is invalid",
                        errors=[{"field": "query.cursor", "code": "invalid",
                                 "message": "use the next_cursor from a previous page"}])
