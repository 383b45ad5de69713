"""``rcm-issuer [serve|rotate-keys|keys]``: run the local issuer, rotate its signing key, list its keys."""

from __future__ import annotations

import argparse
import json
import time

import uvicorn

from rcm_issuer.config import IssuerSettings
from rcm_issuer.keys import ensure_keys, rotate


def describe_keys(settings: IssuerSettings) -> list[dict[str, object]]:
    now = time.time()
    return [{"kid": k.kid, "state": k.state,
             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(k.created_at)),
             "published_for_seconds": None if k.superseded_at is None
             else max(0, int(settings.key_overlap_seconds - (now - k.superseded_at)))}
            for k in ensure_keys(settings.keys_file, settings.key_overlap_seconds, now)]


def main() -> None:
    parser = argparse.ArgumentParser(prog="rcm-issuer")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "rotate-keys", "keys"])
    args = parser.parse_args()
    settings = IssuerSettings()
    if args.command == "rotate-keys":
        new, dropped = rotate(settings.keys_file, settings.key_overlap_seconds)
        print(json.dumps({"signing_kid": new.kid, "no_longer_published": dropped}))
        return
    if args.command == "keys":
        print(json.dumps(describe_keys(settings), indent=2))
        return
    from rcm_shared.observability.logging import configure_logging

    from rcm_issuer.app import create_app

    configure_logging("issuer", settings.log_level)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None,
                access_log=False)


if __name__ == "__main__":
    main()
