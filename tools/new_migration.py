"""Autogenerate an Alembic revision for a service: ``uv run python tools/new_migration.py claims "slug"``.

Compares the service's metadata with a scratch SQLite database upgraded to head; revisions are named by
date and slug."""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from rcm_shared.db.migrations import alembic_config

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "libs/shared/src/rcm_shared/db/alembic_template/script.py.mako"
ENV_PY = '''"""Alembic environment of the {service} service (its own database, its own history)."""

from {module}.adapters.orm import metadata
from rcm_shared.db.migrations import run_migrations_env

run_migrations_env(metadata)
'''


def main(service: str, slug: str) -> None:
    module = service.replace("-", "_")
    migrations = ROOT / "services" / service / "migrations"
    (migrations / "versions").mkdir(parents=True, exist_ok=True)
    (migrations / "env.py").write_text(ENV_PY.format(service=service, module=module))
    shutil.copy(TEMPLATE, migrations / "script.py.mako")
    importlib.import_module(f"{module}.adapters.orm")
    with tempfile.TemporaryDirectory() as tmp:
        config = alembic_config(migrations, f"sqlite+aiosqlite:///{tmp}/scratch.db")
        command.upgrade(config, "head")
        rev_id = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
        command.revision(config, message=slug, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
