"""The clearinghouse mailbox: the transport under every exchange with a clearinghouse.

A clearinghouse keeps one mailbox per submitter: we drop files into its inbound folder and pick up what it
returns from its outbound folder. Claims drops 837Ps and 276s and picks up 999s, 277CAs and 277s; remittance
picks up 835s from the same mailbox. So each service takes only the kinds it owns (``wanted`` looks at the
head of each file) and leaves the others for their owner; and it removes a file only after it committed
what it learned from it. A crash in between means the file comes again and is recognised by its name.

Two transports: SFTP (asyncssh; how most clearinghouses still work) and a REST-style HTTPS API. Both are
plumbing only: what a file means is the owning service's business.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import asyncssh
import httpx

from rcm_shared.x12.tokens import ISA_LENGTH

# asyncssh logs every connection at INFO (addresses, key checks): noise at a pickup every few seconds.
logging.getLogger("asyncssh").setLevel(logging.WARNING)

HEAD_BYTES = 4096  # enough for ISA, GS and ST however long the sender's ids are

FileContent = bytes | Path | AsyncIterable[bytes]
"""A file to drop: in memory, a local file, or pieces as they are produced (never held whole)."""

Wanted = Callable[[str, bytes], bool]
"""(file name, first bytes of the file) -> take it? Lets two services share one mailbox."""


class MailboxUnavailable(Exception):
    """The mailbox could not be reached or refused the operation for now: try again later, lose nothing.

    The message names the operation and the error type only (never credentials or file contents). ``status``
    is the HTTP status when the clearinghouse answered with one (a caller may decide a refusal is final)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class MailboxFile:
    name: str
    content: bytes


class ClearinghouseMailbox(Protocol):
    name: str

    async def drop(self, name: str, content: FileContent) -> bool:
        """Deliver a file under ``name``; True when a file of that name was there already (not rewritten).

        A local file or an async iterable is sent piece by piece, so a large batch never sits in memory."""
        ...

    async def pick_up(self, wanted: Wanted | None = None, *, skip: Collection[str] = (),
                      max_files: int | None = None) -> list[MailboxFile]:
        """The returned files this caller wants, oldest name first. Nothing is removed.

        ``skip``: names already handled this round; ``max_files``: stop after that many, so a caller taking
        large files (a backlog of 835s after an outage) holds one or a few in memory at a time."""
        ...

    async def remove(self, name: str) -> None:
        """Remove a picked-up file, called only after the caller committed what it learned from it."""
        ...


def _segments_after_isa(head: bytes, count: int) -> list[list[str]]:
    """The first ``count`` segments after the ISA, split into elements; [] for what does not start like X12."""
    text = head.removeprefix(b"\xef\xbb\xbf").decode("latin-1").lstrip(" \r\n\t")
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        return []
    element, terminator = text[3], text[105]
    if terminator == element:
        return []
    return [segment.strip("\r\n").split(element) for segment in text.split(terminator)[1:1 + count]]


def _element(head: bytes, segment_id: str, index: int) -> str | None:
    for fields in _segments_after_isa(head, 5):
        if fields[0] == segment_id and len(fields) > index:
            return fields[index]
    return None


def is_interchange_acknowledgment(head: bytes) -> bool:
    """A TA1 interchange acknowledgment: the segment right after the ISA is TA1 (standing alone it has no GS /
    ST, so ``transaction_set_id`` does not see it)."""
    first = _segments_after_isa(head, 1)
    return bool(first) and first[0][0] == "TA1" and len(first[0]) > 1


def transaction_set_id(head: bytes) -> str | None:
    """ST01 of the first transaction in an interchange ('835', '999', '277' ...), from its first bytes.

    None for anything that does not start like an X12 interchange; nothing here raises."""
    return _element(head, "ST", 1)


def implementation_of(head: bytes) -> str | None:
    """GS08 (e.g. '005010X212' for a 277 answer to a 276, '005010X214' for a 277CA)."""
    return _element(head, "GS", 8)


