"""Clearinghouse adapters: where 837P batches go and where 999 / 277CA / 835 files come back from.

Three implementations behind one interface:
- ``SandboxClearinghouse``: a drop folder under var/clearinghouse/ (``make run`` and tests); it keeps every
  file it receives (outbound/) and returns (inbound/), and answers each 837P with a 999 like a real one.
- ``SftpClearinghouse``: batch drop / pickup over SFTP (asyncssh), the way most clearinghouses still work.
- ``HttpsClearinghouse``: a REST-style API (upload a file, list and fetch responses).
The last two are the shared mailbox transports of ``rcm_shared.clearinghouse``; the mailbox also returns
835s, which remittance picks up, so claims takes only the 999s and 277s (``ours``) and leaves the rest.

Submission is idempotent by file name, which carries the interchange control number: resending a batch
after a timeout never creates a second submission, because the adapter sees the name already there.

``submit`` takes the file as bytes or as an async iterable of pieces; every adapter writes the pieces as
they come (a temporary name, renamed when complete), so a file of any size is never held whole in memory.
"""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx
from rcm_shared.clearinghouse import (
    ClearinghouseMailbox,
    FileContent,
    HttpsMailbox,
    MailboxUnavailable,
    SftpMailbox,
    is_interchange_acknowledgment,
    pieces,
    transaction_set_id,
)


@dataclass(frozen=True)
class SubmissionReceipt:
    file_name: str
    already_present: bool
    submitted_at: datetime


@dataclass(frozen=True)
class ResponseFile:
    file_name: str
    content: bytes


# The clearinghouse could not be reached or refused the file for now: keep the batch queued.
ClearinghouseUnavailable = MailboxUnavailable

# Answers to an upload that say "this file, never": resending the same bytes cannot succeed (malformed request,
# conflict, too large, unsupported type, unprocessable). 401 / 403 / 407 are not here on purpose: a bad key or
# a revoked permission refuses every file alike, so it is an outage of ours, not a verdict on one batch.
PERMANENT_REFUSALS = frozenset({400, 409, 413, 415, 422})


def refusal_status(exc: MailboxUnavailable) -> int | None:
    """The HTTP status of a permanent refusal of one file, or None for an outage (retry later, in order).

    SFTP failures and network errors carry no status and are always outages."""
    return exc.status if exc.status in PERMANENT_REFUSALS else None


CLAIMS_TRANSACTIONS = frozenset({"999", "277"})  # 999; 277CA (005010X214) and 277 (005010X212)


def ours(name: str, head: bytes) -> bool:
    """What claims takes from a returned-files mailbox: the transactions it reads (999, 277CA, 277) and TA1s.

    Everything else stays where it is: 835s for remittance, and whatever neither service reads (a
    clearinghouse report, a zipped or unrecognisable file) for a person to look at, since a file claims took
    would be removed once recorded, and its content is not kept."""
    return transaction_set_id(head) in CLAIMS_TRANSACTIONS or (
        transaction_set_id(head) is None and is_interchange_acknowledgment(head))


def _read_in_pieces(path: Path, size: int = 1 << 16) -> Iterator[str]:
    with path.open("rb") as file:
        while piece := file.read(size):
            yield piece.decode("ascii", errors="replace")


class Clearinghouse(Protocol):
    name: str

    async def submit(self, file_name: str, content: FileContent) -> SubmissionReceipt: ...

    async def collect_responses(self) -> list[ResponseFile]:
        """Fetch the files the clearinghouse returned that claims reads (TA1, 999, 277CA, 277); none removed yet."""
        ...

    async def acknowledge(self, file_name: str) -> None:
        """Remove a returned file, called only after the caller committed what it learned from it.

        Two steps, so a crash or a failed transaction between pickup and commit never loses a file: it is
        simply picked up again (and recognised by name)."""
        ...


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
                from claims.domain.claim_status import answer_276

                (self.inbound / f"277_{file_name}").write_text(answer_276(target.read_text()))
                return SubmissionReceipt(file_name, False, datetime.now(UTC))
            from claims.domain.acknowledgments import build_999_for

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


class MailboxClearinghouse:
    """A real clearinghouse: its mailbox (``rcm_shared.clearinghouse``: SFTP or HTTPS) seen from claims.

    The mailbox also returns 835s, which are remittance's, and files nobody reads: both stay where they are."""

    def __init__(self, mailbox: ClearinghouseMailbox) -> None:
        self.mailbox = mailbox
        self.name = mailbox.name

    async def submit(self, file_name: str, content: FileContent) -> SubmissionReceipt:
        already = await self.mailbox.drop(file_name, content)
        return SubmissionReceipt(file_name, already, datetime.now(UTC))

    async def collect_responses(self) -> list[ResponseFile]:
        return [ResponseFile(f.name, f.content) for f in await self.mailbox.pick_up(ours)]

    async def acknowledge(self, file_name: str) -> None:
        await self.mailbox.remove(file_name)


class SftpClearinghouse(MailboxClearinghouse):
    """Batch drop / pickup over SFTP, the way most clearinghouses still work."""

    def __init__(self, host: str, port: int, username: str, *, password: str | None = None,
                 client_keys: list[str] | None = None, known_hosts: str | tuple[()] | None = (),
                 outbound_dir: str = "inbound", inbound_dir: str = "outbound", timeout: float = 30.0) -> None:
        # The folder names are the clearinghouse's view: we drop into its inbound, pick up from its outbound.
        # known_hosts: () checks ~/.ssh/known_hosts; None turns the check off (only for a throwaway test server).
        super().__init__(SftpMailbox(host, port, username, password=password, client_keys=client_keys,
                                     known_hosts=known_hosts, drop_dir=outbound_dir, pickup_dir=inbound_dir,
                                     timeout=timeout))


class HttpsClearinghouse(MailboxClearinghouse):
    """A REST-style API: ``PUT {base}/submissions/{name}``, ``GET {base}/responses``, ``GET`` / ``DELETE
    {base}/responses/{name}``."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 verify: bool | str | ssl.SSLContext = True) -> None:
        super().__init__(HttpsMailbox(base_url, api_key, timeout=timeout, transport=transport, verify=verify))
