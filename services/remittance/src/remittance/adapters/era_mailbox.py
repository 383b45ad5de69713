"""The clearinghouse's ERA mailbox as a folder (the sandbox; an SFTP pickup lists the same layout).

One sub-folder per practice, because a clearinghouse keeps one mailbox per submitter: the folder says whose
money it is without opening the file. A file is taken once: after intake it moves to ``processed/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MailboxFile:
    practice_id: str
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()

    def done(self) -> None:
        target = self.path.parent / "processed" / self.path.name
        target.parent.mkdir(exist_ok=True)
        self.path.rename(target)


class EraMailbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def waiting(self) -> list[MailboxFile]:
        files = []
        for practice in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(practice.iterdir()):
                if path.is_file() and path.suffix.lower() in (".835", ".x12", ".edi", ".txt"):
                    files.append(MailboxFile(practice.name, path))
        return files
