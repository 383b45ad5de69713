"""The sandbox clearinghouse: a drop folder that keeps every file it receives and answers like a clearinghouse and a
payer would (a 999 for each 837P, a 277 for each 276)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from rcm_shared.clearinghouse import FileContent, pieces

from claims.edi.acknowledgments import build_999_for
from claims.edi.claim_status import answer_276
from claims.edi.files import ResponseFile, SubmissionReceipt, ours


def _read_in_pieces(path: Path, size: int = 1 << 16) -> Iterator[str]:
    with path.open("rb") as file:
        while piece := file.read(size):
            yield piece.decode("ascii", errors="replace")


class SandboxClearinghouse:
    name = "sandbox"

    def __init__(self, root: Path, answer_like_a_payer: bool = True) -> None:
        self.root = root
        self.outbound = root / "outbound"
        self.inbound = root / "inbound"
        self.archive = root / "inbound-processed"
        self.answer_like_a_payer = answer_like_a_payer
        for folder in (self.outbound, self.inbound, self.archive):
            folder.mkdir(parents=True, exist_ok=True)

    async def submit(self, file_name: str, content: FileContent) -> SubmissionReceipt:
        target = self.outbound / file_name
        if target.exists():
            return SubmissionReceipt(file_name, True, datetime.now(UTC))
        # A name of its own per sender: the periodic submission job and POST /v1/submission-batches may send the
        # same batch at once, and a shared name let one truncate and rename the other's half-written file.
        tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")
        with tmp.open("wb") as file:
            async for piece in pieces(content):
                file.write(piece)
        os.replace(tmp, target)  # atomic: a reader never sees half a file; the same batch twice is the same bytes
        if self.answer_like_a_payer:
            with target.open("rb") as file:
                head = file.read(300).decode("ascii", errors="replace")
            if "*005010X212" in head:  # a claim status inquiry (a small file): the payer answers with a 277
                (self.inbound / f"277_{file_name}").write_text(answer_276(target.read_text()))
                return SubmissionReceipt(file_name, False, datetime.now(UTC))
            ack = build_999_for(_read_in_pieces(target))  # the 837P is read back a piece at a time
            if ack is not None:
                (self.inbound / f"999_{file_name}").write_text(ack)
        return SubmissionReceipt(file_name, False, datetime.now(UTC))

    async def collect_responses(self) -> list[ResponseFile]:
        files = []
        for path in sorted(self.inbound.iterdir()):
            if path.is_file() and not path.name.endswith(".part"):
                content = path.read_bytes()
                if ours(path.name, content[:4096]):
                    files.append(ResponseFile(path.name, content))
        return files

    async def acknowledge(self, file_name: str) -> None:
        source = self.inbound / file_name
        if source.exists():
            source.rename(self.archive / file_name)  # kept: the sandbox is also the record a person opens
