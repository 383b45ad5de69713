"""The print-vendor export: one ZIP file per statement run, ``manifest.csv`` (one row per statement to mail: the
mailing address, the account number, amount due and due date, the PDF's file name, its SHA-256) and the PDFs under
``pdf/``. Written one statement at a time (memory stays flat however big the run)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

MANIFEST_FIELDS = ["statement_id", "account_number", "name", "address_1", "address_2", "address_3",
                   "amount_due", "due_date", "pdf", "pdf_sha256"]


@dataclass(frozen=True)
class PrintItem:
    statement_id: str
    account_number: str
    name: str
    address_lines: tuple[str, ...]
    amount_due: str
    due_date: str
    pdf: bytes
    pdf_sha256: str


async def write_print_file(path: Path, items: AsyncIterator[PrintItem]) -> int:
    """Write the run's file (replacing a partial one from an interrupted attempt); returns how many statements."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    manifest = io.StringIO()
    writer = csv.DictWriter(manifest, MANIFEST_FIELDS)
    writer.writeheader()
    count = 0
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        async for item in items:
            name = f"pdf/{item.statement_id}.pdf"
            archive.writestr(name, item.pdf)
            address = [*item.address_lines, "", "", ""][:3]
            writer.writerow({"statement_id": item.statement_id, "account_number": item.account_number,
                             "name": item.name, "address_1": address[0], "address_2": address[1],
                             "address_3": address[2], "amount_due": item.amount_due, "due_date": item.due_date,
                             "pdf": name, "pdf_sha256": item.pdf_sha256})
            count += 1
        archive.writestr("manifest.csv", manifest.getvalue())
    partial.replace(path)
    return count
