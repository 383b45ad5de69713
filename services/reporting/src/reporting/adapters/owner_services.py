"""The console's calls to the other services, always with the signed-in person's own token (and the practice they
work in, ``X-Practice-Id``): the owner of a queue decides what that person may see and do.

Two shapes of queue:

- the shared work-item kernel (``rcm_shared.work_items``): a service that serves ``GET /v1/work-queues`` has its
  queues there, listed with ``GET /v1/work-items`` (queue, state, payer, clinician, program, assignee, amount, age,
  due filters) and worked with ``POST /v1/work-items/{id}/actions``; every queue it names is shown, with the
  kernel's actions;
- the queues the services serve in their own shape until they move onto the kernel (``QUEUES`` below: the held
  claims, denials by routing, ERA exceptions ...). A service found on the kernel has moved: its own-shape queues
  are not asked for any more.

And the sign-in: the issuer's development login (``urn:rcm:params:oauth:grant-type:development-login``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

DEVELOPMENT_LOGIN = "urn:rcm:params:oauth:grant-type:development-login"
KERNEL = "kernel"
TIMEOUT = httpx.Timeout(15.0, connect=3.0)


@dataclass(frozen=True)
class ActionField:
    name: str
    label: str
    kind: str = "text"  # text | select | number
    options: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class QueueAction:
    key: str
    label: str
    path: str  # with {id}
    scope: str
    fields: tuple[ActionField, ...] = ()
    idempotent: bool = False  # the owner wants an Idempotency-Key


@dataclass(frozen=True)
class QueueSpec:
    """One queue a service serves in its own shape (before the kernel)."""

    key: str
    label: str
    service: str
    path: str
    read_scope: str
    id_field: str
    columns: tuple[tuple[str, str], ...]  # (field, heading); a heading ending in "$" is money
    params: Mapping[str, str] = field(default_factory=dict)
    filters: tuple[tuple[str, str], ...] = ()  # (query parameter, label)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # a filter's values, when they are few
    items_key: str = "items"
    actions: tuple[QueueAction, ...] = ()
    about: str = ""
    reported: bool = False  # its items are claims that left (reporting holds them: a row opens the claim's story)


QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec("held-claims", "Held claims", "claims", "/v1/claims", "claims:read", "claim_id",
              (("claim_id", "Claim"), ("payer_id", "Payer"), ("date_of_service", "Date of service"),
               ("total_charge", "Charge $"), ("findings", "Why held")),
              params={"status": "held"}, filters=(("payer_id", "Payer"),),
              actions=(QueueAction("scrub", "Scrub again", "/v1/claims/{id}/scrub", "claims:write"),),
              about="Claims the scrubber stopped: fix the cause (credentialing, eligibility, coding), then scrub "
                    "again."),
    QueueSpec("rejected-claims", "Rejected claims", "claims", "/v1/claims", "claims:read", "claim_id",
              (("claim_id", "Claim"), ("payer_id", "Payer"), ("date_of_service", "Date of service"),
               ("total_charge", "Charge $"), ("findings", "Findings")),
              params={"status": "rejected"}, filters=(("payer_id", "Payer"),),
              actions=(QueueAction("correct", "Correct and resubmit", "/v1/claims/{id}/corrections", "claims:write",
                                   (ActionField("member_id", "Member id", required=False),
                                    ActionField("prior_authorization_number", "Authorization number",
                                                required=False),
                                    ActionField("note", "Note", required=False)), idempotent=True),),
              about="Claims the clearinghouse or payer rejected: correct and send a replacement.", reported=True),
    QueueSpec("denials", "Denials by routing", "remittance", "/v1/denials", "remittance:read", "denial_id",
              (("claim_id", "Claim"), ("payer_id", "Payer"), ("category", "Category"), ("queue", "Routed to"),
               ("reason_codes", "Reasons"), ("amount", "Amount $"), ("suggested_action", "Suggested")),
              filters=(("queue", "Routed to"), ("category", "Category")),
              # remittance's rules/denials.yaml: routing queues and categories
              choices={"queue": ("billing", "senior", "clinical_liaison"),
                       "category": ("authorization_exhausted_or_missing", "coding", "coordination_of_benefits",
                                    "documentation_medical_necessity", "duplicate", "eligibility",
                                    "not_covered_mh_benefit_or_carve_out", "provider_not_credentialed",
                                    "telehealth_limitation", "timely_filing", "visit_limit_exceeded", "other")},
              about="Classified denials, routed to the billing team, senior billers or the clinical liaison.",
              reported=True),
    QueueSpec("era-exceptions", "ERA exceptions", "remittance", "/v1/era-exceptions", "remittance:read",
              "exception_id", (("era_id", "ERA"), ("kind", "Kind"), ("raised_at", "Raised")),
              actions=(QueueAction("resolve", "Settle duplicate", "/v1/era-exceptions/{id}/resolution",
                                   "remittance:write",
                                   (ActionField("decision", "Decision", "select",
                                                ("refunded", "recouped", "not_received", "apply")),
                                    ActionField("note", "Note", required=False))),),
              about="ERAs or payments that could not be posted."),
    QueueSpec("unapplied-cash", "Unmatched cash", "remittance", "/v1/unapplied-cash", "remittance:read",
              "posting_id", (("era_id", "ERA"), ("payer_claim_number", "Payer claim no."), ("paid", "Paid $"),
                             ("posted_at", "Posted")),
              about="Payments that matched none of the practice's claims."),
    QueueSpec("eligibility", "Eligibility work items", "eligibility", "/v1/work-items", "eligibility:read", "item_id",
              (("kind", "Kind"), ("payer_id", "Payer"), ("service_date", "Visit"), ("next_action", "Next action"),
               ("occurrences", "Seen")),
              actions=(QueueAction("resolve", "Mark done", "/v1/work-items/{id}/resolve", "eligibility:write"),),
              about="Coverage checks that need a person: inactive coverage, rejections, payer unavailable."),
    QueueSpec("missing-authorizations", "Authorizations missing", "authorizations", "/v1/work-queue",
              "authorizations:read", "visit_id", (("payer_id", "Payer"), ("service_date", "Visit"),
                                                  ("cpt_code", "CPT"), ("reason", "Why")),
              items_key="missing_authorizations", about="Visits that needed an authorization none covered."),
    QueueSpec("renewals-due", "Authorizations running out", "authorizations", "/v1/work-queue",
              "authorizations:read", "authorization_number",
              (("authorization_number", "Authorization"), ("payer_id", "Payer"), ("due_by", "Due by"),
               ("triggers", "Why")),
              items_key="renewals_due", about="Authorizations near their last unit or last day: request more."),
    QueueSpec("refunds", "Credit balances to refund", "patient-billing", "/v1/work-items/refunds",
              "patient-billing:read", "account_id", (("account_id", "Account"), ("refund_due", "Refund due $"),
                                                     ("work", "Work")),
              about="Accounts in credit with nothing open: money to give back."),
    QueueSpec("reassessments-due", "Sliding-scale reassessments due", "patient-billing",
              "/v1/sliding-scale/reassessments-due", "patient-billing:read", "patient_id",
              (("proof_expires_on", "Proof expires"), ("expired", "Expired")),
              about="Proof of income running out: ask for a new one."),
)
QUEUE_SCOPES = frozenset(q.read_scope for q in QUEUES) | frozenset(
    {"claims:read", "remittance:read", "eligibility:read", "authorizations:read", "patient-billing:read"})
#: The kernel's read scope per service (the one its work_items_router is built with).
SERVICE_READ_SCOPES = {"claims": "claims:read", "remittance": "remittance:read", "eligibility": "eligibility:read",
                       "authorizations": "authorizations:read", "patient-billing": "patient-billing:read"}
SERVICE_WRITE_SCOPES = {"claims": "claims:write", "remittance": "remittance:write",
                        "eligibility": "eligibility:write", "authorizations": "authorizations:write",
                        "patient-billing": "patient-billing:write"}
#: How the console names the kernel queues the services open on main (a queue it does not know is shown by its name),
#: and the resolution codes each allows (rules of the owner; offered as suggestions, the owner decides).
KERNEL_QUEUES: dict[str, tuple[str, str, str]] = {  # name -> (service, label, what it holds)
    "held_claims": ("claims", "Held claims", "Claims the scrubber stopped: fix the cause, then release."),
    "rejected_claims": ("claims", "Rejected claims", "Claims the clearinghouse or payer rejected."),
    "billing": ("remittance", "Denials: billing team", "Denials routed to the billing team."),
    "senior": ("remittance", "Denials: senior billers", "Denials over the senior threshold."),
    "clinical_liaison": ("remittance", "Denials: clinical liaison", "Documentation and medical-necessity denials."),
    "appeals": ("remittance", "Appeals due", "Appeals and their filing deadlines."),
    "era_exceptions": ("remittance", "ERA exceptions", "ERAs or payments that could not be posted."),
    "unapplied_cash": ("remittance", "Unmatched cash", "Payments that matched none of the practice's claims."),
    "plb_recoupments": ("remittance", "PLB recoupments", "Payer recoupments to tie to their claims."),
    "eligibility": ("eligibility", "Eligibility work items", "Coverage checks that need a person."),
    "missing_authorizations": ("authorizations", "Authorizations missing",
                               "Visits that needed an authorization none covered."),
    "authorization_renewals": ("authorizations", "Authorizations running out",
                               "Authorizations near their last unit or day: request more."),
    "card-declined": ("patient-billing", "Declined cards", "Card payments the processor declined."),
    "installment-missed": ("patient-billing", "Missed plan installments", "Payment-plan installments not paid."),
    "collections-hold": ("patient-billing", "Collections on hold", "Balances held in the collections follow-up."),
}
KERNEL_QUEUE_LABELS = {name: label for name, (_, label, _) in KERNEL_QUEUES.items()}
DENIAL_OUTCOMES = ("corrected_resubmission", "appealed", "written_off", "billed_to_patient", "recovered")
KERNEL_RESOLUTIONS = {
    "held_claims": ("released", "closed"), "rejected_claims": ("closed",), "billing": DENIAL_OUTCOMES,
    "senior": DENIAL_OUTCOMES, "clinical_liaison": DENIAL_OUTCOMES,
    "eligibility": ("resolved", "coverage_updated", "patient_self_pay"),
    "missing_authorizations": ("requested", "not_needed"),
    "authorization_renewals": ("renewal_requested", "not_needed"),
    "unapplied_cash": ("returned_to_payer", "applied_to_claim"),
}
#: Kernel queues whose claims have left (reporting holds them: a row opens the claim's story).
REPORTED_QUEUES = frozenset({"rejected_claims", "billing", "senior", "clinical_liaison", "appeals"})
KERNEL_FILTERS = (("payer_id", "Payer"), ("clinician_npi", "Clinician NPI"), ("program", "Program"),
                  ("category", "Category"), ("assignee", "Assignee"), ("min_amount", "Min amount"),
                  ("min_age_days", "Older than (days)"), ("due_within_days", "Due within (days)"))
KERNEL_SORTS = ("priority", "due", "amount", "age", "updated")
KERNEL_STATES = ("open", "in_progress", "waiting_on_payer", "waiting_on_clinician", "waiting_on_patient",
                 "reopened", "resolved")


class OwnerUnavailable(Exception):
    """An owner service did not answer (down, timed out)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def problem(self) -> str:
        """What a refusal says, for a person: the problem's title and the fields it names."""
        if isinstance(self.body, dict):
            errors = "; ".join(f"{e.get('field', '')}: {e.get('message', '')}" for e in self.body.get("errors") or []
                               if isinstance(e, dict))
            text = self.body.get("detail") or self.body.get("title") or self.body.get("error_description") or ""
            return f"{text} {errors}".strip() or f"HTTP {self.status}"
        return f"HTTP {self.status}"


