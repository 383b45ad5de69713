"""Database plumbing: engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), column types, naming."""

from rcm_shared.db.engine import create_engine, session_factory
from rcm_shared.db.types import Cents, UtcDateTime, new_id, utcnow

__all__ = ["Cents", "UtcDateTime", "create_engine", "new_id", "session_factory", "utcnow"]
