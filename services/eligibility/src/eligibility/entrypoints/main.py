from __future__ import annotations

from rcm_shared.config import ServiceSettings
from rcm_shared.service import run_cli

from eligibility.bootstrap import build_app, migration_runtime
from eligibility.config import EligibilitySettings


async def _migrate(settings: ServiceSettings) -> None:
    assert isinstance(settings, EligibilitySettings)
    runtime = migration_runtime(settings)
    await runtime.migrate()
    await runtime.db.dispose()


def _app(settings: ServiceSettings) -> object:
    assert isinstance(settings, EligibilitySettings)
    return build_app(settings)


def main() -> None:
    run_cli(_app, EligibilitySettings(), _migrate)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
