"""The rules of webhook delivery, pure: signatures, the retry schedule, event filters, payload redaction,
destination checks and per-subject ordering. No I/O, no frameworks."""
