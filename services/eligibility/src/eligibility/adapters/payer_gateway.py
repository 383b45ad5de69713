"""Where 270s go and 271s come from. The sandbox payer answers from a plan table shipped as data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Protocol

from rcm_shared.x12.envelope import ControlNumbers

from eligibility.domain.sandbox_payer import SandboxPayer, SandboxPlanTable


class PayerUnavailable(Exception):
    """The payer or clearinghouse did not answer: the check can be retried later.

    ``error_code`` carries the connectivity layer's code when there is one (e.g. a CAQH CORE envelope
    ``ErrorCode`` such as ``UnAuthorized``); the message names codes and statuses only, never the payload.
    """

    def __init__(self, message: str = "payer unavailable", *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class PayerGateway(Protocol):
    async def exchange(self, request_270: str) -> str: ...


class SandboxPayerGateway:
    def __init__(self, table: SandboxPlanTable | None = None) -> None:
        if table is None:
            raw = resources.files("eligibility.domain").joinpath("rules/sandbox_payer.json").read_text()
            table = SandboxPlanTable.from_dict(json.loads(raw))
        self._payer = SandboxPayer(table)
        self._counter = 0

    async def exchange(self, request_270: str) -> str:
        self._counter += 1
        now = datetime.now(UTC)
        return self._payer.answer(request_270, ControlNumbers(self._counter, self._counter, 1, now))