class SftpMailbox:
    name = "sftp"

    def __init__(self, host: str, port: int, username: str, *, password: str | None = None,
                 client_keys: list[str] | None = None, known_hosts: str | tuple[()] | None = (),
                 drop_dir: str = "inbound", pickup_dir: str = "outbound", timeout: float = 30.0) -> None:
        # The folder names are the clearinghouse's view: we drop into its inbound, pick up from its outbound.
        # known_hosts: () checks the host key against ~/.ssh/known_hosts (the default); a path uses that file;
        # None turns the check off, which only a test against its own throwaway server should do.
        self.host, self.port, self.username = host, port, username
        self.password, self.client_keys, self.known_hosts = password, client_keys, known_hosts
        self.drop_dir, self.pickup_dir, self.timeout = drop_dir, pickup_dir, timeout

    async def _connect(self) -> asyncssh.SSHClientConnection:
        try:
            return await asyncio.wait_for(asyncssh.connect(
                self.host, self.port, username=self.username, password=self.password,
                client_keys=self.client_keys, known_hosts=self.known_hosts), timeout=self.timeout)
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise MailboxUnavailable(f"sftp connect failed: {type(exc).__name__}") from exc

    async def drop(self, name: str, content: FileContent) -> bool:
        conn = await self._connect()
        try:
            async with conn, conn.start_sftp_client() as sftp:
                target = f"{self.drop_dir}/{name}"
                if await sftp.exists(target):
                    return True
                # Renamed when complete: the clearinghouse never reads half a file. The temporary name is this
                # attempt's own: a second sender of the same file (another replica, an operator's resend) would
                # otherwise truncate it under the first one, which could then rename a half-written file.
                partial = f"{target}.{secrets.token_hex(6)}.part"
                try:
                    async with sftp.open(partial, "wb") as remote:
                        async for piece in pieces(content):
                            await remote.write(piece)
                    await sftp.rename(partial, target)
                except Exception:  # (a cancelled upload leaves its .part, which nobody reads)
                    await _forget(sftp, partial)
                    if await _present(sftp, target):
                        return True  # the other sender finished first (a rename never overwrites in SFTP v3)
                    raise
        except (OSError, asyncssh.Error) as exc:
            raise MailboxUnavailable(f"sftp upload failed: {type(exc).__name__}") from exc
        return False

    async def pick_up(self, wanted: Wanted | None = None, *, skip: Collection[str] = (),
                      max_files: int | None = None) -> list[MailboxFile]:
        conn = await self._connect()
        files: list[MailboxFile] = []
        try:
            async with conn, conn.start_sftp_client() as sftp:
                for name in sorted(await sftp.listdir(self.pickup_dir)):
                    if name in (".", "..") or name.endswith(".part") or name in skip:
                        continue
                    if max_files is not None and len(files) >= max_files:
                        break
                    path = f"{self.pickup_dir}/{name}"
                    if not await sftp.isfile(path):
                        continue
                    async with sftp.open(path, "rb") as remote:
                        head = _as_bytes(await remote.read(HEAD_BYTES))
                        if wanted is not None and not wanted(name, head):
                            continue
                        files.append(MailboxFile(name, head + _as_bytes(await remote.read())))
        except (OSError, asyncssh.Error) as exc:
            raise MailboxUnavailable(f"sftp pickup failed: {type(exc).__name__}") from exc
        return files

    async def remove(self, name: str) -> None:
        conn = await self._connect()
        try:
            async with conn, conn.start_sftp_client() as sftp:
                path = f"{self.pickup_dir}/{name}"
                if await sftp.exists(path):
                    await sftp.remove(path)
        except (OSError, asyncssh.Error) as exc:
            raise MailboxUnavailable(f"sftp removal failed: {type(exc).__name__}") from exc


def _as_bytes(data: bytes | str) -> bytes:
    return data if isinstance(data, bytes) else data.encode()


async def _forget(sftp: asyncssh.SFTPClient, partial: str) -> None:
    """Best effort: remove an upload's temporary file after a failure (a leftover ``.part`` is ignored anyway)."""
    try:
        await sftp.remove(partial)
    except (OSError, asyncssh.Error):
        pass


async def _present(sftp: asyncssh.SFTPClient, target: str) -> bool:
    try:
        return bool(await sftp.exists(target))
    except (OSError, asyncssh.Error):
        return False


