"""Sending one webhook over HTTP: httpx with timeouts, no redirects followed (a 3xx is a failed attempt: we do not
let a receiver point us somewhere else), and at most a few KB of the answer read (a receiver answering with a huge
body costs us nothing). The answer's body is never kept or logged: it could echo what we sent."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from prometheus_client import Counter, Histogram

from webhooks.domain.destinations import IPAddress, literal_address

MAX_ANSWER_BYTES = 16 * 1024
#: Labels: outcome kinds only (never an endpoint, a URL or a practice).
ATTEMPTS = Counter("rcm_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"])
LATENCY = Histogram("rcm_webhook_attempt_seconds", "Webhook delivery attempt latency",
                    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20))


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    error: str | None  # timeout, connect, redirect, status, too-large, protocol; None for a 2xx


class Sender(Protocol):
    async def send(self, url: str, body: bytes, headers: Mapping[str, str], *,
                   address: IPAddress | None = None) -> SendResult: ...

    async def close(self) -> None: ...


class HttpSender:
    def __init__(self, *, timeout_seconds: float, connect_timeout_seconds: float, user_agent: str,
                 verify: bool | str = True) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds), follow_redirects=False,
            verify=verify, headers={"user-agent": user_agent}, trust_env=False)
        self._overall = timeout_seconds

    async def _send(self, url: str, body: bytes, headers: Mapping[str, str],
                    extensions: dict[str, Any]) -> SendResult:
        started = time.perf_counter()
        status: int | None = None
        try:
            async with asyncio.timeout(self._overall * 2):  # a receiver trickling bytes still ends
                async with self._client.stream("POST", url, content=body, extensions=extensions, headers={
                        **headers, "content-type": "application/cloudevents+json"}) as response:
                    status = response.status_code
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read > MAX_ANSWER_BYTES:
                            break  # enough: the status is what counts
        except (httpx.TimeoutException, TimeoutError):
            return SendResult(status, _ms(started), "timeout")
        except httpx.ConnectError:
            return SendResult(None, _ms(started), "connect")
        except httpx.HTTPError:
            return SendResult(status, _ms(started), "protocol")
        error = None
        if 300 <= status < 400:
            error = "redirect"
        elif not 200 <= status < 300:
            error = "status"
        return SendResult(status, _ms(started), error)

    async def send(self, url: str, body: bytes, headers: Mapping[str, str], *,
                   address: IPAddress | None = None) -> SendResult:
        """POST to ``url``, connecting to ``address`` when given (the one checked), with the URL's host name kept
        for the Host header and for TLS (SNI and certificate check)."""
        request_url, extra, extensions = pinned(url, address)
        result = await self._send(request_url, body, {**headers, **extra}, extensions)
        ATTEMPTS.labels(result.error or "delivered").inc()
        LATENCY.observe(result.latency_ms / 1000)
        return result

    async def close(self) -> None:
        await self._client.aclose()


def pinned(url: str, address: IPAddress | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by ``address``, the Host header and the TLS server name to keep."""
    parts = httpx.URL(url)
    if address is None or literal_address(parts.host) is not None:
        return url, {}, {}
    host_header = parts.host if parts.port is None else f"{parts.host}:{parts.port}"
    extensions: dict[str, Any] = {"sni_hostname": parts.host} if parts.scheme == "https" else {}
    return str(parts.copy_with(host=str(address))), {"host": host_header}, extensions


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]: ...


class DnsResolver:
    """The addresses a host name resolves to (a literal address is itself)."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        literal = literal_address(host)
        if literal is not None:
            return [literal]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return []
        found: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if address not in found:
                found.append(address)
        return found
