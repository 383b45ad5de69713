"""Supervision of the embedded platform's processes: what ``rcm up`` starts, it keeps running.

Every process (the broker, the token issuer, each service) is one :class:`ProcessSpec`: a command, its
environment, its log file and how to tell it is ready. The supervisor starts them in the order given, waits for a
*gate* (the broker) to be ready before starting what follows, and then watches: a process that exits while the
platform is up is restarted after a back-off (1 s, doubling to 30 s; back to 1 s once it has stayed up for a
minute), with the same command, so a restarted broker listens on the same port (the services' bootstrap
address) and a restarted service on the same URL. Each exit and restart is logged (``var/log/supervisor.log``)
and counted; the state of every process is written to ``var/run/platform.json`` for ``rcm status``.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rcm_shared.broker import stop_pid

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # seconds up before the back-off starts again from INITIAL_BACKOFF
WATCH_INTERVAL = 0.2


@dataclass(frozen=True)
class ProcessSpec:
    """How to run one process of the platform. ``ready`` answers "is it serving?" (an HTTP /readyz, a port
    that accepts); ``ready_url``, when set, is the HTTP address `rcm status` asks (200: ready), else it checks that
    ``url`` (host:port) accepts connections; ``gate``: start nothing after it until it is ready (the broker the
    services connect to)."""

    name: str
    command: list[str]
    log_path: Path
    ready: Callable[[], bool]
    env: dict[str, str] | None = None
    url: str | None = None
    ready_url: str | None = None
    kind: str = "service"
    gate: bool = False
    stop_timeout: float = 10.0


@dataclass
class Supervised:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    state: str = "stopped"  # starting | running | backoff | stopped
    restarts: int = 0
    last_exit_code: int | None = None
    started_at: float = 0.0
    backoff: float = INITIAL_BACKOFF
    restart_at: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.spec.name, "kind": self.spec.kind, "state": self.state, "pid": self.pid,
                "restarts": self.restarts, "last_exit_code": self.last_exit_code, "url": self.spec.url,
                "ready_url": self.spec.ready_url,
                "log": str(self.spec.log_path)}


class Supervisor:
    """Starts, watches and restarts the processes it is given; thread-safe for the one watcher thread."""

    def __init__(self, *, on_change: Callable[[], None] | None = None, log_path: Path | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.entries: dict[str, Supervised] = {}
        self._on_change = on_change
        self._log_path = log_path
        self._echo = echo
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._listeners: list[Callable[[str, Supervised], None]] = []

    # ------------------------------------------------------------------------------------------ starting

    def add(self, spec: ProcessSpec) -> Supervised:
        if spec.name in self.entries:
            raise ValueError(f"{spec.name} is supervised already")
        entry = Supervised(spec)
        self.entries[spec.name] = entry
        return entry

    def adopt(self, name: str, process: subprocess.Popen[bytes]) -> None:
        """Supervise a process someone else started (a test's broker): it is not started again by start_all."""
        entry = self.entries[name]
        entry.process, entry.state, entry.started_at = process, "starting", time.monotonic()

    def on_restart(self, listener: Callable[[str, Supervised], None]) -> None:
        """Called (from the watcher thread) after a process was started again."""
        self._listeners.append(listener)

    def start_all(self, timeout: float = 90.0) -> None:
        """Start every process in order; a gate must be ready before the next starts; then all must be ready."""
        deadline = time.monotonic() + timeout
        for entry in self.entries.values():
            if entry.process is None or entry.process.poll() is not None:
                self._spawn(entry)
            if entry.spec.gate:
                self._wait_ready([entry], deadline)
        self._wait_ready(list(self.entries.values()), deadline)
        self._changed()

    def watch(self) -> None:
        """Restart what exits, in a daemon thread, until :meth:`stop`."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch_loop, name="rcm-supervisor", daemon=True)
            self._watcher.start()

    def _spawn(self, entry: Supervised) -> None:
        spec = entry.spec
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log_path, "ab") as out:  # the child keeps its own descriptor
            entry.process = subprocess.Popen(spec.command, env=spec.env, stdout=out, stderr=subprocess.STDOUT,
                                             start_new_session=True)
        entry.state = "starting"
        entry.started_at = time.monotonic()

    def _wait_ready(self, entries: list[Supervised], deadline: float) -> None:
        pending = list(entries)
        while pending:
            for entry in list(pending):
                process = entry.process
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{entry.spec.name} exited with code {process.returncode}; "
                                       f"see {entry.spec.log_path}")
                if self._is_ready(entry):
                    entry.state = "running"
                    pending.remove(entry)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready in time: {', '.join(e.spec.name for e in pending)}")
            time.sleep(0.2)

    @staticmethod
    def _is_ready(entry: Supervised) -> bool:
        try:
            return entry.spec.ready()
        except Exception:  # a readiness probe that fails is "not ready", never a crash of the supervisor
            return False

    # ------------------------------------------------------------------------------------------ watching

    def _watch_loop(self) -> None:
        while not self._stopping.wait(WATCH_INTERVAL):
            with self._lock:
                if self._stopping.is_set():
                    return
                for entry in self.entries.values():
                    self._check(entry)

    def _check(self, entry: Supervised) -> None:
        now = time.monotonic()
        process = entry.process
        if entry.state in ("starting", "running") and process is not None:
            code = process.poll()
            if code is None:
                if entry.state == "starting" and self._is_ready(entry):
                    entry.state = "running"
                    self._changed()
                if now - entry.started_at > STABLE_AFTER:
                    entry.backoff = INITIAL_BACKOFF
                return
            entry.last_exit_code = code
            entry.state = "backoff"
            entry.restart_at = now + entry.backoff
            self._record("process exited; restarting after back-off", process=entry.spec.name, exit_code=code,
                         backoff_seconds=entry.backoff)
            entry.history.append({"event": "exited", "exit_code": code, "at": time.time()})
            self._changed()
        elif entry.state == "backoff" and now >= entry.restart_at:
            entry.backoff = min(entry.backoff * 2, MAX_BACKOFF)
            try:
                self._spawn(entry)
            except OSError as exc:  # the binary vanished, no descriptors left ...: try again later
                entry.restart_at = now + entry.backoff
                self._record("restart failed", process=entry.spec.name, error=type(exc).__name__)
                return
            entry.restarts += 1
            entry.history.append({"event": "restarted", "pid": entry.pid, "at": time.time()})
            self._record("process restarted", process=entry.spec.name, pid=entry.pid, restarts=entry.restarts)
            self._changed()
            for listener in self._listeners:
                listener(entry.spec.name, entry)

    def _record(self, message: str, **fields: Any) -> None:
        """One JSON line in the supervisor's log (and on the console of ``rcm up``)."""
        line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "level": "WARNING",
                           "logger": "rcm.supervisor", "message": message, **fields})
        if self._log_path is not None:
            with open(self._log_path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        if self._echo is not None:
            self._echo(line)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    # ------------------------------------------------------------------------------------------ stopping

    def stop(self) -> None:
        """Stop watching, then stop every process, the last started first (services before the broker)."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            for entry in reversed(list(self.entries.values())):
                process = entry.process
                if process is not None and process.poll() is None:
                    stop_pid(process.pid, timeout=entry.spec.stop_timeout)
                if process is not None:
                    try:
                        process.wait(timeout=1)
                    except subprocess.TimeoutExpired:
                        pass
                entry.state = "stopped"

    def wait_ready(self, timeout: float) -> None:
        """Until every process answers its readiness probe (a process in back-off is not ready)."""
        self.wait_for(lambda: all(self._is_ready(e) for e in self.entries.values()), timeout, "every process ready")

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [entry.as_dict() for entry in self.entries.values()]

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise TimeoutError(f"timed out waiting for {what}: {json.dumps(self.snapshot())}")

