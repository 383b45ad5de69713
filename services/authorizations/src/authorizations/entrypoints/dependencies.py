"""What the routes reach through one typed dependency: the services the composition root built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rcm_shared.clock import Clock
from rcm_shared.db.database import Database

from authorizations.adapters.utilization_review import UtilizationReview
from authorizations.config import AuthorizationsSettings
from authorizations.domain.rulebook import Rulebook
from authorizations.service_layer.unit_of_work import UnitsOfWork


@dataclass(frozen=True)
class AuthorizationsServices:
    settings: AuthorizationsSettings
    db: Database
    clock: Clock
    rules: Rulebook
    uows: UnitsOfWork
    utilization_review: UtilizationReview


def _services(request: Request) -> AuthorizationsServices:
    services = request.app.state.services
    assert isinstance(services, AuthorizationsServices)
    return services


ServicesDep = Annotated[AuthorizationsServices, Depends(_services)]
