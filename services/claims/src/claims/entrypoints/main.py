from __future__ import annotations

from rcm_shared.service import run_cli

from claims.bootstrap import build_app, migrate
from claims.config import ClaimsSettings


def main() -> None:
    run_cli(build_app, ClaimsSettings(), migrate)


if __name__ == "__main__":
    main()
