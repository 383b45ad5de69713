"""JSON logs on stdout. Callers log identifiers (event ids, claim ids), never names, member ids or dates."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class RepeatFilter(logging.Filter):
    """One line per message template per ``window`` seconds for the Kafka client's loggers: while a broker is away
    or has lost a topic, aiokafka retries (and logs) several times a second; the first line says it all, and the
    next one carries how many were left out (``repeated``)."""

    def __init__(self, prefix: str = "aiokafka", window: float = 30.0) -> None:
        super().__init__()
        self._prefix = prefix
        self._window = window
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefix):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last, left_out = self._seen.get(key, (-self._window, 0))
        if now - last < self._window:
            self._seen[key] = (last, left_out + 1)
            return False
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if left_out:
            record.repeated = left_out
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Access logs would print request paths; ours carry only ids, but keep them at warning to stay quiet.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # httpx logs full URLs, and our URLs can hold patient ids.
    logging.getLogger("httpx").setLevel(logging.WARNING)
