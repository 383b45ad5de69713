"""``rcm webhooks listen``: a local receiver for the webhooks service. It registers an endpoint pointing at itself
(the embedded platform allows loopback receivers), prints each event it receives with whether its Standard
Webhooks signature verifies, and deletes the endpoint when stopped (Ctrl-C)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from webhooks.domain.signature import verify

from rcm_cli import platform as embedded
from rcm_cli.tokens import TokenRefused, issuer_url, request_token

app = typer.Typer(help="Webhooks: receive the platform's events at a local endpoint.", no_args_is_help=True)
Echo = Callable[[str], None]


def describe(headers: dict[str, str], body: bytes, secret: str | None) -> tuple[bool, str]:
    """Whether the delivery's signature verifies (True when no secret is known) and one line about it: the event's
    id, type and subject, and which data fields it carries (names only: a receiver's console is no place for PHI
    either)."""
    message_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    signature = headers.get("webhook-signature", "")
    verified = secret is None or (stamp.isdigit() and verify(message_id, int(stamp), body, signature, secret))
    try:
        event: dict[str, Any] = json.loads(body)
    except ValueError:
        return False, f"{message_id or '?'}: not JSON ({len(body)} bytes)"
    mark = "signature ok" if secret is not None and verified else ("no secret to check" if secret is None
                                                                   else "SIGNATURE DOES NOT VERIFY")
    fields = ",".join(sorted(event.get("data") or {}))
    withheld = " (PHI withheld)" if event.get("phiwithheld") else ""
    return verified, (f"{event.get('time', '')} {event.get('type', '?')} id={event.get('id', '?')} "
                      f"subject={event.get('subject', '?')} data=[{fields}]{withheld}: {mark}")


def listener(secret: Callable[[], str | None], echo: Echo) -> Any:
    """The receiver (ASGI): 204 for a delivery that verifies, 401 for one that does not (the service retries)."""

    async def receive_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        verified, line = describe(headers, body, secret())
        echo(line)
        await send({"type": "http.response.start", "status": 204 if verified else 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return receive_app


def _webhooks_url() -> str:
    try:
        services: Any = embedded.load_state(embedded.VAR_DIR()).get("services", {})
        return str(services["webhooks"]["url"])
    except (FileNotFoundError, KeyError, TypeError):
        return f"http://127.0.0.1:{embedded.SERVICES['webhooks']}"


@app.command("listen")
def listen(
    port: Annotated[int, typer.Option(help="Local port to receive on")] = 9900,
    practice: Annotated[str, typer.Option(help="Practice whose events to receive")] = "demo-practice",
    event_type: Annotated[list[str] | None, typer.Option(
        "--event-type", help="Event types to subscribe to (claim.submitted, claim.*); default: every one")] = None,
    secret: Annotated[str | None, typer.Option(
        help="Verify with this whsec_ secret and register nothing (an endpoint you registered yourself)")] = None,
    service_url: Annotated[str | None, typer.Option(help="The webhooks service; default: the running platform's")
                           ] = None,
) -> None:
    """Receive signed events at http://127.0.0.1:PORT/, print each and check its signature."""
    url = (service_url or _webhooks_url()).rstrip("/")
    state: dict[str, str | None] = {"secret": secret, "endpoint": None}
    headers: dict[str, str] = {}
    if secret is None:
        try:
            token = request_token(issuer_url(), practices=[practice], role="practice-owner", subject="rcm-listen",
                                  scopes=["webhooks:read", "webhooks:write"])
        except TokenRefused as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.post(f"{url}/v1/webhook-endpoints", headers=headers, timeout=10, json={
            "url": f"http://127.0.0.1:{port}/", "event_types": event_type or ["*"],
            "description": "rcm webhooks listen"})
        if answer.status_code != 201:
            typer.echo(f"the webhooks service refused the endpoint ({answer.status_code}): {answer.text}", err=True)
            raise typer.Exit(1)
        state["secret"], state["endpoint"] = answer.json()["secret"], answer.json()["endpoint_id"]
        typer.echo(f"endpoint {state['endpoint']} registered for {practice}; secret {state['secret']}")
    typer.echo(f"listening on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    try:
        uvicorn.run(listener(lambda: state["secret"], typer.echo), host="127.0.0.1", port=port, log_config=None,
                    access_log=False, interface="asgi3", lifespan="off")
    finally:
        if state["endpoint"]:
            httpx.delete(f"{url}/v1/webhook-endpoints/{state['endpoint']}", headers=headers, timeout=10)
            typer.echo(f"endpoint {state['endpoint']} deleted")
