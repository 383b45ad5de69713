"""The documents kernel: one way to lay out a patient document as a PDF (ReportLab, see docs/decisions.md).

Letter paper with 0.6 in margins, real text in an embedded TrueType face (Bitstream Vera, shipped inside
ReportLab, so the PDF looks the same on every printer and reader and its text can be selected, searched and read
aloud), document title / author / subject / language set for assistive technology, a footer on every page, and QR
codes from ReportLab's own barcode module. Rendering is deterministic (``invariant``): the same content gives the
same bytes, so a stored document's SHA-256 identifies what the patient received.

Every piece of text passes through :func:`esc` before it becomes a paragraph: a name with ``<`` or ``&`` is text,
never markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT, BOLD = "RcmSans", "RcmSans-Bold"
MARGIN = 0.6 * inch
WIDTH = LETTER[0] - 2 * MARGIN - 12  # the text block inside the frame's 6 pt paddings
INK, MUTED, RULE, SHADE = colors.HexColor("#1a1a1a"), colors.HexColor("#555555"), colors.HexColor("#999999"), \
    colors.HexColor("#eef2f5")


@cache
def fonts() -> tuple[str, str]:
    """Register the embedded faces once per process (ReportLab subsets and embeds them in every PDF)."""
    folder = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "VeraBd.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
    return FONT, BOLD


@cache
def styles() -> dict[str, ParagraphStyle]:
    fonts()
    return {
        "title": ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, textColor=INK, spaceAfter=4),
        "h2": ParagraphStyle("h2", fontName=BOLD, fontSize=11, leading=14, textColor=INK, spaceBefore=8,
                             spaceAfter=3),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=INK),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=7.5, leading=9.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10, textColor=INK),
        "cell_right": ParagraphStyle("cell_right", fontName=FONT, fontSize=8, leading=10, textColor=INK,
                                     alignment=2),
        "cell_head": ParagraphStyle("cell_head", fontName=BOLD, fontSize=7.5, leading=9.5, textColor=INK),
        "cell_head_right": ParagraphStyle("cell_head_right", fontName=BOLD, fontSize=7.5, leading=9.5,
                                          textColor=INK, alignment=2),
        "big": ParagraphStyle("big", fontName=BOLD, fontSize=14, leading=18, textColor=INK),
    }


def esc(text: object) -> str:
    return escape("" if text is None else str(text))


def para(text: object, style: str = "body", *, markup: bool = False) -> Paragraph:
    """A paragraph of ``text`` (escaped unless ``markup``: only the kernel's callers write markup, never data)."""
    return Paragraph(str(text) if markup else esc(text), styles()[style])


def lines(parts: Sequence[object], style: str = "body") -> Paragraph:
    """Several lines of text (an address) as one paragraph."""
    return Paragraph("<br/>".join(esc(p) for p in parts if p not in (None, "")), styles()[style])


def spacer(height: float = 6) -> Spacer:
    return Spacer(1, height)


def grid(rows: Sequence[Sequence[object]], widths: Sequence[float], *, right: Sequence[int] = (),
         header: bool = True, total_row: bool = False, shade_header: bool = True) -> Table:
    """A table: ``widths`` are fractions of the text width; ``right`` the columns of money. A cell whose text fits
    its column is drawn as a plain string; a longer one wraps (a paragraph, some ten times slower to lay out)."""
    cells = []
    for r, row in enumerate(rows):
        head = header and r == 0
        font, size = (BOLD, 7.5) if head else (FONT, 8)
        out: list[object] = []
        for i, c in enumerate(row):
            if isinstance(c, Flowable):
                out.append(c)
                continue
            text = "" if c is None else str(c)
            room = widths[i] * WIDTH - 6
            # a plain string is drawn as is; a longer one is wrapped here into lines (a paragraph per cell is some
            # ten times slower to lay out, which a 2,000-statement run feels)
            out.append(text if pdfmetrics.stringWidth(text, font, size) <= room
                       else "\n".join(_wrap(text, font, size, room)))
        cells.append(out)
    table = Table(cells, colWidths=[w * WIDTH for w in widths], repeatRows=1 if header else 0, hAlign="LEFT")
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 3),
             ("RIGHTPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 2),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("LINEBELOW", (0, -1), (-1, -1), 0.5, RULE),
             ("FONT", (0, 0), (-1, -1), FONT, 8, 10), ("TEXTCOLOR", (0, 0), (-1, -1), INK)]
    style += [("ALIGN", (i, 0), (i, -1), "RIGHT") for i in right]
    if header:
        style += [("LINEBELOW", (0, 0), (-1, 0), 0.75, INK), ("FONT", (0, 0), (-1, 0), BOLD, 7.5, 9.5)]
        if shade_header:
            style += [("BACKGROUND", (0, 0), (-1, 0), SHADE)]
    if total_row:
        style += [("LINEABOVE", (0, -1), (-1, -1), 0.75, INK), ("FONT", (0, -1), (-1, -1), BOLD, 8, 10)]
    table.setStyle(TableStyle(style))
    return table


