"""Per-run PostgreSQL databases for tests: every run makes its own and drops them at the end."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Coroutine
from typing import Any

import asyncpg

ADMIN_DSN = os.environ.get("RCM_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    # Fixtures may be called while an event loop runs: do the admin work on a loop of its own.
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


class TestDatabases:
    """Creates ``rcm_test_<run>_<name>`` databases and drops them when closed."""

    __test__ = False

    def __init__(self, admin_dsn: str = ADMIN_DSN) -> None:
        self.admin_dsn = admin_dsn
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def create(self, name: str) -> str:
        db = f"rcm_test_{self.run_id}_{name.replace('-', '_')}_{len(self.created)}"

        async def _create() -> None:
            conn = await asyncpg.connect(self.admin_dsn)
            try:
                await conn.execute(f'CREATE DATABASE "{db}"')
            finally:
                await conn.close()

        _run(_create())
        self.created.append(db)
        base = self.admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return f"{base}/{db}"

    def drop_all(self) -> None:
        async def _drop() -> None:
            conn = await asyncpg.connect(self.admin_dsn)
            try:
                for db in self.created:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            finally:
                await conn.close()

        _run(_drop())
        self.created.clear()
