"""HTTP conventions shared by every service: problem+json, bearer auth, idempotency, audit, health."""
