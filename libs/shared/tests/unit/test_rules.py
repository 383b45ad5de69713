"""Rules files: read one way, refused with the file and field named, dated entries picked by day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rcm_shared.rules import RulesError, effective_on, load_rules, parse_rules

GOOD = """
version: "2026-12-02.1"
decides: which test thing applies
bands:
  - {id: a, effective_from: 2026-01-01, effective_to: 2026-06-30}
  - {id: b, effective_from: "2026-07-01"}
"""


def test_a_rules_file_names_its_version_and_what_it_decides() -> None:
    rules = parse_rules("test.yaml", GOOD)
    assert (rules.version, rules.decides) == ("2026-12-02.1", "which test thing applies")
    assert [b["id"] for b in effective_on(rules.section("bands"), date(2026, 6, 30))] == ["a"]
    assert [b["id"] for b in effective_on(rules.section("bands"), date(2026, 7, 1))] == ["b"]
    assert effective_on(rules.section("bands"), date(2025, 12, 31)) == []


@pytest.mark.parametrize(("text", "where"), [
    ("decides: x", "version"),
    ("version: 1", "decides"),
    ("- a list", "document"),
    ("version: 1\ndecides: x\nbands: [", "line"),
])
def test_unusable_files_say_which_field(text: str, where: str) -> None:
    with pytest.raises(RulesError, match=where):
        parse_rules("bad.yaml", text)


def test_dated_entries_are_checked() -> None:
    with pytest.raises(RulesError, match=r"bands\[0\].effective_from: is required"):
        effective_on([{"id": "x"}], date(2026, 1, 1), file="f.yaml", where="bands")
    with pytest.raises(RulesError, match="is before effective_from"):
        effective_on([{"effective_from": "2026-02-01", "effective_to": "2026-01-01"}], date(2026, 1, 1))
    with pytest.raises(RulesError, match="must be a date"):
        effective_on([{"effective_from": "soon"}], date(2026, 1, 1))


def test_a_deployment_overrides_a_file_by_name(tmp_path: Path) -> None:
    (tmp_path / "coding.yaml").write_text('version: "local-1"\ndecides: overridden\n')
    rules = load_rules("rcm_shared.contracts", "coding.yaml", override_dir=tmp_path)
    assert rules.version == "local-1" and rules.origin == str(tmp_path / "coding.yaml")
