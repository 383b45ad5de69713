"""The reporting process: ``rcm-reporting serve | migrate``."""

from __future__ import annotations

from fastapi import FastAPI
from rcm_shared.clock import SystemClock
from rcm_shared.config import ServiceSettings
from rcm_shared.service import run_cli

from reporting.bootstrap import build_app, build_runtime, build_services
from reporting.config import ReportingSettings


def _app(settings: ServiceSettings) -> FastAPI:
    assert isinstance(settings, ReportingSettings)
    return build_app(settings)


async def _migrate(settings: ServiceSettings) -> None:
    assert isinstance(settings, ReportingSettings)
    runtime = build_runtime(build_services(settings, SystemClock(settings.practice_time_zone)))
    await runtime.migrate()
    await runtime.db.dispose()


def main() -> None:
    run_cli(_app, ReportingSettings(), _migrate)


if __name__ == "__main__":
    main()
