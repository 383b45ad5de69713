"""Rendering statements for a run. By default in the service's own process, one statement at a time, handing the
event loop back between statements (a statement is ~20 ms of CPU: health checks and requests are answered between
them). With ``RCM_DOCUMENT_RENDER_WORKERS=N`` a pool of N worker processes (``forkserver``: no thread of the service
is copied into a worker; each worker is told to die with its parent) lays PDFs out in parallel; the pool is shut
down with the service."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import cached_property

from patient_billing.adapters.documents.statement_pdf import render_statement
from patient_billing.domain.statements import Statement


class StatementRenderer:
    def __init__(self, workers: int) -> None:
        self.workers = workers

    @cached_property
    def _pool(self) -> Executor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=_die_with_parent)

    async def render(self, statements: list[Statement]) -> list[bytes]:
        if self.workers <= 0 or len(statements) < 2:
            pdfs = []
            for s in statements:
                pdfs.append(render_statement(s))
                await asyncio.sleep(0)
            return pdfs
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(self._pool, render_statement, s)
                                           for s in statements)))

    def close(self) -> None:
        if "_pool" in self.__dict__:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _die_with_parent() -> None:
    """Linux: a worker gets SIGTERM when the process that forked it exits (no orphans after a crash)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
