"""rcm: the operator's command line for the revenue-cycle platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rcm_cli import platform as embedded
from rcm_cli.tokens import TokenRefused, issuer_url, request_token

app = typer.Typer(help="Revenue-cycle platform for mental-health practices.", no_args_is_help=True)
console = Console()
VAR = embedded.VAR_DIR()


@app.command()
def up() -> None:
    """Bring the platform up on its embedded default (SQLite under var/, embedded broker), supervised: a process
    that exits is restarted (see `rcm status`); Ctrl-C stops everything."""
    console.print("[bold]Starting the token issuer, the embedded broker and the services...[/bold]")
    running = embedded.start_platform(VAR, echo=lambda line: console.print(line, style="yellow", markup=False,
                                                                             highlight=False))
    table = Table(title="Revenue-cycle platform (embedded)")
    for column in ("service", "URL", "API docs", "PID"):
        table.add_column(column)
    for name, url in running.urls().items():
        table.add_row(name, url, f"{url}/docs", str(running.processes[name].pid))
    processor = running.supervisor.entries.get(embedded.PROCESSOR)
    if processor is not None and processor.process is not None:
        table.add_row("payment processor (sandbox)", str(processor.spec.url), "Stripe's API; /pay/<id> pages",
                      str(processor.process.pid))
    console.print(table)
    console.print(f"issuer: {running.issuer_url} (PID {running.processes[embedded.ISSUER].pid})   "
                  f"broker: {running.broker.bootstrap} (PID {running.broker.process.pid})   data: {VAR}   "
                  f"logs: {VAR / 'log'}")
    console.print(f"[bold green]Console:[/bold green] {running.console_url()}  (sign in with any name and a role; "
                  "practice demo-practice after ./rcm demo)")
    console.print(f"FHIR R4 (every resource, one base URL): {running.fhir_url}/fhir/r4   "
                  "(try: [cyan]./rcm fhir claim <claim id>[/cyan])")
    console.print("Supervised: a process that exits is restarted with back-off (log: "
                  f"{VAR / 'log' / 'supervisor.log'}).")
    console.print("Try: [cyan]./rcm demo[/cyan] in another terminal;  a token: [cyan]./rcm token[/cyan];  "
                  "health: [cyan]./rcm status[/cyan]")
    console.print("Ctrl-C stops everything.")
    try:
        embedded.wait_for_signal()
    finally:
        console.print("Stopping services and broker...")
        running.stop()
        console.print("Stopped.")


@app.command()
def token(
    practice: Annotated[list[str] | None, typer.Option(
        help="Practice (tenant) the token is for; repeat for a billing-company operator")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Scopes; default: all of the role's")] = None,
    subject: Annotated[str, typer.Option(help="Who the caller is")] = "dev-operator",
    role: Annotated[str, typer.Option(help="Role (rules/roles.yaml of rcm-issuer)")] = "practice-owner",
    npi: Annotated[str | None, typer.Option(help="The clinician's NPI (role clinician)")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 3600,
) -> None:
    """A development bearer token, asked of the local issuer (development login)."""
    try:
        typer.echo(request_token(issuer_url(VAR), practices=practice or ["demo-practice"], role=role,
                                 subject=subject, scopes=scope, ttl_seconds=ttl, npi=npi))
    except TokenRefused as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


issuer_app = typer.Typer(help="The local token issuer: its signing keys.", no_args_is_help=True)
app.add_typer(issuer_app, name="issuer")


@issuer_app.command("rotate-keys")
def rotate_keys() -> None:
    """Sign with the published next key from now on; the previous one stays published while its tokens live."""
    from rcm_issuer.config import IssuerSettings
    from rcm_issuer.keys import rotate

    settings = IssuerSettings(state_dir=VAR / "issuer")
    new, dropped = rotate(settings.keys_file, settings.key_overlap_seconds)
    console.print(f"signing with {new.kid}; no longer published: {', '.join(dropped) or 'none'}")


@issuer_app.command("keys")
def list_keys() -> None:
    """The issuer's keys: which one signs, how long the others stay published."""
    from rcm_issuer.config import IssuerSettings
    from rcm_issuer.main import describe_keys

    table = Table(title="issuer keys")
    for column in ("kid", "state", "created", "published for (s)"):
        table.add_column(column)
    for key in describe_keys(IssuerSettings(state_dir=VAR / "issuer")):
        table.add_row(str(key["kid"]), str(key["state"]), str(key["created"]),
                      "" if key["published_for_seconds"] is None else str(key["published_for_seconds"]))
    console.print(table)


@app.command()
def status() -> None:
    """Each process of a running embedded platform: state, PID, restarts, readiness. Exits 1 unless all ready."""
    try:
        state = embedded.load_state(VAR)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    processes = state.get("processes")
    assert isinstance(processes, list)
    supervisor = state.get("supervisor_pid")
    if not (isinstance(supervisor, int) and embedded.pid_alive(supervisor)):
        console.print(f"[red]the supervisor (rcm up, PID {supervisor}) is not running: this state is stale[/red]")
        raise typer.Exit(1)
    table = Table(title=f"Embedded platform (supervisor PID {supervisor})")
    for column in ("process", "state", "PID", "restarts", "ready", "address"):
        table.add_column(column)
    all_ready = True
    for info in processes:
        ready = embedded.readiness(info)
        all_ready = all_ready and ready == "ready"
        table.add_row(info["name"], info["state"], str(info["pid"] or "-"), str(info["restarts"]),
                      ready if ready == "ready" else f"[red]{ready}[/red]", info["url"] or "")
    console.print(table)
    if not all_ready:
        raise typer.Exit(1)


@app.command("import-eras")
def import_eras(
    paths: Annotated[list[Path], typer.Argument(help="835 files or folders of them")],
    practice: Annotated[str, typer.Option(help="Practice the ERAs belong to")] = "demo-practice",
    url: Annotated[str, typer.Option(help="Remittance service URL")] = "http://127.0.0.1:8003",
) -> None:
    """Bulk: post many 835 files to remittance (the same file twice posts nothing twice)."""
    import hashlib

    import httpx

    bearer = request_token(issuer_url(VAR), practices=[practice], role="biller", subject="rcm-import",
                           scopes=["remittance:write"], ttl_seconds=600)
    files = [f for p in paths for f in (sorted(p.iterdir()) if p.is_dir() else [p]) if f.is_file()]
    with httpx.Client(timeout=120) as client:
        for file in files:
            content = file.read_bytes()
            r = client.post(f"{url}/v1/eras", content=content, headers={
                "Authorization": f"Bearer {bearer}", "content-type": "application/edi-x12",
                "x-file-name": file.name, "Idempotency-Key": hashlib.sha256(content).hexdigest()})
            body = r.json()
            outcome = "duplicate" if body.get("duplicate") else body.get("status", body.get("title"))
            console.print(f"{file.name}: {r.status_code} {body.get('era_id', '')} {outcome}")


def _register_subcommands() -> None:
    from rcm_cli import demo, documents_commands, fhir_commands, webhooks_commands, x12_commands

    app.add_typer(x12_commands.app, name="x12")
    app.add_typer(fhir_commands.app, name="fhir")
    app.add_typer(documents_commands.app, name="documents")
    app.add_typer(webhooks_commands.app, name="webhooks")
    app.command(name="demo")(demo.demo)


_register_subcommands()
