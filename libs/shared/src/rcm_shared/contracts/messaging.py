"""Events of secure messaging between a patient and a clinician (the EHR's or the messaging platform's)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from rcm_shared.contracts import topics
from rcm_shared.contracts.base import EventPayload

MessageDirection = Literal["patient_to_clinician", "clinician_to_patient"]


class MessageExchangedV1(EventPayload):
    """Keyed by ``message_id`` (never the patient)."""

    event_type = "message.exchanged"
    topic = topics.MESSAGE_EXCHANGED
    summary = ("A secure message between a patient and a clinician was sent (who, which way, when, and the "
               "clinician's minutes on it where the platform knows them); patient billing meters it.")

    message_id: str
    practice_id: str
    patient_id: str
    clinician_id: str
    direction: MessageDirection
    sent_at: datetime
    thread_id: str | None = None
    minutes: int | None = Field(default=None, ge=0)  # the clinician's time on it, where known
    clinician_credential: str | None = None  # e.g. LCSW, PhD, MD (the digital E/M code family follows it)
