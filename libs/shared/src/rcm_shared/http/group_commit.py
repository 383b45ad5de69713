"""Group commit: concurrent requests that create records, written together in one transaction.

A route that creates (``POST /v1/visits``) is mostly round trips when it runs alone: the idempotency look-up, its
rows, its outbox rows, the audit row, the idempotency row and the commit, each a statement of its own (a dozen
for a visit). Under load, many such requests are in flight at once. :class:`GroupCommit` queues them and one
writer takes every request waiting when it is free (up to ``max_batch``) into one transaction: one idempotency
look-up for all their keys, the use case called once with all their commands (it reads and writes in bulk), the
audit rows and the idempotency rows in bulk, one commit. Each request then gets its own answer. A lone request is
a batch of one and waits for nobody.

What each request keeps, exactly as with :func:`rcm_shared.http.idempotency.run_idempotent`:

* its record, its events (outbox), its audit row and its idempotency row commit together, or none of them;
* a use case refuses one command by returning the domain exception in that command's place (it must then have
  written nothing for it): that request alone gets its problem+json (audited by the middleware), the others go on;
* a key already stored answers its stored response (``Idempotent-Replayed``), or 422 for another body; the same key
  twice in one batch waits for the next batch, which finds the first one's answer;
* when the batch's transaction fails as a whole (a unique index another process won, a lost connection), nothing
  of it is kept and each request is tried again alone, so the failure lands on the request that causes it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rcm_shared.db.bulk import insert_many
from rcm_shared.db.database import Database
from rcm_shared.db.types import utcnow
from rcm_shared.http.audit import AuditEntry, entry_for
from rcm_shared.http.auth import Principal
from rcm_shared.http.errors import ProblemError
from rcm_shared.http.idempotency import MAX_KEY_LENGTH, body_json
from rcm_shared.observability import metrics

C = TypeVar("C")  # a command
R = TypeVar("R")  # what the use case made of it

#: The use case over many commands, in one transaction: for each command its result, or the domain exception that
#: refused it (nothing written for that one).
BatchWrite = Callable[[AsyncSession, Sequence[C]], Awaitable[Sequence[R | Exception]]]
#: A request's answer from its result: status and body (and, as it goes, the audit row's object id).
Respond = Callable[[R], tuple[int, BaseModel | dict[str, Any]]]


@dataclass(eq=False)
class _Pending(Generic[C, R]):
    command: C
    respond: Respond[R]
    practice_id: str
    scope: str
    key: str | None
    request_hash: str
    audit: AuditEntry
    future: asyncio.Future[Response] = field(repr=False)


class GroupCommit(Generic[C, R]):
    """Queue of create requests for one use case; ``writers`` transactions at most in flight at a time."""

    def __init__(self, db: Database, write: BatchWrite[C, R], *, max_batch: int = 256, writers: int = 2) -> None:
        self._db = db
        self._write = write
        self._max_batch = max_batch
        self._writers = writers
        self._queue: list[_Pending[C, R]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, request: Request, principal: Principal, scope: str, command: C,
                     respond: Respond[R]) -> Response:
        """The request's answer once its batch committed (or its refusal, raised here)."""
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
            raise ProblemError(400, "idempotency-key", "Idempotency-Key is invalid",
                               errors=[{"field": "header.Idempotency-Key", "code": "length",
                                        "message": f"must be 1 to {MAX_KEY_LENGTH} characters"}])
        loop = asyncio.get_running_loop()
        pending: _Pending[C, R] = _Pending(command, respond, principal.practice_id, scope, key,
                                           hashlib.sha256(await request.body()).hexdigest(),
                                           entry_for(request.scope), loop.create_future())
        self._queue.append(pending)
        if self._running < self._writers:
            self._running += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await pending.future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, deferred, keys = [], [], set()
                for pending in self._queue[:self._max_batch]:
                    slot = (pending.practice_id, pending.scope, pending.key)
                    if pending.key is not None and slot in keys:
                        deferred.append(pending)  # the same key twice: the next batch finds the first's answer
                    else:
                        keys.add(slot)
                        batch.append(pending)
                self._queue[:self._max_batch] = deferred  # a batch always takes the first: the queue shrinks
                try:
                    await self._run(batch)
                except Exception as exc:  # even the one-by-one retry could not reach the database
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
        finally:
            self._running -= 1

    async def _run(self, batch: list[_Pending[C, R]]) -> None:
        try:
            answers = await self._transaction(batch)
        except Exception as exc:
            if len(batch) == 1:
                await self._failed_alone(batch[0], exc)
                return
            for pending in batch:  # nothing was kept: each again alone, so a failure is its own request's
                await self._run([pending])
            return
        for pending, answer in zip(batch, answers, strict=True):
            if pending.future.done():  # the client went away
                continue
            if isinstance(answer, BaseException):
                pending.future.set_exception(answer)
            else:
                pending.future.set_result(answer)

    async def _transaction(self, batch: list[_Pending[C, R]]) -> list[Response | Exception]:
        table = self._db.tables.idempotency_keys
        answers: list[Response | Exception | None] = [None] * len(batch)
        audited: list[tuple[AuditEntry, dict[str, Any]]] = []
        async with self._db.transaction() as session:
            keyed = [(p.practice_id, p.scope, p.key) for p in batch if p.key is not None]
            rows = (await session.execute(select(table).where(
                tuple_(table.c.practice_id, table.c.scope, table.c.key).in_(keyed)))).all() if keyed else []
            stored = {(r.practice_id, r.scope, r.key): r for r in rows}
            todo: list[int] = []
            for i, pending in enumerate(batch):
                row = stored.get((pending.practice_id, pending.scope, pending.key))
                if row is None:
                    todo.append(i)
                else:
                    answers[i] = _replay(row, pending.request_hash)
            results = await self._write(session, [batch[i].command for i in todo]) if todo else []
            keys: list[dict[str, Any]] = []
            audit_rows: list[dict[str, Any]] = []
            now = utcnow()
            for i, result in zip(todo, results, strict=True):
                pending = batch[i]
                if isinstance(result, Exception):
                    answers[i] = result
                    continue
                status, body = pending.respond(result)
                data = body_json(body)
                answers[i] = Response(content=data, status_code=status, media_type="application/json")
                if pending.audit.tables is not None:
                    audit_row = pending.audit.row(status)
                    audit_rows.append(audit_row)
                    audited.append((pending.audit, audit_row))
                if pending.key is not None:
                    keys.append(dict(practice_id=pending.practice_id, scope=pending.scope, key=pending.key,
                                     request_hash=pending.request_hash, status_code=status, response_body=data,
                                     created_at=now))
            if audit_rows:
                await insert_many(session, self._db.tables.audit_log, audit_rows)
            if keys:
                await session.execute(insert(table), keys)
        for entry, audit_row in audited:  # only once the rows are in: a rolled-back write is audited by the middleware
            entry.recorded = True
            metrics.AUDIT_EVENTS.labels(entry.service, audit_row["action"], audit_row["outcome"]).inc()
        return [a if a is not None else RuntimeError("no answer") for a in answers]

    async def _failed_alone(self, pending: _Pending[C, R], exc: Exception) -> None:
        if pending.future.done():
            return
        if isinstance(exc, IntegrityError) and pending.key is not None:
            # A concurrent request with the same key (another process) won the race: answer what it stored.
            table = self._db.tables.idempotency_keys
            async with self._db.sessions() as session:
                row = (await session.execute(select(table).where(
                    table.c.practice_id == pending.practice_id, table.c.scope == pending.scope,
                    table.c.key == pending.key))).first()
            if row is not None:
                answer = _replay(row, pending.request_hash)
                if isinstance(answer, Exception):
                    pending.future.set_exception(answer)
                else:
                    pending.future.set_result(answer)
                return
        pending.future.set_exception(exc)


def _replay(row: Any, request_hash: str) -> Response | Exception:
    if row.request_hash != request_hash:
        return ProblemError(422, "idempotency-key-reused", "Idempotency-Key was used with another request body",
                            errors=[{"field": "header.Idempotency-Key", "code": "reused",
                                     "message": "send a new key for a different request"}])
    return Response(content=bytes(row.response_body), status_code=row.status_code, media_type="application/json",
                    headers={"Idempotent-Replayed": "true"})
