"""``rcm fhir``: the platform's FHIR R4 reads from one base URL (the FHIR front ``rcm up`` runs), as an integrator
makes them: ``rcm fhir claim <claim id>`` reads the Claim, the payer's ClaimResponse and the claim's
ExplanationOfBenefits; ``rcm fhir read Type/id`` and ``rcm fhir search Type name=value ...`` print what comes back.
The token is a development one from the local issuer (a biller's read scopes), unless ``--token`` is given."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from rcm_cli import platform as embedded
from rcm_cli.tokens import TokenRefused, issuer_url, request_token

app = typer.Typer(help="FHIR R4: read claims, EOBs, payments, accounts and coverage from one base URL.",
                  no_args_is_help=True)
console = Console()
READ_SCOPES = ["claims:read", "remittance:read", "patient-billing:read", "eligibility:read"]
Practice = Annotated[str, typer.Option(help="Practice to read for")]
Base = Annotated[str | None, typer.Option(help="FHIR base URL; default: the running platform's front")]
Token = Annotated[str | None, typer.Option(help="Bearer token; default: a development token from the issuer")]


def base_url() -> str:
    try:
        state: Any = embedded.load_state(embedded.VAR_DIR())
        return str(state["fhir"]["url"])
    except (FileNotFoundError, KeyError, TypeError):
        return f"http://127.0.0.1:{embedded.FHIR_PORT}/fhir/r4"


def _client(base: str | None, token: str | None, practice: str) -> httpx.Client:
    if token is None:
        try:
            token = request_token(issuer_url(embedded.VAR_DIR()), practices=[practice], role="biller",
                                  subject="rcm-fhir", scopes=READ_SCOPES, ttl_seconds=600)
        except TokenRefused as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    return httpx.Client(base_url=(base or base_url()).rstrip("/"), timeout=30,
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"})


def _get(client: httpx.Client, path: str, params: list[tuple[str, str]] | None = None) -> dict[str, Any] | None:
    answer = client.get(path, params=tuple(params or ()))
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        console.print(f"[red]{answer.status_code}[/red] {answer.text[:500]}")
        raise typer.Exit(1)
    body: dict[str, Any] = answer.json()
    return body


def claim_and_its_payments(client: httpx.Client, claim_id: str) -> dict[str, Any]:
    """The Claim, its ClaimResponse (None until the payer answers) and every ExplanationOfBenefit of it."""
    claim = _get(client, f"/Claim/{claim_id}")
    if claim is None:
        return {"claim": None, "claim_response": None, "explanations_of_benefit": []}
    eobs: list[dict[str, Any]] = []
    page = _get(client, "/ExplanationOfBenefit", [("claim", f"Claim/{claim_id}")])
    while page is not None:
        eobs += [entry["resource"] for entry in page.get("entry") or []]
        following = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), None)
        page = _get(client, following) if following else None
    return {"claim": claim, "claim_response": _get(client, f"/ClaimResponse/{claim_id}"),
            "explanations_of_benefit": eobs}


def _amount(resource: dict[str, Any], code: str) -> str:
    for total in resource.get("total") or []:
        if any(c.get("code") == code for c in total["category"].get("coding", [])):
            return str(total["amount"]["value"])
    return "-"


@app.command("claim")
def claim(claim_id: Annotated[str, typer.Argument(help="The claim's id (claims' claim_id)")],
          practice: Practice = "demo-practice", base: Base = None, token: Token = None,
          as_json: Annotated[bool, typer.Option("--json", help="Print the resources as JSON")] = False) -> None:
    """A Claim and what the payer did with it: its ClaimResponse and ExplanationOfBenefits."""
    with _client(base, token, practice) as client:
        found = claim_and_its_payments(client, claim_id)
    if found["claim"] is None:
        console.print(f"[red]no Claim/{claim_id} in {practice}[/red]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    c, response = found["claim"], found["claim_response"]
    console.print(f"Claim/{c['id']}  status {c['status']}  patient {c['patient']['reference']}  "
                  f"billed {c['total']['value']} {c['total']['currency']}  "
                  f"service {c['billablePeriod']['start']}")
    if response is not None:
        console.print(f"ClaimResponse/{response['id']}  outcome {response['outcome']}  "
                      f"({response.get('disposition', '')})")
    table = Table(title="ExplanationOfBenefit")
    for column in ("id", "status", "created", "submitted", "paid to provider", "member liability"):
        table.add_column(column)
    for eob in found["explanations_of_benefit"]:
        table.add_row(eob["id"], eob["status"], eob["created"], _amount(eob, "submitted"),
                      _amount(eob, "paidtoprovider"), _amount(eob, "memberliability"))
    console.print(table)


@app.command("read")
def read(reference: Annotated[str, typer.Argument(help="Type/id, e.g. Claim/3f2c...")],
         practice: Practice = "demo-practice", base: Base = None, token: Token = None) -> None:
    """Read one resource and print it."""
    with _client(base, token, practice) as client:
        found = _get(client, f"/{reference}")
    if found is None:
        console.print(f"[red]no {reference} in {practice}[/red]")
        raise typer.Exit(1)
    typer.echo(json.dumps(found, indent=2))


@app.command("search")
def search(resource_type: Annotated[str, typer.Argument(help="Claim, ExplanationOfBenefit, Invoice ...")],
           params: Annotated[list[str] | None, typer.Argument(help="name=value search parameters")] = None,
           practice: Practice = "demo-practice", base: Base = None, token: Token = None) -> None:
    """Search one resource type (one page) and print the Bundle."""
    pairs = [tuple(p.split("=", 1)) for p in params or []]
    if any(len(p) != 2 for p in pairs):
        console.print("[red]search parameters are name=value[/red]")
        raise typer.Exit(2)
    with _client(base, token, practice) as client:
        found = _get(client, f"/{resource_type}", [(p[0], p[1]) for p in pairs])
    typer.echo(json.dumps(found, indent=2))
