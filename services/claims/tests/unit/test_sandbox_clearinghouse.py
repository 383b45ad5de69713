"""The sandbox clearinghouse takes one batch file from two senders at once (the periodic submission job and
POST /v1/submission-batches in the same process) without failing or mixing their bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from claims.adapters.clearinghouse import SandboxClearinghouse

BATCH = [b"ISA*00*" + bytes([65 + n]) * 4000 + b"~" for n in range(5)]


async def in_pieces() -> AsyncIterator[bytes]:
    for piece in BATCH:
        yield piece
        await asyncio.sleep(0)  # the file is read from the database a piece at a time: the other sender runs


async def test_two_senders_of_one_file_at_once_leave_it_whole_and_both_succeed(tmp_path: Path) -> None:
    sandbox = SandboxClearinghouse(tmp_path, answer_like_a_payer=False)
    receipts = await asyncio.gather(sandbox.submit("837P_X_000000001.x12", in_pieces()),
                                    sandbox.submit("837P_X_000000001.x12", in_pieces()))
    assert [r.file_name for r in receipts] == ["837P_X_000000001.x12"] * 2
    assert (tmp_path / "outbound" / "837P_X_000000001.x12").read_bytes() == b"".join(BATCH)
    assert [p.name for p in (tmp_path / "outbound").iterdir()] == ["837P_X_000000001.x12"], "no piece left over"
