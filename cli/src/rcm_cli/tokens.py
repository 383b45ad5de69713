"""Tokens for the command line: asked of the issuer, as any client would (the development login of the local
issuer; a production issuer has it switched off, so pass a token from your identity provider instead)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from rcm_cli import platform as embedded

DEVELOPMENT_LOGIN = "urn:rcm:params:oauth:grant-type:development-login"


class TokenRefused(Exception):
    pass


def issuer_url(root: Path | None = None) -> str:
    """RCM_ISSUER_URL, else the issuer of the platform running under var/, else the embedded default."""
    given = os.environ.get("RCM_ISSUER_URL")
    if given:
        return given.rstrip("/")
    try:
        issuer = embedded.load_state(root or embedded.VAR_DIR()).get("issuer")
    except FileNotFoundError:
        issuer = None
    if isinstance(issuer, dict) and isinstance(issuer.get("url"), str):
        return str(issuer["url"])
    return f"http://127.0.0.1:{embedded.ISSUER_PORT}"


def request_token(issuer: str, *, practices: list[str], role: str, subject: str, scopes: list[str] | None = None,
                  ttl_seconds: int | None = None, npi: str | None = None) -> str:
    form = {"grant_type": DEVELOPMENT_LOGIN, "username": subject, "role": role, "practice": " ".join(practices)}
    if scopes is not None:
        form["scope"] = " ".join(scopes)
    if ttl_seconds is not None:
        form["expires_in"] = str(ttl_seconds)
    if npi:
        form["npi"] = npi
    try:
        response = httpx.post(f"{issuer}/token", data=form, timeout=10)
    except httpx.HTTPError as exc:
        raise TokenRefused(f"the issuer at {issuer} did not answer ({type(exc).__name__}); is `make run` up?") from exc
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200:
        raise TokenRefused(f"the issuer refused: {body.get('error', response.status_code)}: "
                           f"{body.get('error_description', '')}")
    token: str = body["access_token"]
    return token
