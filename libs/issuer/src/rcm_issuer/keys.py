"""The issuer's signing keys, kept in one file under var/ (mode 0600): generated on first start, rotated by a
command (`rcm issuer rotate-keys`) while the issuer runs.

Rotation: the new key signs from now on; the key it replaces stays published in the JWKS for as long as a token
it signed can live (so tokens in flight keep verifying), then it is dropped at the next rotation or start. The
running issuer notices the file changed and reloads it; services fetch the JWKS again when they meet the new kid.
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
    superseded_at: float | None

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def as_dict(self) -> dict[str, Any]:
        return {"jwk": self.key.as_dict(private=True), "created_at": self.created_at,
                "superseded_at": self.superseded_at}


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


def _read(path: Path) -> list[StoredKey]:
    document = json.loads(path.read_text())
    return [StoredKey(ECKey.import_key(entry["jwk"]), float(entry["created_at"]),
                      None if entry.get("superseded_at") is None else float(entry["superseded_at"]))
            for entry in document["keys"]]


def _prune(keys: list[StoredKey], overlap_seconds: float, now: float) -> list[StoredKey]:
    return [k for k in keys if k.superseded_at is None or now - k.superseded_at < overlap_seconds]


def ensure_keys(path: Path, overlap_seconds: float, now: float | None = None) -> list[StoredKey]:
    """The key file, created with one key if there is none; keys superseded long enough ago are dropped."""
    now = time.time() if now is None else now
    if not path.exists():
        keys = [StoredKey(_new_key(), now, None)]
        _write(path, keys)
        return keys
    keys = _read(path)
    kept = _prune(keys, overlap_seconds, now)
    if len(kept) != len(keys):
        _write(path, kept)
    return kept


def rotate(path: Path, overlap_seconds: float, now: float | None = None) -> tuple[StoredKey, list[str]]:
    """A new signing key; the previous one stays published for ``overlap_seconds``. Returns the new key and the
    kids that are no longer published."""
    now = time.time() if now is None else now
    keys = _read(path) if path.exists() else ensure_keys(path, overlap_seconds, now)
    superseded = [StoredKey(k.key, k.created_at, k.superseded_at or now) for k in keys]
    kept = _prune(superseded, overlap_seconds, now)
    new = StoredKey(_new_key(), now, None)
    _write(path, [*kept, new])
    return new, sorted({k.kid for k in keys} - {k.kid for k in kept})


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
        active = [k for k in self._fresh() if k.superseded_at is None]
        return active[-1].key

    def jwks(self) -> dict[str, Any]:
        now = time.time()
        published = _prune(self._fresh(), self.overlap_seconds, now)
        return {"keys": [{**k.key.as_dict(private=False), "kid": k.kid} for k in published]}
