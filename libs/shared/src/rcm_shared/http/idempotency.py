"""Idempotency-Key on POSTs that create: same key + same body → the same response, one record;
same key + another body → 422. The key row and the request's audit row (rcm_shared.http.audit) are written in
the same transaction as the record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.db.database import Database
from rcm_shared.db.types import utcnow
from rcm_shared.http.audit import entry_for
from rcm_shared.http.auth import Principal
from rcm_shared.http.errors import ProblemError

Creator = Callable[[AsyncSession], Awaitable[tuple[int, BaseModel | dict[str, Any]]]]
MAX_KEY_LENGTH = 200


def body_json(result: BaseModel | dict[str, Any]) -> bytes:
    if isinstance(result, BaseModel):
        return result.model_dump_json(by_alias=True).encode()
    return json.dumps(result, default=str, separators=(",", ":")).encode()


async def run_idempotent(
    request: Request, db: Database, principal: Principal, scope: str, create: Creator,
    *, body_fingerprint: bytes | None = None,
) -> JSONResponse:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
        raise ProblemError(400, "idempotency-key", "Idempotency-Key is invalid",
                           errors=[{"field": "header.Idempotency-Key", "code": "length",
                                    "message": f"must be 1 to {MAX_KEY_LENGTH} characters"}])
    raw = body_fingerprint if body_fingerprint is not None else await request.body()
    request_hash = hashlib.sha256(raw).hexdigest()
    table = db.tables.idempotency_keys
    if key is not None:
        replay = await _stored(db, table, principal.practice_id, scope, key, request_hash)
        if replay is not None:
            return replay
    try:
        async with db.transaction() as session:
            status, result = await create(session)
            audit = entry_for(request.scope)
            if audit.tables is not None:
                await audit.record_in(session, status)
            body = body_json(result)
            if key is not None:
                await session.execute(insert(table).values(
                    practice_id=principal.practice_id, scope=scope, key=key, request_hash=request_hash,
                    status_code=status, response_body=body, created_at=utcnow(),
                ))
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with what it stored.
        if key is None:
            raise
        replay = await _stored(db, table, principal.practice_id, scope, key, request_hash)
        if replay is None:
            raise
        return replay
    return JSONResponse(content=json.loads(body), status_code=status)


async def _stored(db: Database, table: Any, practice_id: str, scope: str, key: str, request_hash: str
                  ) -> JSONResponse | None:
    async with db.sessions() as session:
        row = (await session.execute(select(table).where(
            table.c.practice_id == practice_id, table.c.scope == scope, table.c.key == key))).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise ProblemError(422, "idempotency-key-reused", "Idempotency-Key was used with another request body",
                           errors=[{"field": "header.Idempotency-Key", "code": "reused",
                                    "message": "send a new key for a different request"}])
    return JSONResponse(content=json.loads(row.response_body), status_code=row.status_code,
                        headers={"Idempotent-Replayed": "true"})
