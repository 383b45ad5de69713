from __future__ import annotations

from rcm_shared.clock import SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.service import run_cli

from authorizations.bootstrap import build_app, build_runtime
from authorizations.config import AuthorizationsSettings


async def _migrate(settings: ServiceSettings) -> None:
    runtime = build_runtime(settings, SystemClock(settings.practice_time_zone))
    await runtime.migrate()
    await runtime.db.dispose()


def main() -> None:
    run_cli(build_app, AuthorizationsSettings(), _migrate)


if __name__ == "__main__":
    main()
