"""docs/rules.md stays true to the rules files on disk: every rules file of a service (``domain/rules/*``, and a
sandbox's ``sandbox/rules/*``) is YAML with a version and what it decides, loads with ``load_rules``, and has its
row (file, decides, version) in the service's table.

A service is held to this from the moment docs/rules.md has its table (``## <service>``): services still being
moved to YAML rules are reported as skipped, by name, rather than failing everyone else's build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rcm_shared.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "docs" / "rules.md"
FILES = sorted(p for p in ROOT.glob("services/*/src/*/*/rules/*")
               if p.parent.parent.name in ("domain", "sandbox") and p.is_file())


def _service(path: Path) -> str:
    return path.relative_to(ROOT / "services").parts[0]


def _tables() -> set[str]:
    return set(re.findall(r"^## (\S+)\s*$", INDEX.read_text(encoding="utf-8"), flags=re.MULTILINE))


def test_there_are_rules_files_and_an_index() -> None:
    assert FILES, "no services/*/src/*/domain/rules/* files found"
    assert _tables(), "docs/rules.md has no service table"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT / "services")) for p in FILES])
def test_a_rules_file_loads_and_has_its_row(path: Path) -> None:
    service = _service(path)
    if service not in _tables():
        pytest.skip(f"{service} has no table in docs/rules.md yet (its rules are not moved to YAML)")
    assert path.suffix == ".yaml", f"{path.name}: rules files are YAML"
    src = path.parents[3]  # services/<service>/src
    package = ".".join(path.parent.parent.relative_to(src).parts)  # <module>.domain or <module>.sandbox
    rules = load_rules(package, path.name, override_dir=ROOT / "no-override")
    row = f"| `{path.relative_to(src)}` | {rules.decides} | {rules.version} |"
    assert row in INDEX.read_text(encoding="utf-8"), f"docs/rules.md lacks (or has an old) row: {row}"


def test_every_row_names_a_file_that_exists() -> None:
    rows = re.findall(r"^\| `([^`]+)` \|", INDEX.read_text(encoding="utf-8"), flags=re.MULTILINE)
    listed = {str(p.relative_to(p.parents[3])) for p in FILES}
    stale = sorted(set(rows) - listed)
    assert not stale, f"docs/rules.md lists files that are not on disk: {stale}"
