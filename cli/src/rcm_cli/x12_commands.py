"""rcm x12 read | validate: any X12 file the platform handles, as JSON or as a list of errors."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rcm_shared.x12 import X12SyntaxError, iter_segments

app = typer.Typer(help="Read and validate X12 files (837P, 835, 999, 277CA, 277, 270, 271, 278).",
                  no_args_is_help=True)


def transaction_type(text: str) -> str:
    for seg in iter_segments(text):
        if seg.id == "ST":
            version = seg.get(3)
            return f"{seg.get(1)}:{version}" if seg.get(1) == "277" else seg.get(1)
    raise X12SyntaxError("no ST segment: not a transaction set")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | frozenset | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def read_any(text: str) -> dict[str, Any]:
    kind = transaction_type(text)
    if kind == "837":
        from claims.edi.x12_837_reader import read_837p

        return {"transaction": "837P", **read_837p(text)}
    if kind == "835":
        from remittance.edi.era_json import to_json_dict
        from remittance.edi.era_reader import read_remittances

        return {"transaction": "835", **to_json_dict(read_remittances(text, strict=True))}
    if kind == "999":
        from claims.edi.acknowledgments import read_999

        return {"transaction": "999", "groups": [g.to_dict() for g in read_999(text)]}
    if kind.startswith("277"):
        from claims.edi.acknowledgments import read_277ca
        from claims.edi.claim_status import read_277

        acks = read_277ca(text) if kind.endswith("X214") else read_277(text)
        return {"transaction": "277CA" if kind.endswith("X214") else "277", "claims": [a.to_dict() for a in acks]}
    if kind == "271":
        from eligibility.domain.coverage import assess_all
        from eligibility.edi.x12_271 import read_271

        return {"transaction": "271", "results": [r.to_dict() for r in assess_all(read_271(text))]}
    if kind == "270":
        from eligibility.edi.x12_270 import read_270

        return {"transaction": "270", "inquiries": [_jsonable(i) for i in read_270(text)]}
    if kind == "278":
        from authorizations.edi.x12_278 import read_278
        from authorizations.edi.x12_278_response import read_278_response, transaction_purpose

        if transaction_purpose(text) == "request":
            return {"transaction": "278", "purpose": "request", "request": _jsonable(read_278(text))}
        answer = read_278_response(text)
        return {"transaction": "278", "purpose": "response", "status": answer.status.value,
                "response": _jsonable(answer), "rejections": [r.to_dict() for r in answer.all_rejections]}
    raise X12SyntaxError(f"transaction set {kind} is not one this platform reads")


@app.command("read")
def read(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Print the file as JSON (claims, lines, adjustments, totals, balancing, acknowledgments ...)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        typer.echo(json.dumps(read_any(text), indent=2, default=str))
    except X12SyntaxError as exc:
        typer.echo(json.dumps({"error": exc.as_dict()}, indent=2), err=True)
        raise typer.Exit(2) from exc


def validate_text(text: str) -> list[dict[str, Any]]:
    """Structural errors from our readers plus every finding of pyx12's validator (the x12valid engine)."""
    import io
    import logging

    import pyx12.params
    import pyx12.x12n_document

    problems: list[dict[str, Any]] = []
    try:
        read_any(text)
    except X12SyntaxError as exc:
        problems.append({"source": "rcm", **exc.as_dict()})
    if not problems and transaction_type(text) == "278":
        # pyx12 4.0.0 has no 005010X217 map: our structural validator of the implementation guide stands in.
        from authorizations.edi.x217_structure import validate_278

        return [{"source": "rcm-005010X217", "segment_number": i.segment_number, "segment_id": i.segment_id,
                 "element": i.element, "loop": i.loop, "message": i.message} for i in validate_278(text)]
    records: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                records.append({"source": "pyx12", "message": record.getMessage()})

    logger = logging.getLogger("pyx12")
    handler = Collect()
    logger.addHandler(handler)
    previous = logger.propagate
    logger.propagate = False
    try:
        # No acknowledgment is asked for (fd_997=None): we only want the findings, and pyx12 4.0.0 cannot build a
        # 999 for a transaction without ST03 (an 835's ST03 is Not Used in 005010X221A1), which it reported as the
        # error "Failed to create 999 response" on every valid 835.
        ok = pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=io.StringIO(text),
                                               fd_997=None, fd_html=None)
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous
    if not ok and not records:
        records.append({"source": "pyx12", "message": "pyx12 could not validate this file"})
    return problems + records


@app.command("validate")
def validate(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Report every error with where it is (segment number, segment id, element); exit 1 when any."""
    problems = validate_text(path.read_text(encoding="utf-8", errors="replace"))
    if not problems:
        typer.echo(f"{path}: OK (no errors)")
        return
    for problem in problems:
        typer.echo(json.dumps(problem))
    raise typer.Exit(1)