@dataclass(frozen=True)
class KernelQueue:
    service: str
    queue: str
    active: int


class OwnerServices:
    def __init__(self, urls: Mapping[str, str], client: httpx.AsyncClient | None = None,
                 kernel_cache_seconds: float = 60.0) -> None:
        self.urls = dict(urls)
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT)
        self._kernel: dict[str, tuple[float, bool]] = {}
        self._cache_seconds = kernel_cache_seconds

    async def close(self) -> None:
        await self._client.aclose()

    def _headers(self, token: str, practice: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "X-Practice-Id": practice, "Accept": "application/json"}

    async def call(self, method: str, service: str, path: str, token: str, practice: str, *,
                   params: Mapping[str, str] | list[tuple[str, str]] | None = None, json: Any = None,
                   idempotency_key: str | None = None) -> Answer:
        base = self.urls.get(service)
        if base is None:
            raise OwnerUnavailable(service)
        headers = self._headers(token, practice)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = await self._client.request(method, base.rstrip("/") + path,
                                                  params=_query(params), json=json,
                                                  headers=headers)
        except httpx.HTTPError as exc:
            raise OwnerUnavailable(service) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(response.status_code, body)

    # ---------------------------------------------------------------------------------------------- the kernel

    async def kernel_queues(self, service: str, token: str, practice: str) -> list[KernelQueue] | None:
        """The service's queues on the kernel with their active counts; None when it serves none (not moved)."""
        cached = self._kernel.get(service)
        if cached is not None and not cached[1] and time.monotonic() - cached[0] < self._cache_seconds:
            return None
        answer = await self.call("GET", service, "/v1/work-queues", token, practice)
        self._kernel[service] = (time.monotonic(), answer.status != 404)
        if answer.status == 404 or not answer.ok or not isinstance(answer.body, list):
            return None
        counts: dict[str, int] = {}
        for row in answer.body:
            if row.get("state") != "resolved":
                counts[row["queue"]] = counts.get(row["queue"], 0) + int(row.get("count", 0))
        return [KernelQueue(service, q, n) for q, n in sorted(counts.items())]

    async def kernel_items(self, service: str, token: str, practice: str, params: list[tuple[str, str]]
                           ) -> Answer:
        return await self.call("GET", service, "/v1/work-items", token, practice, params=params)

    async def kernel_act(self, service: str, item_id: str, token: str, practice: str, body: dict[str, Any]
                         ) -> Answer:
        return await self.call("POST", service, f"/v1/work-items/{item_id}/actions", token, practice, json=body)

    # ---------------------------------------------------------------------------------------------- own shapes

    async def queue_items(self, spec: QueueSpec, token: str, practice: str, filters: Mapping[str, str]) -> Answer:
        params = {**spec.params, **{k: v for k, v in filters.items() if v and k in dict(spec.filters)}}
        if spec.path in {"/v1/claims", "/v1/denials"}:
            params.setdefault("limit", "200")
        answer = await self.call("GET", spec.service, spec.path, token, practice, params=params)
        if answer.ok and isinstance(answer.body, dict):
            items = answer.body.get(spec.items_key) or []
            return Answer(answer.status, [i for i in items if isinstance(i, dict)])
        return answer

    async def queue_act(self, spec: QueueSpec, action: QueueAction, item_id: str, token: str, practice: str,
                        values: Mapping[str, str]) -> Answer:
        body = {f.name: values[f.name] for f in action.fields if values.get(f.name)}
        return await self.call("POST", spec.service, action.path.format(id=item_id), token, practice,
                               json=body if action.fields else None,
                               idempotency_key=str(uuid.uuid4()) if action.idempotent else None)

    async def moved_services(self, token: str, practice: str, services: list[str]) -> dict[str, list[KernelQueue]]:
        """Of the services named, those on the kernel, with their queues (asked at once)."""
        found = await asyncio.gather(*(self._safe_kernel(s, token, practice) for s in services))
        return {s: q for s, q in zip(services, found, strict=True) if q is not None}

    async def _safe_kernel(self, service: str, token: str, practice: str) -> list[KernelQueue] | None:
        try:
            return await self.kernel_queues(service, token, practice)
        except OwnerUnavailable:
            return None


def _query(params: Mapping[str, str] | list[tuple[str, str]] | None) -> httpx.QueryParams | None:
    if not params:
        return None
    return httpx.QueryParams(tuple(params.items() if isinstance(params, Mapping) else params))


class IssuerLogin:
    """The issuer's development login: a token for a user name, a role, the practice(s) and a clinician's NPI."""

    def __init__(self, token_url: str, client: httpx.AsyncClient | None = None) -> None:
        self.token_url = token_url
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT)

    async def close(self) -> None:
        await self._client.aclose()

    async def sign_in(self, username: str, role: str, practices: list[str], npi: str | None) -> Answer:
        form = {"grant_type": DEVELOPMENT_LOGIN, "username": username, "role": role, "practice": " ".join(practices)}
        if npi:
            form["npi"] = npi
        try:
            response = await self._client.post(self.token_url, data=form)
        except httpx.HTTPError as exc:
            raise OwnerUnavailable("issuer") from exc
        try:
            return Answer(response.status_code, response.json())
        except ValueError:
            return Answer(response.status_code, None)
