"""HTTP routes of webhooks: parse, call one use case, answer. Every route needs webhooks:read or webhooks:write
and is audited; domain refusals become problem+json in one place (``bootstrap.DOMAIN_ERRORS``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from rcm_shared.http.audit import audited
from rcm_shared.http.auth import Principal, require_scope

from webhooks.domain.commands import SetPhiOptIn
from webhooks.domain.exceptions import EndpointNotFound
from webhooks.entrypoints.dependencies import ServicesDep
from webhooks.entrypoints.schemas import ID, EndpointIn, ReplayIn, SettingsIn
from webhooks.service_layer import endpoints, replay, views

router = APIRouter(prefix="/v1", tags=["webhooks"])
Reader = Annotated[Principal, require_scope("webhooks:read")]
Writer = Annotated[Principal, require_scope("webhooks:write")]
EndpointId = Annotated[str, Path(pattern=ID, max_length=64)]


@router.get("/webhook-event-types", summary="The event types an endpoint can subscribe to",
            dependencies=[audited("webhook-event-type")])
async def event_types(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    return {"items": list(services.event_types)}


@router.get("/webhook-settings", summary="The practice's webhook settings (PHI opt-in)",
            dependencies=[audited("webhook-settings")])
async def get_settings(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        opted_in = await uow.settings.phi_opt_in(principal.practice_id)
    return {"phi_opt_in": opted_in}


@router.put("/webhook-settings", summary="Opt the practice in to (or out of) PHI in webhooks",
            dependencies=[audited("webhook-settings", "write")])
async def put_settings(body: SettingsIn, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        await endpoints.set_phi_opt_in(uow, SetPhiOptIn(principal.practice_id, body.phi_opt_in),
                                       now=services.clock.now())
    return {"phi_opt_in": body.phi_opt_in}


@router.post("/webhook-endpoints", status_code=201, summary="Register an endpoint (its signing secret is shown "
             "once, here)", dependencies=[audited("webhook-endpoint", "write")])
async def register(body: EndpointIn, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    now = services.clock.now()
    async with services.uows() as uow:
        endpoint = await endpoints.register(uow, body.to_command(principal.practice_id),
                                            known_types=services.event_types,
                                            policy=services.policy_for(principal.practice_id),
                                            resolver=services.resolver, now=now)
    return {**views.endpoint_view(endpoint), "secret": endpoint.secrets_in_force(now)[0]}


@router.get("/webhook-endpoints", summary="The practice's endpoints", dependencies=[audited("webhook-endpoint")])
async def list_endpoints(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        found = await uow.endpoints.of_practices([principal.practice_id])
    return {"items": [views.endpoint_view(e) for e in found]}


@router.get("/webhook-endpoints/{endpoint_id}", summary="One endpoint", dependencies=[audited("webhook-endpoint")])
async def get_endpoint(endpoint_id: EndpointId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        endpoint = await uow.endpoints.get(principal.practice_id, endpoint_id)
    if endpoint is None:
        raise EndpointNotFound("no such endpoint")
    return views.endpoint_view(endpoint)


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204, summary="Delete an endpoint (its queued "
               "deliveries are given up; its log stays)", dependencies=[audited("webhook-endpoint", "write")])
async def delete_endpoint(endpoint_id: EndpointId, principal: Writer, services: ServicesDep) -> Response:
    async with services.uows() as uow:
        await endpoints.delete(uow, principal.practice_id, endpoint_id, now=services.clock.now())
    return Response(status_code=204)


@router.post("/webhook-endpoints/{endpoint_id}/enable", summary="Enable an endpoint again (after 410 Gone, "
             "persistent failure or a pause); what was held is delivered",
             dependencies=[audited("webhook-endpoint", "write")])
async def enable(endpoint_id: EndpointId, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        endpoint = await endpoints.enable(uow, principal.practice_id, endpoint_id,
                                          policy=services.policy_for(principal.practice_id),
                                          resolver=services.resolver, now=services.clock.now())
    return views.endpoint_view(endpoint)


@router.post("/webhook-endpoints/{endpoint_id}/disable", summary="Pause an endpoint (events are held for it)",
             dependencies=[audited("webhook-endpoint", "write")])
async def disable(endpoint_id: EndpointId, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        endpoint = await endpoints.pause(uow, principal.practice_id, endpoint_id, now=services.clock.now())
    return views.endpoint_view(endpoint)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", summary="A new signing secret; the previous one "
             "keeps signing (both signatures sent) until the overlap ends",
             dependencies=[audited("webhook-endpoint", "write")])
async def rotate_secret(endpoint_id: EndpointId, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    now = services.clock.now()
    async with services.uows() as uow:
        rotated = await endpoints.rotate_secret(uow, principal.practice_id, endpoint_id,
                                                schedule=services.rules.delivery.on(now.date()), now=now)
    return {"secret": rotated.secret, "previous_secret_expires_at": rotated.previous_expires_at.isoformat()}


@router.post("/webhook-endpoints/{endpoint_id}/test", status_code=202, summary="Send a test event to the endpoint",
             dependencies=[audited("webhook-endpoint", "write")])
async def send_test(endpoint_id: EndpointId, principal: Writer, services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        event_id, delivery_id = await replay.send_test_event(uow, principal.practice_id, endpoint_id,
                                                             now=services.clock.now())
    return {"event_id": event_id, "delivery_id": delivery_id}


@router.post("/webhook-endpoints/{endpoint_id}/replay", status_code=202, summary="Deliver one event again, or "
             "every matching event received in a time range", dependencies=[audited("webhook-endpoint", "write")])
async def replay_events(endpoint_id: EndpointId, body: ReplayIn, principal: Writer,
                        services: ServicesDep) -> dict[str, Any]:
    async with services.uows() as uow:
        ids, truncated = await replay.replay(uow, body.to_command(principal.practice_id, endpoint_id),
                                             now=services.clock.now())
    return {"queued": len(ids), "delivery_ids": ids[:1000], "truncated": truncated}


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", summary="The endpoint's delivery log: each delivery's "
            "status and attempts (HTTP status, latency)", dependencies=[audited("webhook-endpoint")])
async def deliveries(endpoint_id: EndpointId, principal: Reader, services: ServicesDep,
                     status: Annotated[Literal["pending", "delivered", "given_up"] | None, Query()] = None,
                     before: Annotated[int | None, Query(ge=1)] = None,
                     limit: Annotated[int, Query(ge=1, le=views.MAX_PAGE)] = 50) -> dict[str, Any]:
    async with services.uows() as uow:
        if await uow.endpoints.get(principal.practice_id, endpoint_id) is None:
            raise EndpointNotFound("no such endpoint")
        return await views.delivery_log(uow.session, endpoint_id, status=status, before=before, limit=limit)
