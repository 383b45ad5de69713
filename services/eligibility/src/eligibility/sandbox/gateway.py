"""The sandbox payer behind the payer gateway's interface (``adapters.payer_gateway``): real time and CAQH CORE
style batch mode, answered in process from the plan table, for ``make run`` and tests."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import UTC, datetime

from rcm_shared.x12.envelope import ControlNumbers

from eligibility.sandbox.payer import SandboxPayer, SandboxPlanTable

MAX_SANDBOX_BATCHES = 200


class SandboxPayerGateway:
    """``exchange`` answers a 270 at once; ``submit_batch`` answers a batch when it is handed over and keeps the
    answer for ``retrieve_batch``. A resend with the same PayloadID is the same batch: answered once."""

    def __init__(self, table: SandboxPlanTable) -> None:
        self._payer = SandboxPayer(table)
        self._counter = 0
        # Batch answers by PayloadID, in memory: a restart loses them and the run waits out its results window.
        self._batches: OrderedDict[str, str] = OrderedDict()

    async def exchange(self, request_270: str) -> str:
        return self._answer(request_270)

    async def submit_batch(self, request_270: str, payload_id: str | None = None) -> str:
        payload_id = payload_id or str(uuid.uuid4())
        if payload_id not in self._batches:
            self._batches[payload_id] = self._answer(request_270)
            while len(self._batches) > MAX_SANDBOX_BATCHES:
                self._batches.popitem(last=False)
        return payload_id

    async def retrieve_batch(self, payload_id: str) -> str | None:
        return self._batches.get(payload_id)

    def _answer(self, request_270: str) -> str:
        self._counter += 1
        # The interchange's own creation stamp (ISA09/10, BHT): a wire fact, the real time, decides nothing.
        now = datetime.now(UTC)
        return self._payer.answer(request_270, ControlNumbers(self._counter, self._counter, 1, now))
