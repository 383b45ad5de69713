from __future__ import annotations

from rcm_shared.config import ServiceSettings
from rcm_shared.service import run_cli

from patient_billing.bootstrap import build_app, build_runtime
from patient_billing.config import PatientBillingSettings


async def _migrate(settings: ServiceSettings) -> None:
    runtime = build_runtime(settings)
    await runtime.migrate()
    await runtime.db.dispose()


def main() -> None:
    run_cli(build_app, PatientBillingSettings(), _migrate)


if __name__ == "__main__":
    main()
