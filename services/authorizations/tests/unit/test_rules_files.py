"""Every rules file of authorizations is YAML with a version and what it decides, loads into what its domain uses,
and has its row in docs/rules.md (file, decides, version) - so the index cannot drift from the files on disk."""

from __future__ import annotations

from pathlib import Path

import authorizations
import pytest
from authorizations.bootstrap import load_rulebook, load_sandbox_reviewer
from rcm_shared.rules import RulesError, parse_rules

PACKAGE = Path(authorizations.__file__).parent
INDEX = Path(__file__).resolve().parents[4] / "docs" / "rules.md"


def test_every_rules_file_is_yaml_and_listed_in_the_index_with_what_it_decides() -> None:
    on_disk = sorted(PACKAGE.rglob("rules/*"))
    assert on_disk and all(f.suffix == ".yaml" for f in on_disk), "rules files are YAML"
    index = INDEX.read_text(encoding="utf-8")
    for path in on_disk:
        rules = parse_rules(path.name, path.read_text(encoding="utf-8"))
        row = f"| `{path.relative_to(PACKAGE.parent)}` | {rules.decides} | {rules.version} |"
        assert row in index, f"docs/rules.md lacks (or has an old) row for {path.name}: {row}"


def test_the_rules_load_into_what_the_domain_uses() -> None:
    rules = load_rulebook()
    assert set(rules.versions) == {p.name for p in (PACKAGE / "domain" / "rules").glob("*.yaml")}
    assert load_sandbox_reviewer().rules.reviews


def test_a_deployment_copy_replaces_a_packaged_file_and_a_bad_one_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "renewal.yaml").write_text('version: "site-1"\ndecides: renewals here\nthresholds:\n'
                                           '  - {payer_id: "*", effective_from: 2020-01-01, days_before_end: 30,'
                                           ' units_remaining_at_most: 1, review_turnaround_days: 2}\n')
    assert load_rulebook(str(tmp_path)).versions["renewal.yaml"] == "site-1"
    (tmp_path / "coverage_kpi.yaml").write_text('version: "site-1"\ndecides: x\ncoverage:\n'
                                                '  - {effective_from: 2020-01-01, episode_gap_days: 0,'
                                                ' target_percent: "97"}\n')
    with pytest.raises(RulesError, match=r"coverage_kpi\.yaml: coverage\[0\]\.episode_gap_days"):
        load_rulebook(str(tmp_path))
