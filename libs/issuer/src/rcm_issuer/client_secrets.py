"""Service clients' secrets: generated for the embedded platform under var/issuer/ (mode 0600), read by the
issuer and handed by `rcm up` to each service in its environment; elsewhere a mounted secret file."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path


def ensure_client_secrets(path: Path, client_ids: Iterable[str]) -> dict[str, str]:
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [c for c in client_ids if c not in known]
    if missing:
        for client_id in missing:
            known[client_id] = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(known, handle, indent=2)
        os.replace(temporary, path)
    return known


def secret_matches(known: dict[str, str], client_id: str, presented: str) -> bool:
    expected = known.get(client_id)
    # Compared in constant time; an unknown client is compared against itself so timing says nothing.
    return hmac.compare_digest((expected or presented).encode(), presented.encode()) and expected is not None
