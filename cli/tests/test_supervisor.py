"""The supervisor on its own, with small throwaway processes: restart with a growing back-off, counted and
logged; a clean stop restarts nothing."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rcm_cli.supervisor import ProcessSpec, Supervisor


def spec(name: str, code: str, tmp_path: Path) -> ProcessSpec:
    return ProcessSpec(name, [sys.executable, "-c", code], tmp_path / f"{name}.log", ready=lambda: True)


def test_a_process_that_keeps_exiting_is_restarted_with_a_doubling_back_off(tmp_path: Path) -> None:
    changes: list[int] = []
    supervisor = Supervisor(log_path=tmp_path / "supervisor.log", on_change=lambda: changes.append(1))
    flaky = supervisor.add(spec("flaky", "import time; time.sleep(0.1); raise SystemExit(3)", tmp_path))
    steady = supervisor.add(spec("steady", "import time; time.sleep(60)", tmp_path))
    supervisor.start_all(timeout=10)
    flaky.backoff = 0.1
    first_steady_pid = steady.pid
    supervisor.watch()
    try:
        supervisor.wait_for(lambda: flaky.restarts >= 3, timeout=20, what="three restarts")
    finally:
        supervisor.stop()
    assert flaky.last_exit_code == 3
    assert flaky.backoff >= 0.8, "0.1, 0.2, 0.4 ... doubles after each restart"
    assert steady.restarts == 0 and steady.pid == first_steady_pid
    lines = [json.loads(line) for line in (tmp_path / "supervisor.log").read_text().splitlines()]
    assert [line["restarts"] for line in lines if line["message"] == "process restarted"][:3] == [1, 2, 3]
    assert any(line.get("exit_code") == 3 for line in lines)
    assert changes, "state changes are announced (rcm up writes var/run/platform.json)"
    snapshot = {entry["name"]: entry for entry in supervisor.snapshot()}
    assert snapshot["steady"]["state"] == "stopped"


def test_stop_ends_every_process_and_restarts_none(tmp_path: Path) -> None:
    supervisor = Supervisor()
    entries = [supervisor.add(spec(f"p{n}", "import time; time.sleep(60)", tmp_path)) for n in range(3)]
    supervisor.start_all(timeout=10)
    supervisor.watch()
    supervisor.stop()
    time.sleep(0.5)
    assert all(e.process is not None and e.process.poll() is not None for e in entries)
    assert all(e.restarts == 0 for e in entries)


def test_a_gate_must_be_ready_before_the_next_process_starts(tmp_path: Path) -> None:
    flag, seen = tmp_path / "gate-ready", tmp_path / "after-saw"
    supervisor = Supervisor()
    supervisor.add(ProcessSpec("gate", [sys.executable, "-c", f"import time, pathlib; time.sleep(0.3); "
                                        f"pathlib.Path({str(flag)!r}).touch(); time.sleep(60)"],
                               tmp_path / "gate.log", ready=flag.exists, gate=True))
    supervisor.add(ProcessSpec("after", [sys.executable, "-c", f"import time, pathlib; pathlib.Path({str(seen)!r})"
                                         f".write_text(str(pathlib.Path({str(flag)!r}).exists())); time.sleep(60)"],
                               tmp_path / "after.log", ready=seen.exists))
    try:
        supervisor.start_all(timeout=10)
    finally:
        supervisor.stop()
    assert seen.read_text() == "True", "the process after the gate started only once the gate was ready"
