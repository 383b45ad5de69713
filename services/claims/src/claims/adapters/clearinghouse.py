"""Clearinghouse adapters: where 837P batches go and where 999 / 277CA / 835 files come back from.

Three implementations behind one interface:
- ``SandboxClearinghouse`` (``claims.sandbox.clearinghouse``): a drop folder under var/clearinghouse/ (``make run``
  and tests); it keeps every file it receives (outbound/) and returns (inbound/), and answers each 837P with a 999
  like a real one.
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

import ssl
from datetime import UTC, datetime
from typing import Protocol

import httpx
from rcm_shared.clearinghouse import (
    ClearinghouseMailbox,
    FileContent,
    HttpsMailbox,
    MailboxUnavailable,
    SftpMailbox,
)

from claims.edi.files import ResponseFile, SubmissionReceipt, ours
from claims.sandbox.clearinghouse import SandboxClearinghouse

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


__all__ = ["Clearinghouse", "ClearinghouseUnavailable", "FileContent", "HttpsClearinghouse", "ResponseFile",
           "SandboxClearinghouse", "SftpClearinghouse", "SubmissionReceipt", "ours", "refusal_status"]