class HttpsMailbox:
    """``PUT {base}/submissions/{name}`` (201 new, 200 already there); ``GET {base}/responses`` lists,
    ``GET`` / ``DELETE {base}/responses/{name}`` fetches and removes."""

    name = "https"

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 verify: bool | str | ssl.SSLContext = True) -> None:
        self.base_url = base_url.rstrip("/")
        if isinstance(verify, str):  # a CA bundle path; httpx 0.28 deprecates passing the path itself
            verify = ssl.create_default_context(cafile=verify)
        self._timeout, self._transport, self._verify = timeout, transport, verify
        self._headers = {"Authorization": f"Bearer {api_key}"}

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._timeout, headers=self._headers, transport=self._transport,
                                 verify=self._verify)

    def _response_url(self, name: str) -> str:
        # a name is the clearinghouse's: quoted, so '#', '?' or '/' in it cannot point the request elsewhere
        return f"{self.base_url}/responses/{quote(name, safe='')}"

    async def drop(self, name: str, content: FileContent) -> bool:
        try:
            async with self._client() as client:
                # pieces go out as they come (chunked transfer encoding) when the file is not in memory
                r = await client.put(f"{self.base_url}/submissions/{quote(name, safe='')}",
                                     content=content if isinstance(content, bytes) else pieces(content),
                                     headers={"Content-Type": "application/edi-x12"})
        except httpx.HTTPError as exc:
            raise MailboxUnavailable(f"https upload failed: {type(exc).__name__}") from exc
        if r.status_code not in (200, 201):
            raise MailboxUnavailable(f"clearinghouse answered {r.status_code}", status=r.status_code)
        return r.status_code == 200

    async def pick_up(self, wanted: Wanted | None = None, *, skip: Collection[str] = (),
                      max_files: int | None = None) -> list[MailboxFile]:
        files: list[MailboxFile] = []
        try:
            async with self._client() as client:
                listing = await client.get(f"{self.base_url}/responses")
                listing.raise_for_status()
                try:
                    names = [str(n) for n in listing.json()["files"]]
                except (ValueError, KeyError, TypeError) as exc:  # e.g. a proxy's HTML maintenance page
                    raise MailboxUnavailable("https pickup failed: malformed listing") from exc
                for name in sorted(n for n in names if n not in skip):
                    if max_files is not None and len(files) >= max_files:
                        break
                    # streamed: a file this caller does not want (another service's 835s, however large) is
                    # read only as far as its head, not downloaded whole at every pickup
                    async with client.stream("GET", self._response_url(name)) as got:
                        if got.status_code == 404:
                            continue  # taken by the mailbox's other reader between listing and fetching
                        got.raise_for_status()
                        body = got.aiter_bytes()
                        received: list[bytes] = []
                        size = 0
                        async for piece in body:
                            received.append(piece)
                            size += len(piece)
                            if size >= HEAD_BYTES:
                                break
                        if wanted is not None and not wanted(name, b"".join(received)[:HEAD_BYTES]):
                            continue
                        received += [piece async for piece in body]
                    files.append(MailboxFile(name, b"".join(received)))
        except httpx.HTTPError as exc:
            raise MailboxUnavailable(f"https pickup failed: {type(exc).__name__}") from exc
        return files

    async def remove(self, name: str) -> None:
        try:
            async with self._client() as client:
                r = await client.delete(self._response_url(name))
                if r.status_code not in (200, 204, 404):
                    r.raise_for_status()
        except httpx.HTTPError as exc:
            raise MailboxUnavailable(f"https removal failed: {type(exc).__name__}") from exc


async def pieces(content: FileContent, size: int = 1 << 20) -> AsyncIterator[bytes]:
    """The file as pieces, whichever form it was given in."""
    if isinstance(content, bytes):
        yield content
    elif isinstance(content, Path):
        with content.open("rb") as local:
            while block := local.read(size):
                yield block
    else:
        async for piece in content:
            yield piece


__all__ = [
    "ClearinghouseMailbox", "FileContent", "HttpsMailbox", "MailboxFile", "MailboxUnavailable", "SftpMailbox", "Wanted",
    "implementation_of", "is_interchange_acknowledgment", "pieces", "transaction_set_id",
]
