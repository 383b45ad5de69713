"""Cursors, bearer tokens and problem+json: the HTTP conventions every service inherits."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Query
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict
from rcm_shared.config import ServiceSettings
from rcm_shared.http.auth import require_scope
from rcm_shared.http.errors import PROBLEM_JSON, ProblemError, install_error_handlers
from rcm_shared.http.pagination import decode_cursor, encode_cursor
from rcm_shared.testing.identity import claims_for, public_jwks, sign

PHI_NAME = "Margaret Q. Holloway"


# --- cursors ------------------------------------------------------------------------------------


def test_cursor_round_trips_and_is_url_safe() -> None:
    values = {"created_at": "2026-01-02T03:04:05+00:00", "id": "c1a7~/+=", "n": 42}
    cursor = encode_cursor(values)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_cursor(cursor) == values


def test_absent_cursor_means_first_page() -> None:
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "a",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),  # JSON, but not an object
        base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),  # nesting bomb
    ],
)
def test_bad_cursor_is_a_400_problem(cursor: str) -> None:
    with pytest.raises(ProblemError) as caught:
        decode_cursor(cursor)
    assert caught.value.status == 400
    assert caught.value.slug == "invalid-cursor"
    assert caught.value.errors[0]["field"] == "query.cursor"


@given(st.text(max_size=60))
def test_any_cursor_text_decodes_or_is_a_400(cursor: str) -> None:
    try:
        result = decode_cursor(cursor)
    except ProblemError as exc:
        assert exc.status == 400
    else:
        assert result is None or isinstance(result, dict)


# --- problem+json -------------------------------------------------------------------------------


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str
    amount: Decimal
    visits: int


class LedgerLocked(Exception):
    field = "account_id"
    problem_extra = {"retry_after_seconds": 30}


def problem_app() -> FastAPI:
    app = FastAPI()
    app.state.settings = ServiceSettings(jwks=public_jwks())
    install_error_handlers(app, {LedgerLocked: (409, "ledger-locked")})

    @app.post("/patients")
    async def create(body: PatientIn) -> dict[str, str]:
        return {"account_id": body.account_id}

    @app.get("/search")
    async def search(page_size: Annotated[int, Query(ge=1, le=100)] = 50) -> dict[str, int]:
        return {"page_size": page_size}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"connection to db failed for {PHI_NAME} at /var/secret/path")

    @app.get("/locked")
    async def locked() -> None:
        raise LedgerLocked("account is being closed")

    @app.get("/guarded", dependencies=[require_scope("claims:write")])
    async def guarded() -> dict[str, str]:
        return {"ok": "yes"}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=problem_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_validation_error_names_fields_and_never_echoes_input(client: httpx.AsyncClient) -> None:
    response = await client.post("/patients", json={"account_id": "acct-1", "amount": PHI_NAME,
                                                    "visits": "ten", PHI_NAME: "x"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"].endswith("/validation")
    assert body["status"] == 422
    fields = {e["field"]: e["code"] for e in body["errors"]}
    assert fields["body.amount"] == "decimal_parsing"
    assert fields["body.visits"] == "int_parsing"
    assert fields["body.(unknown field)"] == "extra_forbidden", "a key the client invented is not repeated"
    assert PHI_NAME not in response.text
    assert "Margaret" not in response.text
    assert "ten" not in json.dumps([e["message"] for e in body["errors"]])


async def test_missing_field_and_query_errors_are_422(client: httpx.AsyncClient) -> None:
    missing = await client.post("/patients", json={"amount": "1.00", "visits": 1})
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "body.account_id", "code": "missing", "message": "is required"}]
    query = await client.get("/search", params={"page_size": "100000"})
    assert query.status_code == 422
    assert query.json()["errors"][0]["field"] == "query.page_size"
    assert "100000" not in query.text


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/patients", content=b'{"account_id": "Margaret Q. Holloway",',
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["type"].endswith("/malformed-json")
    assert PHI_NAME not in response.text


async def test_unhandled_exception_is_a_bare_500_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"].endswith("/internal")
    assert PHI_NAME not in response.text
    assert "RuntimeError" not in response.text
    assert "secret" not in response.text


async def test_http_and_domain_errors_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM_JSON)
    assert missing.json()["type"].endswith("/http-404")
    locked = await client.get("/locked")
    assert locked.status_code == 409
    assert locked.json()["errors"] == [{"field": "account_id", "code": "ledger-locked",
                                        "message": "account is being closed"}]
    assert locked.json()["retry_after_seconds"] == 30, "what the exception adds for the caller"


async def test_scope_guard_answers_401_and_403_as_problems(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/guarded")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith(PROBLEM_JSON)
    expired = await client.get("/guarded", headers=_bearer(ttl_seconds=-60))
    assert expired.status_code == 401
    assert expired.json()["detail"] == "token expired"
    assert expired.headers["www-authenticate"].startswith("Bearer")
    reader = await client.get("/guarded", headers=_bearer(scopes=["claims:read"]))
    assert reader.status_code == 403
    writer = await client.get("/guarded", headers=_bearer())
    assert writer.status_code == 200


def _bearer(scopes: list[str] | None = None, ttl_seconds: int = 600) -> dict[str, str]:
    token = sign(claims_for(scopes=scopes or ["claims:read", "claims:write"], ttl_seconds=ttl_seconds))
    return {"Authorization": f"Bearer {token}"}
