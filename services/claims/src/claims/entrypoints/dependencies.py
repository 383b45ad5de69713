"""What the routes reach through one typed dependency: the services the composition root built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from rcm_shared.clock import Clock
from rcm_shared.db.database import Database
from rcm_shared.http.group_commit import GroupCommit

from claims.adapters.clearinghouse import Clearinghouse
from claims.config import ClaimsSettings
from claims.domain.commands import RecordVisit
from claims.domain.rulebook import Rulebook
from claims.service_layer.responses import StatusInquiryPolicy
from claims.service_layer.submission import SubmissionSettings
from claims.service_layer.unit_of_work import UnitsOfWork
from claims.service_layer.visits import RecordedVisit


@dataclass(frozen=True)
class ClaimsServices:
    settings: ClaimsSettings
    db: Database
    uows: UnitsOfWork
    clock: Clock
    rules: Rulebook
    clearinghouse: Clearinghouse
    submission: SubmissionSettings
    inquiries: StatusInquiryPolicy
    intake: GroupCommit[RecordVisit, RecordedVisit]  # POST /v1/visits: concurrent visits recorded together


async def _services(request: Request) -> ClaimsServices:  # async: no thread hop per request
    services = request.app.state.services
    assert isinstance(services, ClaimsServices)
    return services


ServicesDep = Annotated[ClaimsServices, Depends(_services)]
