"""What routes reach: the service's parts, built once by ``bootstrap.build_services`` and handed over through
one typed dependency (``ServicesDep``), never read untyped from ``app.state``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rcm_shared.clock import Clock
from rcm_shared.db.database import Database
from rcm_shared.http.audit import AuditEntry

from eligibility.config import EligibilitySettings
from eligibility.domain.rulebook import EligibilityRules
from eligibility.service_layer.coverage_checks import PayerLink
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork, UnitsOfWork


@dataclass(frozen=True)
class EligibilityServices:
    settings: EligibilitySettings
    db: Database
    clock: Clock  # 'now'; the practice's dates follow from it by the nightly batch rules' zone
    rules: EligibilityRules
    uows: UnitsOfWork
    payer: PayerLink

    def audited(self, audit: AuditEntry) -> Callable[[], EligibilityUnitOfWork]:
        """Units of work that write the request's audit row in their transaction (a change and its audit row
        commit together)."""
        def build() -> EligibilityUnitOfWork:
            uow = self.uows()
            uow.before_commit(audit.record_in)
            return uow

        return build


def _services(request: Request) -> EligibilityServices:
    services: EligibilityServices = request.app.state.services
    return services


ServicesDep = Annotated[EligibilityServices, Depends(_services)]
