"""Eligibility's rules are read once, at start-up, from its rules files or a deployment's copies of them; a file
that cannot be used stops the start naming the file and the field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from eligibility.bootstrap import load_rulebook
from rcm_shared.rules import RulesError

THRESHOLD = '''version: "site-7"
decides: our own session-limit threshold
thresholds:
  - {payer_id: "*", effective_from: 2024-01-01, alert_at_remaining: 5}
'''


def test_the_shipped_rules_load() -> None:
    rules = load_rulebook()
    assert rules.session_limits.alert_at_remaining("SBXHP", date(2026, 12, 2)) == 3
    assert rules.freshness.version == rules.payer_limits.version == rules.nightly_batch.version == "2026-12-02.1"


def test_a_deployment_copy_replaces_a_packaged_file(tmp_path: Path) -> None:
    (tmp_path / "session_limits.yaml").write_text(THRESHOLD)
    rules = load_rulebook(tmp_path)
    assert rules.session_limits.version == "site-7"
    assert rules.session_limits.alert_at_remaining("SBXHP", date(2026, 12, 2)) == 5
    assert rules.freshness.version == "2026-12-02.1", "the other files are the packaged ones"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("nightly_batch.yaml", 'version: "x"\ndecides: d\nschedules:\n  - {effective_from: 2024-01-01, run_at: 19:00}\n',
     'nightly_batch.yaml: schedules[0].run_at: must be a local time "HH:MM" (quoted)'),
    ("nightly_batch.yaml", 'version: "x"\ndecides: d\nschedules:\n'
                           '  - {effective_from: 2024-01-01, time_zone: Mars/Olympus_Mons}\n',
     "nightly_batch.yaml: schedules.time_zone: 'Mars/Olympus_Mons' is not a time zone this server knows"),
    ("freshness.yaml", 'decides: d\npolicies: []\n', "freshness.yaml: version: is required"),
    ("payer_limits.yaml", 'version: "x"\ndecides: d\nlimits:\n  - {effective_from: 2024-01-01, payer_id: 7}\n',
     "payer_limits.yaml: limits[0].payer_id: must be a non-empty text"),
])
def test_a_bad_file_stops_the_start_naming_the_file_and_field(tmp_path: Path, name: str, text: str,
                                                               message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(RulesError) as refused:
        load_rulebook(tmp_path)
    assert str(refused.value).startswith(message)
