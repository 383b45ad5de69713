"""Real-time and batch 270/271 over CAQH CORE Connectivity (rule vC2.2.0, HTTP MIME multipart).

Every exchange is one ``multipart/form-data`` POST whose form fields are the CORE envelope
(``PayloadType``, ``ProcessingMode``, ``PayloadID``, ``TimeStamp``, ``SenderID``, ``ReceiverID``,
``CORERuleVersion``, credentials in ``UserName``/``Password``, and the X12 in ``Payload``); the answer is a
multipart body with the same envelope fields plus ``ErrorCode``/``ErrorMessage``.

- ``CaqhCoreGateway.exchange(x12_270) -> x12_271`` (the ``PayerGateway`` protocol, ProcessingMode=RealTime).
- ``CaqhCoreGateway.submit_batch(x12_270, payload_id=None) -> payload_id`` (ProcessingMode=Batch, the night
  before the schedule; a resend passes the stored PayloadID) and ``CaqhCoreGateway.retrieve_batch(payload_id)
  -> x12_271 | None`` (BatchResultsRetrieval; ``None`` while the results file is not ready yet).

Every failure — transport error, 5xx, refusal, envelope error, an answer that is not a well-formed CORE
envelope — surfaces as ``PayerUnavailable`` (with ``error_code`` set to the CORE ``ErrorCode`` when the
server sent one). The payload is PHI: it is never logged and never put in an exception message.
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import ssl
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser

import httpx

from eligibility.domain.exceptions import PayerUnavailable

log = logging.getLogger(__name__)

CORE_RULE_VERSION = "2.2.0"
REAL_TIME = "RealTime"
BATCH = "Batch"
PAYLOAD_270 = "X12_270_Request_005010X279A1"
PAYLOAD_271 = "X12_271_Response_005010X279A1"
PAYLOAD_BATCH_RESULTS_REQUEST_271 = "X12_005010_Request_Batch_Results_271"
PAYLOAD_BATCH_RECEIPT = "X12_BatchReceiptConfirmation"
PAYLOAD_NO_BATCH_RESULTS = "X12_005010_Response_NoBatchResultsFile"
PAYLOAD_ENVELOPE_ERROR = "CoreEnvelopeError"
SUCCESS = "Success"


def core_timestamp(now: datetime | None = None) -> str:
    """CORE wants an XML dateTime in UTC, to the second."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_core_envelope(content_type: str, body: bytes) -> dict[str, str]:
    """The form fields of a multipart CORE answer; ``PayerUnavailable`` when it is not one."""
    if not content_type.lower().startswith("multipart/"):
        raise PayerUnavailable("CORE answer is not multipart", error_code="MalformedResponse")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart() or message.defects:
        raise PayerUnavailable("CORE answer is not well-formed multipart", error_code="MalformedResponse")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        raw = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(raw, bytes):
            raise PayerUnavailable("CORE answer has an unnamed part", error_code="MalformedResponse")
        try:
            fields[name] = raw.decode(part.get_content_charset() or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise PayerUnavailable(f"CORE field {name} is not text", error_code="MalformedResponse") from exc
    if not fields:
        raise PayerUnavailable("CORE answer has no fields", error_code="MalformedResponse")
    return fields


class CaqhCoreGateway:
    """A CAQH CORE (vC2.2.0, HTTP MIME multipart) endpoint of a payer or clearinghouse.

    Authentication is the CORE ``UserName``/``Password`` fields, a bearer token header, or both, as the
    trading partner asks. ``verify`` is ``True``, ``False`` (tests only), a CA bundle path or an SSL context.
    """

    def __init__(self, url: str, *, sender_id: str, receiver_id: str, username: str | None = None,
                 password: str | None = None, bearer_token: str | None = None, timeout: float = 30.0,
                 verify: bool | str | ssl.SSLContext = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not url:
            raise ValueError("payer_gateway_url is required for the CAQH CORE gateway")
        self.url = url
        self.sender_id, self.receiver_id = sender_id, receiver_id
        self._credentials = {"UserName": username, "Password": password} if username is not None else {}
        if isinstance(verify, str):  # a CA bundle path; httpx 0.28 deprecates passing the path itself
            verify = ssl.create_default_context(cafile=verify)
        headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else {}
        self._client_args: dict[str, object] = {
            "timeout": timeout, "headers": headers, "verify": verify, "transport": transport}

    # ------------------------------------------------------------------------------------ public API

    async def exchange(self, request_270: str) -> str:
        payload_id = str(uuid.uuid4())
        answer = await self._post(self._envelope(REAL_TIME, PAYLOAD_270, payload_id, request_270))
        self._expect(answer, PAYLOAD_271, payload_id)
        payload = answer.get("Payload", "")
        if not payload.strip():
            raise PayerUnavailable("CORE 271 answer has an empty Payload", error_code="MalformedResponse")
        return payload

    async def submit_batch(self, request_270: str, payload_id: str | None = None) -> str:
        """Hand a batch 270 over; the returned PayloadID is what ``retrieve_batch`` asks for later. Pass the
        PayloadID when resending a batch whose receipt was lost: the receiver sees the same batch again."""
        payload_id = payload_id or str(uuid.uuid4())
        encoded = request_270.encode()
        fields = self._envelope(BATCH, PAYLOAD_270, payload_id, request_270)
        fields["PayloadLength"] = str(len(encoded))
        fields["Checksum"] = hashlib.sha1(encoded, usedforsecurity=False).hexdigest()
        self._expect(await self._post(fields), PAYLOAD_BATCH_RECEIPT, payload_id)
        return payload_id

    async def retrieve_batch(self, payload_id: str) -> str | None:
        """The batch 271 for a submitted PayloadID, or ``None`` while the payer has not produced it yet."""
        answer = await self._post(self._envelope(BATCH, PAYLOAD_BATCH_RESULTS_REQUEST_271, payload_id, None))
        if answer.get("PayloadType") == PAYLOAD_NO_BATCH_RESULTS:
            self._expect(answer, PAYLOAD_NO_BATCH_RESULTS, payload_id)
            return None
        self._expect(answer, PAYLOAD_271, payload_id)
        payload = answer.get("Payload", "")
        if not payload.strip():
            raise PayerUnavailable("CORE batch 271 has an empty Payload", error_code="MalformedResponse")
        checksum = answer.get("Checksum")
        if checksum and checksum.lower() != hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest():
            raise PayerUnavailable("CORE batch 271 fails its Checksum", error_code="ChecksumMismatch")
        return payload

    # ------------------------------------------------------------------------------------ envelope

    def _envelope(self, mode: str, payload_type: str, payload_id: str, payload: str | None) -> dict[str, str]:
        fields = {"PayloadType": payload_type, "ProcessingMode": mode, "PayloadID": payload_id,
                  "TimeStamp": core_timestamp(), "SenderID": self.sender_id, "ReceiverID": self.receiver_id,
                  "CORERuleVersion": CORE_RULE_VERSION}
        fields.update({k: v for k, v in self._credentials.items() if v is not None})
        if payload is not None:
            fields["Payload"] = payload
        return fields

    @staticmethod
    def _expect(answer: Mapping[str, str], payload_type: str, payload_id: str) -> None:
        got_type = answer.get("PayloadType")
        if got_type != payload_type:
            shown = (got_type or "")[:64]  # the server's text: bounded, it ends up in logs
            raise PayerUnavailable(f"CORE answer has PayloadType {shown!r}, expected {payload_type}",
                                   error_code="MalformedResponse")
        if answer.get("PayloadID", payload_id) != payload_id:
            raise PayerUnavailable("CORE answer is for another PayloadID", error_code="MalformedResponse")

    async def _post(self, fields: Mapping[str, str]) -> dict[str, str]:
        meta = f"PayloadType={fields['PayloadType']} ProcessingMode={fields['ProcessingMode']} " \
               f"PayloadID={fields['PayloadID']}"
        form = [(name, (None, value.encode())) for name, value in fields.items()]
        try:
            async with httpx.AsyncClient(**self._client_args) as client:  # type: ignore[arg-type]
                response = await client.post(self.url, files=form)
        except httpx.HTTPError as exc:
            log.warning("CORE exchange failed: %s (%s)", type(exc).__name__, meta)
            raise PayerUnavailable(f"CORE endpoint unreachable: {type(exc).__name__}",
                                   error_code="TransportError") from exc
        try:
            answer = decode_core_envelope(response.headers.get("content-type", ""), response.content)
        except PayerUnavailable:
            if response.status_code != httpx.codes.OK:  # a proxy's error page: the status says more
                log.warning("CORE endpoint answered HTTP %s (%s)", response.status_code, meta)
                raise PayerUnavailable(f"CORE endpoint answered HTTP {response.status_code}",
                                       error_code=f"HTTP{response.status_code}") from None
            log.warning("CORE endpoint answered a malformed envelope (%s)", meta)
            raise
        code = answer.get("ErrorCode", SUCCESS) or SUCCESS
        if answer.get("PayloadType") == PAYLOAD_ENVELOPE_ERROR or code != SUCCESS:
            code = code if code != SUCCESS else PAYLOAD_ENVELOPE_ERROR
            log.warning("CORE envelope error %s, HTTP %s (%s)", code, response.status_code, meta)
            raise PayerUnavailable(f"CORE envelope error {code}", error_code=code)
        if response.status_code != httpx.codes.OK:
            log.warning("CORE endpoint answered HTTP %s (%s)", response.status_code, meta)
            raise PayerUnavailable(f"CORE endpoint answered HTTP {response.status_code}",
                                   error_code=f"HTTP{response.status_code}")
        log.info("CORE exchange done (%s)", meta)
        return answer