def _wrap(text: str, font: str, size: float, room: float) -> list[str]:
    """``text`` in lines that fit ``room`` points, broken between words (a word longer than the room is cut)."""
    out: list[str] = []
    for line in simpleSplit(text, font, size, room):
        while pdfmetrics.stringWidth(line, font, size) > room and len(line) > 1:
            cut = len(line)
            while cut > 1 and pdfmetrics.stringWidth(line[:cut], font, size) > room:
                cut -= 1
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out


def boxed(flowables: Sequence[Any], widths: Sequence[float]) -> Table:
    """Flowables side by side in columns (``widths``: fractions of the text width), no rules."""
    table = Table([list(flowables)], colWidths=[w * WIDTH for w in widths], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("FONT", (0, 0), (-1, -1), FONT, 9, 12),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 6)]))
    return table


def panel(flowables: Sequence[Flowable], width: float = 1.0) -> Table:
    """A shaded box around ``flowables`` (what the patient must not miss: the amount due)."""
    table = Table([[f] for f in flowables], colWidths=[width * WIDTH], hAlign="LEFT")
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), SHADE), ("BOX", (0, 0), (-1, -1), 0.75, INK),
                               ("FONT", (0, 0), (-1, -1), FONT, 9, 12),
                               ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 6)]))
    return table


class QrCode(Flowable):  # type: ignore[misc]
    """A QR code drawn straight onto the page: ReportLab's own encoder (``reportlab.graphics.barcode.qrencoder``)
    gives the modules; each row's dark runs become one filled path (ReportLab's widget draws one validated shape
    per module, some 40 times slower, which a 2,000-statement run feels)."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        code.addData(data)
        code.make()
        count = code.getModuleCount()
        self.runs = [(row, start, end) for row in range(count) for start, end in _dark_runs(code, row, count)]
        self.count, self.size = count, size
        self.width = self.height = size

    def draw(self) -> None:
        quiet = 4  # the standard's quiet zone, in modules
        module = self.size / (self.count + 2 * quiet)
        path = self.canv.beginPath()
        for row, start, end in self.runs:
            path.rect((start + quiet) * module, self.size - (row + quiet + 1) * module, (end - start) * module, module)
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


def _dark_runs(code: Any, row: int, count: int) -> list[tuple[int, int]]:
    runs, start = [], None
    for col in range(count + 1):
        dark = col < count and code.isDark(row, col)
        if dark and start is None:
            start = col
        elif not dark and start is not None:
            runs.append((start, col))
            start = None
    return runs


def qr_code(url: str, size: float = 1.1 * inch) -> QrCode:
    """The QR code of ``url``, ``size`` points square (quiet zone included)."""
    return QrCode(url, size)


def keep(*flowables: Flowable) -> KeepTogether:
    return KeepTogether(list(flowables))


def render(flowables: Sequence[Any], *, title: str, author: str, subject: str, footer: str) -> bytes:
    """Lay ``flowables`` out on Letter pages; every page carries ``footer`` (no PHI: a document reference) and its
    page number. Returns the PDF's bytes."""
    fonts()
    out = io.BytesIO()

    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, 0.4 * inch, footer)
        canvas.drawRightString(LETTER[0] - MARGIN, 0.4 * inch, f"Page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(out, pagesize=LETTER, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=0.75 * inch, title=title, author=author, subject=subject,
                            creator="rcm patient-billing documents", lang="en-US", invariant=True,
                            initialFontName=FONT, initialFontSize=9)
    doc.build(list(flowables), onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
