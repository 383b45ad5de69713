"""Keys rotate without downtime: the issuer process keeps answering, tokens signed before the rotation keep
verifying while the old key stays published, and services learn the new key from the first token naming it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rcm_issuer.app import DEVELOPMENT_LOGIN
from rcm_issuer.config import IssuerSettings
from rcm_issuer.keys import ensure_keys, rotate
from rcm_shared.broker import free_port, stop_pid
from rcm_shared.identity.keys import RemoteJwks
from rcm_shared.identity.verifier import InvalidToken, TokenVerifier

pytestmark = pytest.mark.integration


@pytest.fixture
def issuer(tmp_path: Path) -> Iterator[IssuerSettings]:
    port = free_port()
    settings = IssuerSettings(http_port=port, state_dir=tmp_path / "issuer", client_token_ttl_seconds=60,
                              user_token_max_ttl_seconds=120)
    env = {**os.environ, "RCM_ISSUER_HTTP_PORT": str(port), "RCM_ISSUER_STATE_DIR": str(settings.state_dir),
           "RCM_ISSUER_CLIENT_TOKEN_TTL_SECONDS": "60", "RCM_ISSUER_USER_TOKEN_MAX_TTL_SECONDS": "120"}
    log = open(tmp_path / "issuer.log", "ab")  # noqa: SIM115 - owned by the child process
    process = subprocess.Popen([sys.executable, "-m", "rcm_issuer.main", "serve"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{settings.issuer}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield settings
    finally:
        stop_pid(process.pid)
        log.close()


def login(settings: IssuerSettings) -> str:
    answer = httpx.post(f"{settings.issuer}/token", data={
        "grant_type": DEVELOPMENT_LOGIN, "username": "u", "role": "biller", "practice": "p-1"}, timeout=5)
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


async def test_rotation_while_tokens_are_issued_and_verified_refuses_none(issuer: IssuerSettings) -> None:
    # A service that has cached the JWKS (five minutes) and may refetch on an unknown kid once a second.
    keys = RemoteJwks(issuer=issuer.issuer, cache_seconds=300, refetch_min_seconds=1)
    service = TokenVerifier(keys, issuer=issuer.issuer, audience=issuer.audience)
    before = login(issuer)
    await service.verify(before)
    kids, refused = set(), 0
    for n in range(60):
        if n == 20:
            rotate(issuer.keys_file, issuer.key_overlap_seconds)  # what `rcm issuer rotate-keys` does
        token = await asyncio.to_thread(login, issuer)
        try:
            kids.add((await service.verify(token)).header["kid"])
            await service.verify(before)
        except InvalidToken:
            refused += 1
    assert refused == 0
    assert len(kids) == 2, "the issuer signed with the new key right after the rotation"
    assert keys.fetches == 1, "the key a rotation switches to was already published: nothing to refetch"
    published = (await asyncio.to_thread(httpx.get, f"{issuer.issuer}/jwks.json")).json()["keys"]
    assert kids < {k["kid"] for k in published}, "old and new key overlap, and the next one is out already"


async def test_a_service_that_missed_the_next_key_fetches_it_on_first_sight(issuer: IssuerSettings) -> None:
    keys = RemoteJwks(issuer=issuer.issuer, cache_seconds=300, refetch_min_seconds=0)
    service = TokenVerifier(keys, issuer=issuer.issuer, audience=issuer.audience)
    await service.verify(await asyncio.to_thread(login, issuer))
    rotate(issuer.keys_file, issuer.key_overlap_seconds)
    rotate(issuer.keys_file, issuer.key_overlap_seconds)  # twice: the signing key is one the cache never saw
    await service.verify(await asyncio.to_thread(login, issuer))
    assert keys.fetches == 2


def test_a_key_superseded_longer_than_a_token_lives_is_no_longer_published(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first, upcoming = ensure_keys(path, overlap_seconds=100, now=1000)
    assert (first.state, upcoming.state) == ("signing", "next")
    second, dropped = rotate(path, overlap_seconds=100, now=1050)
    assert second.kid == upcoming.kid and dropped == []
    third, dropped = rotate(path, overlap_seconds=100, now=1200)
    assert dropped == [first.kid], "superseded at 1050, past the overlap at 1200"
    kept = ensure_keys(path, overlap_seconds=100, now=1201)
    assert [k.kid for k in kept][:2] == [second.kid, third.kid]
    assert [k.state for k in kept] == ["retiring", "signing", "next"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
