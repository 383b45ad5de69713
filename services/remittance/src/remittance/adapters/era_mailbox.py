"""Where ERAs come from besides the API: the clearinghouse's mailbox.

- ``EraMailbox``: the sandbox (``make run``, tests) and bulk drops, a folder with one sub-folder per practice,
  because a clearinghouse keeps one mailbox per submitter: the folder says whose money it is without opening
  the file. A file is taken once: after intake it moves to ``processed/``.
- ``ClearinghouseEraPickup``: a real clearinghouse mailbox (SFTP or HTTPS, ``rcm_shared.clearinghouse``) that
  belongs to one practice. The mailbox also holds the 999s and 277s that claims picks up, so only 835s are
  taken; the rest stays for its owner.

Either way a file is removed only after its intake committed (``done``); a crash in between brings it again
and intake recognises the same bytes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rcm_shared.clearinghouse import ClearinghouseMailbox, transaction_set_id


class WaitingEra(Protocol):
    @property
    def practice_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    def read(self) -> bytes: ...

    async def done(self) -> None: ...


class EraSource(Protocol):
    async def waiting(self, skip: Collection[str] = ()) -> list[WaitingEra]:
        """ERAs waiting now, leaving out the names in ``skip`` (taken already this round)."""
        ...


@dataclass(frozen=True)
class MailboxFile:
    practice_id: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def read(self) -> bytes:
        return self.path.read_bytes()

    async def done(self) -> None:
        target = self.path.parent / "processed" / self.path.name
        target.parent.mkdir(exist_ok=True)
        self.path.rename(target)


class EraMailbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    async def waiting(self, skip: Collection[str] = ()) -> list[WaitingEra]:
        files: list[WaitingEra] = []  # read lazily: a file is in memory only while it is taken in
        for practice in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(practice.iterdir()):
                if path.is_file() and path.suffix.lower() in (".835", ".x12", ".edi", ".txt") \
                        and path.name not in skip:
                    files.append(MailboxFile(practice.name, path))
        return files


@dataclass(frozen=True)
class PickedUpEra:
    practice_id: str
    name: str
    content: bytes
    mailbox: ClearinghouseMailbox

    def read(self) -> bytes:
        return self.content

    async def done(self) -> None:
        await self.mailbox.remove(self.name)


def is_835(name: str, head: bytes) -> bool:
    return transaction_set_id(head) == "835"


class ClearinghouseEraPickup:
    def __init__(self, mailbox: ClearinghouseMailbox, practice_id: str) -> None:
        self.mailbox, self.practice_id = mailbox, practice_id

    async def waiting(self, skip: Collection[str] = ()) -> list[WaitingEra]:
        # one file per call: a backlog of large 835s after an outage is never in memory at once
        return [PickedUpEra(self.practice_id, f.name, f.content, self.mailbox)
                for f in await self.mailbox.pick_up(is_835, skip=skip, max_files=1)]
