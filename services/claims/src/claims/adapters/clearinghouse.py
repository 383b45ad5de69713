"""Clearinghouse adapters: where 837P batches go and where 999 / 277CA / 835 files come back from.

Three implementations behind one interface:
- ``SandboxClearinghouse``: a drop folder under var/clearinghouse/ (``make run`` and tests); it keeps every
  file it receives (outbound/) and returns (inbound/), and answers each 837P with a 999 like a real one.
- ``SftpClearinghouse``: batch drop / pickup over SFTP (asyncssh), the way most clearinghouses still work.
- ``HttpsClearinghouse``: a REST-style API (upload a file, list and fetch responses).

Submission is idempotent by file name, which carries the interchange control number: resending a batch
after a timeout never creates a second submission, because the adapter sees the name already there.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import asyncssh
import httpx


@dataclass(frozen=True)
class SubmissionReceipt:
    file_name: str
    already_present: bool
    submitted_at: datetime


@dataclass(frozen=True)
class ResponseFile:
    file_name: str
    content: bytes


class ClearinghouseUnavailable(Exception):
    """The clearinghouse could not be reached or refused the file for now: keep the batch queued."""


class Clearinghouse(Protocol):
    name: str

    async def submit(self, file_name: str, content: bytes) -> SubmissionReceipt: ...

    async def collect_responses(self) -> list[ResponseFile]:
        """Fetch the files the clearinghouse returned (999, 277CA, 277, 835). Nothing is removed yet."""
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

    async def submit(self, file_name: str, content: bytes) -> SubmissionReceipt:
        target = self.outbound / file_name
        if target.exists():
            return SubmissionReceipt(file_name, True, datetime.now(UTC))
        tmp = target.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.rename(target)  # atomic: a reader never sees half a file
        if self.answer_like_a_payer:
            text = content.decode("ascii", errors="replace")
            if "*005010X212" in text[:300]:  # a claim status inquiry: the payer answers with a 277
                from claims.domain.claim_status import answer_276

                (self.inbound / f"277_{file_name}").write_text(answer_276(text))
                return SubmissionReceipt(file_name, False, datetime.now(UTC))
            from claims.domain.acknowledgments import build_999_for

            ack = build_999_for(text)
            if ack is not None:
                (self.inbound / f"999_{file_name}").write_text(ack)
        return SubmissionReceipt(file_name, False, datetime.now(UTC))

    async def collect_responses(self) -> list[ResponseFile]:
        return [ResponseFile(path.name, path.read_bytes()) for path in sorted(self.inbound.iterdir())
                if path.is_file() and not path.name.endswith(".part")]

    async def acknowledge(self, file_name: str) -> None:
        source = self.inbound / file_name
        if source.exists():
            source.rename(self.archive / file_name)  # kept: the sandbox is also the record a person opens


class SftpClearinghouse:
    name = "sftp"

    def __init__(self, host: str, port: int, username: str, *, password: str | None = None,
                 client_keys: list[str] | None = None, known_hosts: str | tuple[()] | None = (),
                 outbound_dir: str = "inbound", inbound_dir: str = "outbound", timeout: float = 30.0) -> None:
        # The folder names are the clearinghouse's view: we drop into its inbound, pick up from its outbound.
        # known_hosts: () checks the host key against ~/.ssh/known_hosts (the default); a path uses that file;
        # None turns the check off, which only a test against its own throwaway server should do.
        self.host, self.port, self.username = host, port, username
        self.password, self.client_keys, self.known_hosts = password, client_keys, known_hosts
        self.drop_dir, self.pickup_dir, self.timeout = outbound_dir, inbound_dir, timeout

    async def _connect(self) -> asyncssh.SSHClientConnection:
        try:
            return await asyncio.wait_for(asyncssh.connect(
                self.host, self.port, username=self.username, password=self.password,
                client_keys=self.client_keys, known_hosts=self.known_hosts), timeout=self.timeout)
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise ClearinghouseUnavailable(f"sftp connect failed: {type(exc).__name__}") from exc

    async def submit(self, file_name: str, content: bytes) -> SubmissionReceipt:
        conn = await self._connect()
        already = False
        try:
            async with conn, conn.start_sftp_client() as sftp:
                target = f"{self.drop_dir}/{file_name}"
                already = await sftp.exists(target)
                if not already:
                    partial = f"{target}.part"  # renamed when complete: the clearinghouse never reads half a file
                    async with sftp.open(partial, "wb") as remote:
                        await remote.write(content)
                    await sftp.rename(partial, target)
        except (OSError, asyncssh.Error) as exc:
            raise ClearinghouseUnavailable(f"sftp upload failed: {type(exc).__name__}") from exc
        return SubmissionReceipt(file_name, already, datetime.now(UTC))

    async def collect_responses(self) -> list[ResponseFile]:
        conn = await self._connect()
        files: list[ResponseFile] = []
        try:
            async with conn, conn.start_sftp_client() as sftp:
                for name in sorted(await sftp.listdir(self.pickup_dir)):
                    if name in (".", "..") or name.endswith(".part"):
                        continue
                    path = f"{self.pickup_dir}/{name}"
                    async with sftp.open(path, "rb") as remote:
                        content = await remote.read()
                    files.append(ResponseFile(name, content if isinstance(content, bytes) else content.encode()))
        except (OSError, asyncssh.Error) as exc:
            raise ClearinghouseUnavailable(f"sftp pickup failed: {type(exc).__name__}") from exc
        return files

    async def acknowledge(self, file_name: str) -> None:
        conn = await self._connect()
        try:
            async with conn, conn.start_sftp_client() as sftp:
                path = f"{self.pickup_dir}/{file_name}"
                if await sftp.exists(path):
                    await sftp.remove(path)
        except (OSError, asyncssh.Error) as exc:
            raise ClearinghouseUnavailable(f"sftp removal failed: {type(exc).__name__}") from exc


class HttpsClearinghouse:
    """``PUT {base}/submissions/{file_name}`` (201 new, 200 already there); ``GET {base}/responses`` lists,
    ``GET`` / ``DELETE {base}/responses/{name}`` fetches and acknowledges."""

    name = "https"

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 verify: bool | str | ssl.SSLContext = True) -> None:
        self.base_url = base_url.rstrip("/")
        if isinstance(verify, str):  # a CA bundle path; httpx 0.28 deprecates passing the path itself
            verify = ssl.create_default_context(cafile=verify)
        self._client_args = {"timeout": timeout, "headers": {"Authorization": f"Bearer {api_key}"},
                             "transport": transport, "verify": verify}

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._client_args)  # type: ignore[arg-type]

    async def submit(self, file_name: str, content: bytes) -> SubmissionReceipt:
        try:
            async with self._client() as client:
                r = await client.put(f"{self.base_url}/submissions/{file_name}", content=content,
                                     headers={"Content-Type": "application/edi-x12"})
        except httpx.HTTPError as exc:
            raise ClearinghouseUnavailable(f"https upload failed: {type(exc).__name__}") from exc
        if r.status_code >= 500 or r.status_code == 429:
            raise ClearinghouseUnavailable(f"clearinghouse answered {r.status_code}")
        if r.status_code not in (200, 201):
            raise ClearinghouseUnavailable(f"clearinghouse refused the file: {r.status_code}")
        return SubmissionReceipt(file_name, r.status_code == 200, datetime.now(UTC))

    async def collect_responses(self) -> list[ResponseFile]:
        files: list[ResponseFile] = []
        try:
            async with self._client() as client:
                listing = await client.get(f"{self.base_url}/responses")
                listing.raise_for_status()
                try:
                    names = listing.json()["files"]
                except (ValueError, KeyError, TypeError) as exc:  # e.g. a proxy's HTML maintenance page
                    raise ClearinghouseUnavailable("https pickup failed: malformed listing") from exc
                for name in names:
                    got = await client.get(f"{self.base_url}/responses/{name}")
                    got.raise_for_status()
                    files.append(ResponseFile(name, got.content))
        except httpx.HTTPError as exc:
            raise ClearinghouseUnavailable(f"https pickup failed: {type(exc).__name__}") from exc
        return files

    async def acknowledge(self, file_name: str) -> None:
        try:
            async with self._client() as client:
                r = await client.delete(f"{self.base_url}/responses/{file_name}")
                if r.status_code not in (200, 204, 404):
                    r.raise_for_status()
        except httpx.HTTPError as exc:
            raise ClearinghouseUnavailable(f"https acknowledgment failed: {type(exc).__name__}") from exc
