"""What the routes reach through one typed dependency: the services the composition root built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rcm_shared.clock import Clock
from rcm_shared.db.database import Database

from reporting.config import ReportingSettings
from reporting.domain.targets import ReportingRules
from reporting.service_layer.unit_of_work import UnitsOfWork


@dataclass(frozen=True)
class ReportingServices:
    settings: ReportingSettings
    db: Database
    clock: Clock
    rules: ReportingRules
    uows: UnitsOfWork


def _services(request: Request) -> ReportingServices:
    services = request.app.state.services
    assert isinstance(services, ReportingServices)
    return services


ServicesDep = Annotated[ReportingServices, Depends(_services)]
