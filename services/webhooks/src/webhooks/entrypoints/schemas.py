"""Request bodies of the webhooks API."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from webhooks.domain.commands import RegisterEndpoint, ReplayEvents

ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="https:// URL the events are POSTed to")
    event_types: list[str] = Field(min_length=1, max_length=100,
                                   description="event types (claim.submitted), families (claim.*) or *")
    include_phi: bool = Field(default=False, description="deliver the whole event (needs the practice's opt-in "
                                                         "and an https:// URL); otherwise ids and non-PHI facts")
    description: str = Field(default="", max_length=200)

    def to_command(self, practice_id: str) -> RegisterEndpoint:
        return RegisterEndpoint(practice_id, self.url, tuple(t.strip() for t in self.event_types), self.include_phi,
                                self.description)


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str | None = Field(default=None, pattern=ID, description="one event again")
    since: AwareDatetime | None = Field(default=None, description="every matching event received from ...")
    until: AwareDatetime | None = Field(default=None, description="... up to (not including) this instant")

    def to_command(self, practice_id: str, endpoint_id: str) -> ReplayEvents:
        return ReplayEvents(practice_id, endpoint_id, self.event_id, _utc(self.since), _utc(self.until))


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phi_opt_in: bool = Field(description="the practice allows endpoints that ask for it to receive PHI "
                                         "(a business associate agreement with each integrator is the practice's)")


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None
