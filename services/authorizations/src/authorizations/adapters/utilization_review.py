"""Where 278 requests go: the payer's utilization-management review. The sandbox decides by rules kept as
data (domain/rules/sandbox_reviewer.json); a real connection (X12 278 over the clearinghouse, or Da Vinci
PAS) implements the same method."""

from __future__ import annotations

import json
from importlib import resources
from typing import Protocol

from authorizations.domain.sandbox_reviewer import ReviewDecision, ReviewRules, SandboxReviewer


class UtilizationReview(Protocol):
    async def submit(self, request_278: str) -> ReviewDecision: ...


class SandboxUtilizationReview:
    def __init__(self) -> None:
        raw = resources.files("authorizations.domain").joinpath("rules/sandbox_reviewer.json").read_text()
        self._reviewer = SandboxReviewer(ReviewRules.from_dict(json.loads(raw)))

    async def submit(self, request_278: str) -> ReviewDecision:
        return self._reviewer.review(request_278)
