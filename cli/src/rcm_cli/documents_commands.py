"""rcm documents sample statement|superbill|gfe: a sample of each patient document, rendered by patient billing's
own document code (made-up people), to look at without a running platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from patient_billing.adapters.documents.estimate_pdf import render_estimate
from patient_billing.adapters.documents.samples import sample_estimate, sample_statement, sample_superbill
from patient_billing.adapters.documents.statement_pdf import render_statement
from patient_billing.adapters.documents.superbill_pdf import render_superbill
from patient_billing.bootstrap import load_document_rules
from rich.console import Console

app = typer.Typer(help="Patient documents: statements, superbills, Good Faith Estimates.", no_args_is_help=True)
console = Console()


@app.command()
def sample(kind: Annotated[Literal["statement", "superbill", "gfe"], typer.Argument(help="which document")],
           out: Annotated[Path, typer.Option(help="folder to write the PDF to")] = Path("var/documents"),
           cms1500: Annotated[bool, typer.Option(help="superbill: the CMS-1500-shaped variant")] = False) -> None:
    """Write a sample PDF of a statement, a superbill or a Good Faith Estimate and print its path."""
    rules = load_document_rules()
    if kind == "statement":
        pdf = render_statement(sample_statement(rules.statements))
    elif kind == "superbill":
        pdf = render_superbill(sample_superbill("cms1500" if cms1500 else "superbill"))
    else:
        pdf = render_estimate(sample_estimate(rules.estimates))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"sample-{kind}{'-cms1500' if cms1500 and kind == 'superbill' else ''}.pdf"
    path.write_bytes(pdf)
    console.print(f"{path} ({len(pdf):,} bytes)")
