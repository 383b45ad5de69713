"""The appeal letter as a PDF (ReportLab): the payer, the claim (control number, payer claim number, date of
service, lines and charges), the denial (category, group, CARC and RARC codes, amount), the argument of the
category's template (rules/appeals.yaml), the clinical liaison's statement, and the attachments and enclosures
listed. Rendered on request from what remittance holds; nothing of it is logged."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer, Table

from remittance.domain.appeals import LetterTemplate

LEVEL_NAMES = {"first_level": "First-level appeal", "second_level": "Second-level appeal",
               "external_review": "Request for external review"}


@dataclass(frozen=True)
class LetterFacts:
    appeal_id: str
    level: str
    prepared_on: date
    due_on: date
    payer_id: str | None
    patient_control_number: str | None
    payer_claim_number: str | None
    date_of_service: date | None
    rendering_npi: str | None
    lines: list[dict[str, Any]]
    category: str
    group_code: str | None
    reason_codes: list[str]
    remark_codes: list[str]
    amount: Decimal
    statement: str | None
    attachments: list[str]


def render_letter(facts: LetterFacts, template: LetterTemplate) -> bytes:
    styles = getSampleStyleSheet()
    body, heading = styles["BodyText"], styles["Heading2"]

    def para(text: str, style: Any = body) -> Paragraph:
        return Paragraph(escape(text), style)

    story: list[Any] = [
        para(f"{LEVEL_NAMES.get(facts.level, facts.level)}: {template.subject}", styles["Title"]),
        para(f"Date: {facts.prepared_on.isoformat()}    Appeal reference: {facts.appeal_id}"),
        para(f"To: payer {facts.payer_id or 'unknown'}, appeals department"),
        para(f"File by: {facts.due_on.isoformat()}"),
        Spacer(1, 0.2 * inch),
        para("Claim", heading),
        Table([["Patient control number", facts.patient_control_number or ""],
               ["Payer claim number", facts.payer_claim_number or ""],
               ["Date of service", facts.date_of_service.isoformat() if facts.date_of_service else ""],
               ["Rendering provider NPI", facts.rendering_npi or ""]], hAlign="LEFT"),
        Spacer(1, 0.1 * inch),
        Table([["Line", "Procedure", "Modifiers", "Units", "Charge"]] + [
            [str(ln.get("line_number", "")), str(ln.get("procedure_code", "")), " ".join(ln.get("modifiers") or []),
             str(ln.get("units", "")), str(ln.get("charge", ""))] for ln in facts.lines], hAlign="LEFT"),
        para("Denial", heading),
        para(f"Category: {facts.category.replace('_', ' ')}"),
        para(f"Adjustment group {facts.group_code or ''}, reason codes (CARC): {', '.join(facts.reason_codes)}"),
        para(f"Remark codes (RARC): {', '.join(facts.remark_codes) or 'none'}"),
        para(f"Amount denied: {facts.amount:.2f} USD"),
        para("Why the claim should be paid", heading),
        para(template.argument),
    ]
    if facts.statement:
        story += [para("Clinical liaison's statement", heading), para(facts.statement)]
    listed = [*facts.attachments, *template.enclosures]
    story += [para("Attachments", heading),
              ListFlowable([ListItem(para(name)) for name in listed], bulletType="bullet")]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=LETTER, title=f"Appeal {facts.appeal_id}", author="revenue-cycle platform",
                      leftMargin=inch, rightMargin=inch, topMargin=inch, bottomMargin=inch).build(story)
    return out.getvalue()
