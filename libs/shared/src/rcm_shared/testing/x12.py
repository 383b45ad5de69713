"""Run the independent validator pyx12 (the engine behind ``x12valid``) over X12 text in tests."""

from __future__ import annotations

import io
import logging


def pyx12_errors(text: str, expect_ack: bool = True) -> list[str]:
    """pyx12's warnings and errors for ``text``; [] means clean. ``expect_ack``: its 999 must accept all."""
    import pyx12.params
    import pyx12.x12n_document

    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                records.append(record.getMessage())

    logger = logging.getLogger("pyx12")
    handler = Collect()
    logger.addHandler(handler)
    try:
        ack = io.StringIO()
        ok = pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=io.StringIO(text),
                                               fd_997=ack, fd_html=None)
    finally:
        logger.removeHandler(handler)
    if not ok and not records:
        records.append("pyx12 reported failure")
    if expect_ack and ("IK5*A" not in ack.getvalue() or "AK9*A" not in ack.getvalue()):
        records.append("pyx12's 999 did not accept every transaction: " + ack.getvalue())
    return records
