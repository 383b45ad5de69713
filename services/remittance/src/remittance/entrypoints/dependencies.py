"""What the routes reach through one typed dependency: the services the composition root built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rcm_shared.db.database import Database

from remittance.config import RemittanceSettings
from remittance.domain.rulebook import Rulebook
from remittance.service_layer.unit_of_work import UnitsOfWork


@dataclass(frozen=True)
class RemittanceServices:
    settings: RemittanceSettings
    db: Database
    rules: Rulebook
    uows: UnitsOfWork


def _services(request: Request) -> RemittanceServices:
    services = request.app.state.services
    assert isinstance(services, RemittanceServices)
    return services


ServicesDep = Annotated[RemittanceServices, Depends(_services)]
