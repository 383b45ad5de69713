"""The console's session: the access token the issuer gave the person at sign-in, kept in an HttpOnly,
SameSite=Strict cookie (Secure when the console is served over HTTPS) and verified on every request like any
bearer token; the practice being worked in a second cookie, checked against the token's practices each time.
Nothing is stored on the server, so any replica of reporting serves any request and a session ends when its
token does.

Forms carry a CSRF token: an HMAC, under the console's secret, of the session's token (sign-in: of a random
nonce in a short-lived cookie). A form posted from another site has neither the cookie (SameSite=Strict) nor a
token matching it; the Origin header, when sent, must be the console's own."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

SESSION_COOKIE = "rcm_console"
PRACTICE_COOKIE = "rcm_console_practice"
NONCE_COOKIE = "rcm_console_signin"
CSRF_FIELD = "csrf_token"
PATH = "/console"


class CsrfRefused(Exception):
    """A form without a valid CSRF token, or posted from another origin."""


class ConsoleSessions:
    def __init__(self, secret: bytes | None, secure: bool | None) -> None:
        # Without a configured secret each process makes its own: forms then only post back to the replica that
        # rendered them (set RCM_CONSOLE_SECRET when running several).
        self._key = secret or secrets.token_bytes(32)
        self._secure = secure

    def secure(self, request: Request) -> bool:
        return self._secure if self._secure is not None else request.url.scheme == "https"

    def token_of(self, request: Request) -> str | None:
        return request.cookies.get(SESSION_COOKIE)

    def practice_of(self, request: Request) -> str | None:
        return request.cookies.get(PRACTICE_COOKIE)

    def csrf_for(self, bound_to: str) -> str:
        return hmac.new(self._key, b"csrf:" + bound_to.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, request: Request, bound_to: str | None, presented: str | None) -> None:
        origin = request.headers.get("origin")
        if origin is not None and origin != "null" and origin.rstrip("/") != str(request.base_url).rstrip("/"):
            raise CsrfRefused("origin")
        if not bound_to or not presented or not hmac.compare_digest(self.csrf_for(bound_to), presented):
            raise CsrfRefused("token")

    def _set(self, response: Response, request: Request, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True, samesite="strict",
                            secure=self.secure(request))

    def start(self, response: Response, request: Request, token: str, expires_in: int, practice: str) -> None:
        self._set(response, request, SESSION_COOKIE, token, expires_in)
        self._set(response, request, PRACTICE_COOKIE, practice, expires_in)
        response.delete_cookie(NONCE_COOKIE, path=PATH)

    def switch_practice(self, response: Response, request: Request, practice: str) -> None:
        self._set(response, request, PRACTICE_COOKIE, practice, 12 * 3600)

    def end(self, response: Response) -> None:
        for name in (SESSION_COOKIE, PRACTICE_COOKIE):
            response.delete_cookie(name, path=PATH)

    def nonce_of(self, request: Request) -> str:
        """The nonce the sign-in form's CSRF token is bound to (a person has no session yet)."""
        return request.cookies.get(NONCE_COOKIE) or secrets.token_urlsafe(24)

    def keep_nonce(self, response: Response, request: Request, nonce: str) -> None:
        self._set(response, request, NONCE_COOKIE, nonce, 1800)
