"""FastAPI dependencies every service uses: the Database, the request id and the clock. Each is ``async def``:
FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop per dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rcm_shared.clock import Clock
from rcm_shared.db.database import Database


async def _database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


async def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


DatabaseDep = Annotated[Database, Depends(_database)]
RequestIdDep = Annotated[str | None, Depends(_request_id)]
ClockDep = Annotated[Clock, Depends(_clock)]  # the composition root's clock: 'now' and the practice's 'today'
