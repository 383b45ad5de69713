"""Where 270s go and 271s come from. The sandbox payer answers from a plan table shipped as data.

``PayerGateway.exchange`` is real time (one 270, one 271). ``BatchPayerGateway`` adds batch mode, as CAQH CORE
has it: ``submit_batch(x12_270, payload_id)`` hands a file of inquiries over and returns its PayloadID,
``retrieve_batch(payload_id)`` gives the 271 file or ``None`` while the payer is still working on it. A resend with
the same PayloadID is the same batch (CORE receivers recognise it; the sandbox answers it once).
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from importlib import resources
from typing import Protocol, runtime_checkable

from rcm_shared.x12.envelope import ControlNumbers

from eligibility.domain.sandbox_payer import SandboxPayer, SandboxPlanTable

MAX_SANDBOX_BATCHES = 200


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


@runtime_checkable
class BatchPayerGateway(Protocol):
    async def exchange(self, request_270: str) -> str: ...

    async def submit_batch(self, request_270: str, payload_id: str | None = None) -> str: ...

    async def retrieve_batch(self, payload_id: str) -> str | None: ...


class SandboxPayerGateway:
    def __init__(self, table: SandboxPlanTable | None = None) -> None:
        if table is None:
            raw = resources.files("eligibility.domain").joinpath("rules/sandbox_payer.json").read_text()
            table = SandboxPlanTable.from_dict(json.loads(raw))
        self._payer = SandboxPayer(table)
        self._counter = 0
        # Batch answers by PayloadID, in memory: a restart loses them and the run waits out its results window.
        self._batches: OrderedDict[str, str] = OrderedDict()

    async def exchange(self, request_270: str) -> str:
        return self._answer(request_270)

    async def submit_batch(self, request_270: str, payload_id: str | None = None) -> str:
        payload_id = payload_id or str(uuid.uuid4())
        if payload_id not in self._batches:  # the same PayloadID again is the same batch: answered once
            self._batches[payload_id] = self._answer(request_270)
            while len(self._batches) > MAX_SANDBOX_BATCHES:
                self._batches.popitem(last=False)
        return payload_id

    async def retrieve_batch(self, payload_id: str) -> str | None:
        return self._batches.get(payload_id)

    def _answer(self, request_270: str) -> str:
        self._counter += 1
        now = datetime.now(UTC)
        return self._payer.answer(request_270, ControlNumbers(self._counter, self._counter, 1, now))
