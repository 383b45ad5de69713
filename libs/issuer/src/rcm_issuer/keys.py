"""The issuer's signing keys, kept in one file under var/ (mode 0600): generated on first start, rotated by a
command (`rcm issuer rotate-keys`) while the issuer runs.

The JWKS always publishes the next key before it signs anything: services that cached the key set (five
minutes) already hold the key a rotation switches to, so no token is ever refused for an unknown kid, whatever
their refetch rate limit. Rotation: the next key signs from now on, a new next key is published, and the key
replaced stays published for as long as a token it signed can live, then it is dropped at a later rotation or
start. The running issuer notices the file changed and reloads it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

ALGORITHM = "ES256"


@dataclass(frozen=True)
class StoredKey:
    key: ECKey
    created_at: float
    activated_at: float | None  # None: published, not yet signing (the next key)
    superseded_at: float | None

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    @property
    def state(self) -> str:
        if self.superseded_at is not None:
            return "retiring"
        return "signing" if self.activated_at is not None else "next"

    def as_dict(self) -> dict[str, Any]:
        return {"jwk": self.key.as_dict(private=True), "created_at": self.created_at,
                "activated_at": self.activated_at, "superseded_at": self.superseded_at}


def _new_key() -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"alg": ALGORITHM, "use": "sig"}, private=True)
    key.ensure_kid()  # the RFC 7638 thumbprint
    return key


def _write(path: Path, keys: list[StoredKey]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"keys": [k.as_dict() for k in keys]}, handle, indent=2)
    os.replace(temporary, path)


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def _read(path: Path) -> list[StoredKey]:
    document = json.loads(path.read_text())
    return [StoredKey(ECKey.import_key(entry["jwk"]), float(entry["created_at"]), _optional(entry["activated_at"]),
                      _optional(entry["superseded_at"])) for entry in document["keys"]]


def _prune(keys: list[StoredKey], overlap_seconds: float, now: float) -> list[StoredKey]:
    return [k for k in keys if k.superseded_at is None or now - k.superseded_at < overlap_seconds]


def ensure_keys(path: Path, overlap_seconds: float, now: float | None = None) -> list[StoredKey]:
    """The key file, created with a signing key and a next key if there is none; keys superseded long enough ago
    are dropped."""
    now = time.time() if now is None else now
    if not path.exists():
        keys = [StoredKey(_new_key(), now, now, None), StoredKey(_new_key(), now, None, None)]
        _write(path, keys)
        return keys
    keys = _read(path)
    kept = _prune(keys, overlap_seconds, now)
    if len(kept) != len(keys):
        _write(path, kept)
    return kept


def rotate(path: Path, overlap_seconds: float, now: float | None = None) -> tuple[StoredKey, list[str]]:
    """The next key signs from now on and a new next key is published; the key it replaces stays published for
    ``overlap_seconds``. Returns the new signing key and the kids that are no longer published."""
    now = time.time() if now is None else now
    keys = _read(path) if path.exists() else ensure_keys(path, overlap_seconds, now)
    rotated: list[StoredKey] = []
    for k in keys:
        if k.state == "signing":
            rotated.append(StoredKey(k.key, k.created_at, k.activated_at, now))
        elif k.state == "next":
            rotated.append(StoredKey(k.key, k.created_at, now, None))
        else:
            rotated.append(k)
    if not any(k.state == "signing" for k in rotated):  # no next key was published: promote a new one
        rotated.append(StoredKey(_new_key(), now, now, None))
    kept = [*_prune(rotated, overlap_seconds, now), StoredKey(_new_key(), now, None, None)]
    _write(path, kept)
    signing = next(k for k in kept if k.state == "signing")
    return signing, sorted({k.kid for k in keys} - {k.kid for k in kept})


class KeyRing:
    """What the running issuer signs with and publishes, reloaded when the key file changes."""

    def __init__(self, path: Path, overlap_seconds: float) -> None:
        self.path = path
        self.overlap_seconds = overlap_seconds
        self._keys = ensure_keys(path, overlap_seconds)
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int]:
        stat = self.path.stat()
        return stat.st_mtime_ns, stat.st_ino

    def _fresh(self) -> list[StoredKey]:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._keys = _read(self.path)
            self._stamp = stamp
        return self._keys

    @property
    def signing_key(self) -> ECKey:
        return next(k for k in reversed(self._fresh()) if k.state == "signing").key

    def jwks(self) -> dict[str, Any]:
        now = time.time()
        published = _prune(self._fresh(), self.overlap_seconds, now)
        return {"keys": [{**k.key.as_dict(private=False), "kid": k.kid} for k in published]}
