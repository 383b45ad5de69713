"""Where 270s go and 271s come from: the payer gateway's interface. Implementations: the CAQH CORE client
(``caqh_core.py``) and the sandbox payer (``eligibility.sandbox.gateway``); a failure to get an answer is
``domain.exceptions.PayerUnavailable``.

``PayerGateway.exchange`` is real time (one 270, one 271). ``BatchPayerGateway`` adds batch mode, as CAQH CORE
has it: ``submit_batch(x12_270, payload_id)`` hands a file of inquiries over and returns its PayloadID,
``retrieve_batch(payload_id)`` gives the 271 file or ``None`` while the payer is still working on it. A resend with
the same PayloadID is the same batch (CORE receivers recognise it; the sandbox answers it once).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class PayerGateway(Protocol):
    async def exchange(self, request_270: str) -> str: ...


@runtime_checkable
class BatchPayerGateway(Protocol):
    async def exchange(self, request_270: str) -> str: ...

    async def submit_batch(self, request_270: str, payload_id: str | None = None) -> str: ...

    async def retrieve_batch(self, payload_id: str) -> str | None: ...
