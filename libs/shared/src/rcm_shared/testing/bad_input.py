"""Table-driven bad-input checks every service's tests share: each request must be refused with a 4xx
problem+json whose ``errors`` name the field, and must store nothing (the caller checks that afterwards)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from rcm_shared.http.errors import PROBLEM_JSON


@dataclass(frozen=True)
class Refused:
    """One request that must be refused: ``names`` is the field path the problem must name (``body.amount``,
    ``query.cursor``...), ``status`` the expected 4xx."""

    case: str
    method: str
    path: str
    names: str
    status: int = 422
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.case


async def assert_refused(client: httpx.AsyncClient, refused: Refused, headers: dict[str, str]) -> None:
    kwargs = dict(refused.kwargs)  # the table is shared: never change it
    extra_headers = kwargs.pop("headers", {})
    response = await client.request(refused.method, refused.path, headers={**headers, **extra_headers}, **kwargs)
    assert response.status_code == refused.status, (refused.case, response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), refused.case
    named = [e.get("field", "") for e in response.json().get("errors", [])]
    assert any(n == refused.names or n.startswith(refused.names + ".") for n in named), (refused.case, named)
