from __future__ import annotations

from rcm_shared.config import ServiceSettings
from rcm_shared.service import run_cli

from remittance.bootstrap import build_app, build_runtime, build_services
from remittance.config import RemittanceSettings


async def _migrate(settings: ServiceSettings) -> None:
    runtime = build_runtime(build_services(settings))
    await runtime.migrate()
    await runtime.db.dispose()


def main() -> None:
    run_cli(build_app, RemittanceSettings(), _migrate)


if __name__ == "__main__":
    main()
