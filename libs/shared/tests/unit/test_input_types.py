"""The shared request field types (money, dates, codes, X12 text, cursors) and a 500 that keeps the
connection: what every service's schemas refuse, in one table each."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from rcm_shared.broker import free_port
from rcm_shared.http.errors import ProblemError, install_error_handlers
from rcm_shared.http.pagination import decode_cursor, encode_cursor
from rcm_shared.http.schemas import (
    BirthDate,
    DateOfService,
    MemberId,
    Money,
    NonNegativeMoney,
    PlausibleDate,
    PositiveMoney,
    ProcedureCode,
    StrictModel,
    X12Text,
)
from rcm_shared.validation import check_not_formula


class Amounts(StrictModel):
    money: Money | None = None
    positive: PositiveMoney | None = None
    non_negative: NonNegativeMoney | None = None


@pytest.mark.parametrize(("raw", "expected"), [
    ('{"money": "125.00"}', Decimal("125.00")),
    ('{"money": "-3.5"}', Decimal("-3.5")),
    ('{"money": 125}', Decimal("125")),
    ('{"money": "0"}', Decimal("0")),
    ('{"money": "9999999999.99"}', Decimal("9999999999.99")),
])
def test_money_accepts_decimal_strings_and_whole_numbers(raw: str, expected: Decimal) -> None:
    assert Amounts.model_validate_json(raw).money == expected


@pytest.mark.parametrize("raw", [
    '{"money": 125.5}',  # a JSON float: already binary-rounded when it arrives
    '{"money": 1e3}',
    '{"money": "1e3"}',
    '{"money": "1E-2"}',
    '{"money": "1e400"}',
    '{"money": "NaN"}',
    '{"money": "Infinity"}',
    '{"money": "12.345"}',
    '{"money": "12345678901.00"}',  # 11 digits before the point
    '{"money": true}',
    '{"money": ""}',
    '{"money": " 1 2 "}',
    '{"positive": "0.00"}',
    '{"positive": "-1.00"}',
    '{"non_negative": "-0.01"}',
])
def test_money_refuses_floats_exponents_and_what_cannot_be_cents(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Amounts.model_validate_json(raw)
    field = next(iter(json.loads(raw)))
    assert caught.value.errors()[0]["loc"][0] == field


class Dates(StrictModel):
    plausible: PlausibleDate | None = None
    birth: BirthDate | None = None
    service: DateOfService | None = None


@pytest.mark.parametrize(("field", "value", "ok"), [
    ("plausible", "1900-01-01", True),
    ("plausible", "1899-12-31", False),
    ("plausible", "0001-01-01", False),
    ("plausible", "2999-01-01", False),
    ("birth", "1988-04-12", True),
    ("birth", (date.today() + timedelta(days=30)).isoformat(), False),
    ("service", "2026-12-01", True),
    ("service", (date.today() + timedelta(days=365)).isoformat(), True),  # a booking next year
    ("service", "2999-01-01", False),
    ("service", "0001-01-01", False),
])
def test_dates_that_cannot_be_real_are_refused(field: str, value: str, ok: bool) -> None:
    if ok:
        Dates.model_validate({field: value})
        return
    with pytest.raises(ValidationError) as caught:
        Dates.model_validate({field: value})
    assert caught.value.errors()[0]["loc"] == (field,)
    assert value not in caught.value.errors()[0]["msg"], "messages never echo the value"


class Codes(StrictModel):
    code: ProcedureCode | None = None
    text: X12Text | None = None
    member_id: MemberId | None = None


@pytest.mark.parametrize(("field", "value", "ok"), [
    ("code", "90837", True), ("code", "99213", True), ("code", "H0031", True), ("code", "0362T", True),
    ("code", "' OR 1", False), ("code", "9083", False), ("code", "908370", False), ("code", "90837~", False),
    ("code", "h0031", False),
    ("text", "SANDBOX HEALTH PLAN", True), ("text", "A*B", False), ("text", "A~", False), ("text", "A:B", False),
    ("text", "A^B", False), ("text", "A\x00B", False), ("text", "A\nB", False),
    ("member_id", "SBX000001", True), ("member_id", "SBX*01", False), ("member_id", "SBX~01", False),
    ("member_id", "X", False),
])
def test_codes_and_x12_text_are_refused_not_altered(field: str, value: str, ok: bool) -> None:
    if ok:
        assert getattr(Codes.model_validate({field: value}), field) == value
        return
    with pytest.raises(ValidationError):
        Codes.model_validate({field: value})


@pytest.mark.parametrize("value", ["=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_spreadsheet_formula_prefixes_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="formula"):
        check_not_formula(value)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    _b64(b"{}"),  # an object without the sort key: was read as "from the start"
    _b64(json.dumps({"claim_id": "c1", "extra": 1}).encode()),
    _b64(json.dumps({"account_id": "a1"}).encode()),  # another list's cursor
    _b64(json.dumps({"claim_id": None}).encode()),
    _b64(json.dumps({"claim_id": ["c1"]}).encode()),
    _b64(json.dumps({"claim_id": True}).encode()),
    "A" * 600,
])
def test_a_cursor_of_the_wrong_shape_is_a_400_naming_the_cursor(cursor: str) -> None:
    with pytest.raises(ProblemError) as caught:
        decode_cursor(cursor, ("claim_id",))
    assert caught.value.status == 400
    assert caught.value.errors[0]["field"] == "query.cursor"


def test_a_cursor_written_for_the_list_reads_back() -> None:
    assert decode_cursor(encode_cursor({"claim_id": "c1"}), ("claim_id",)) == {"claim_id": "c1"}


# --- a 500 keeps the keep-alive connection -----------------------------------------------------------


@pytest.fixture
def server() -> Iterator[int]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    @app.get("/fine")
    async def fine() -> dict[str, Any]:
        return {"ok": True}

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    running.should_exit = True
    thread.join(timeout=10)


def test_after_a_500_the_same_connection_serves_the_next_request(server: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    connection.request("GET", "/boom")
    first = connection.getresponse()
    assert first.status == 500
    assert first.getheader("content-type", "").startswith("application/problem+json")
    first.read()
    assert first.getheader("connection") != "close"
    socket_before = connection.sock
    connection.request("GET", "/fine")  # http.client raises if the server closed the connection
    second = connection.getresponse()
    assert second.status == 200
    assert connection.sock is socket_before, "the keep-alive connection was reused, not reopened"
    connection.close()
