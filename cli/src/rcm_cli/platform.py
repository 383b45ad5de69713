"""The embedded platform: the token issuer, the broker and the services as separate processes on fixed
ports, supervised. Every service verifies tokens against the issuer's JWKS URL.

What starts, in order, is the list :func:`platform_processes` returns: one :class:`ProcessSpec` per process
(the issuer and the broker first, as gates; then each service). To run one more process, add its spec there;
the supervisor starts, watches and restarts it like the others.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rcm_issuer.client_secrets import ensure_client_secrets
from rcm_issuer.config import IssuerSettings
from rcm_issuer.policy import load_policy
from rcm_shared.broker import EmbeddedBroker, free_port, launcher_command

from rcm_cli.supervisor import ProcessSpec, Supervised, Supervisor


def VAR_DIR() -> Path:
    return Path(os.environ.get("RCM_VAR_DIR", "var")).resolve()


SERVICES: dict[str, int] = {
    "eligibility": 8001,
    "claims": 8002,
    "remittance": 8003,
    "patient-billing": 8004,
    "authorizations": 8005,
    "reporting": 8006,
    "webhooks": 8007,
}
BROKER = "broker"
ISSUER = "issuer"
ISSUER_PORT = 8010
# The sandbox card processor (Stripe's API on a local port; patient billing's stripe client is pointed at it).
PROCESSOR = "payment-processor"
PROCESSOR_PORT = 8011
FHIR = "fhir"  # the one FHIR R4 base URL: a router to the services that own the resources (rcm_shared.fhir.front)
FHIR_PORT = 8000


@dataclass
class RunningPlatform:
    root: Path
    broker: EmbeddedBroker
    processes: dict[str, subprocess.Popen[bytes]]  # name -> the process running it now (replaced on a restart)
    ports: dict[str, int]
    database_urls: dict[str, str]
    issuer_url: str = ""
    supervisor: Supervisor = field(default_factory=Supervisor)
    fhir_url: str = ""

    def urls(self) -> dict[str, str]:
        return {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}

    def console_url(self) -> str | None:
        """The operators' console, served by the reporting service (none on a platform started without it, as the
        bench's claims-alone run is)."""
        reporting = self.urls().get("reporting")
        return f"{reporting}/console" if reporting else None

    def state_file(self) -> Path:
        return self.root / "run" / "platform.json"

    def write_state(self) -> None:
        self.state_file().parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file().with_suffix(".tmp")
        temporary.write_text(json.dumps({
            "broker": self.broker.bootstrap, "broker_pid": self.broker.process.pid,
            "supervisor_pid": os.getpid(),
            "services": {n: {"url": u, "pid": self.processes[n].pid} for n, u in self.urls().items()},
            "issuer": {"url": self.issuer_url, "pid": self.processes[ISSUER].pid},
            "console": self.console_url(),
            "fhir": {"url": f"{self.fhir_url}/fhir/r4", "pid": self.processes[FHIR].pid},
            "processes": self.supervisor.snapshot(),
            "clearinghouse_dir": str(self.root / "clearinghouse"),
            "processor": next((p for p in self.supervisor.snapshot() if p.get("name") == PROCESSOR), None),
        }, indent=2))
        temporary.replace(self.state_file())  # rcm status never reads half a file

    def restarts(self, name: str) -> int:
        return self.supervisor.entries[name].restarts

    def wait_restarted(self, name: str, restarts: int = 1, timeout: float = 60.0) -> None:
        """Wait until the supervisor has restarted ``name`` ``restarts`` times in all and the platform is ready."""
        self.supervisor.wait_for(lambda: self.restarts(name) >= restarts, timeout, f"{name} restarted")
        wait_ready(self, timeout)

    def stop(self) -> None:
        self.supervisor.stop()
        self.state_file().unlink(missing_ok=True)


def issuer_environment(root: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "RCM_ISSUER_HTTP_PORT": str(port),
        "RCM_ISSUER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "RCM_ISSUER_STATE_DIR": str(root / "issuer"),
        "RCM_ISSUER_DEVELOPMENT_LOGIN": "true",
    })
    return env


def issuer_url_of(root: Path) -> str:
    """The issuer the platform under ``root`` started (a restarted service must trust the same one)."""
    recorded = root / "issuer" / "url"
    return recorded.read_text().strip() if recorded.exists() else f"http://127.0.0.1:{ISSUER_PORT}"


def client_credentials(root: Path) -> dict[str, str]:
    """The service clients' secrets (generated under var/issuer/ on first start), by client id."""
    settings = IssuerSettings(state_dir=root / "issuer")
    policy = load_policy(settings.roles_file, settings.clients_file)
    return {c: s for c, s in ensure_client_secrets(settings.secrets_file, policy.clients).items()
            if c in policy.clients}


def service_environment(name: str, root: Path, port: int, bootstrap: str, urls: dict[str, str],
                        database_url: str | None = None, issuer_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RCM_JWKS", None)  # a test process's own trusted keys: the platform's services trust the issuer only
    issuer = issuer_url or issuer_url_of(root)
    secret = client_credentials(root).get(name)
    if secret:
        env.update({"RCM_CLIENT_ID": name, "RCM_CLIENT_SECRET": secret})
    env.update({
        "RCM_JWT_ISSUER": issuer,
        "RCM_JWKS_URL": f"{issuer}/jwks.json",
        "RCM_SERVICE_NAME": name,
        "RCM_HTTP_PORT": str(port),
        "RCM_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{root / (name + '.db')}",
        "RCM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "RCM_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "RCM_SERVICE_URLS": json.dumps(urls),
        "RCM_CLEARINGHOUSE_DIR": str(root / "clearinghouse"),
        "RCM_ERA_PICKUP_DIR": str(root / "clearinghouse" / "era-mailbox"),
        "RCM_ENVIRONMENT": "embedded",
    })
    if name == "webhooks":
        # The embedded platform on one machine: a practice's receiver is a local one (`rcm` tools, tests), so
        # loopback and plain http are allowed here; a production deployment configures practices one by one.
        env.setdefault("RCM_ALLOWED_DESTINATION_NETWORKS", json.dumps({"*": ["127.0.0.0/8", "::1/128"]}))
        env.setdefault("RCM_PLAIN_HTTP_PRACTICES", json.dumps(["*"]))
    return env


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _http_ready(url: str, service: str | None = None) -> bool:
    """Ready: /readyz answers 200 and, for a service, names that service. A port picked free can be taken by
    another process before ours binds it (seen with several platforms on one machine): that one must not pass for
    ours, or requests would go to the wrong process."""
    try:
        answer = httpx.get(f"{url}/readyz", timeout=2)
        if answer.status_code != 200:
            return False
        return service is None or answer.json().get("service") == service
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def broker_process(root: Path, port: int) -> ProcessSpec:
    """The embedded broker on a fixed port: a restart listens where the services already point, with a new cluster
    id (its log is empty: the services see the new id, read again from the beginning and publish again)."""
    return ProcessSpec(BROKER, launcher_command(port),
                       root / "log" / "broker.log", ready=lambda: _port_open(port), url=f"127.0.0.1:{port}",
                       kind="broker", gate=True, stop_timeout=5.0)


def issuer_process(root: Path, port: int) -> ProcessSpec:
    """The local token issuer; a gate: services fetch its keys (JWKS) and their client tokens from it."""
    url = f"http://127.0.0.1:{port}"
    return ProcessSpec(ISSUER, [sys.executable, "-m", "rcm_issuer.main", "serve"], root / "log" / "issuer.log",
                       ready=lambda: _http_ready(url), env=issuer_environment(root, port), url=url,
                       ready_url=f"{url}/readyz", kind="issuer", gate=True)


def service_process(name: str, root: Path, port: int, env: dict[str, str]) -> ProcessSpec:
    url = f"http://127.0.0.1:{port}"
    return ProcessSpec(name, [sys.executable, "-m", f"{name.replace('-', '_')}.entrypoints.main", "serve"],
                       root / "log" / f"{name}.log", ready=lambda: _http_ready(url, name), env=env, url=url,
                       ready_url=f"{url}/readyz")


def processor_secret(root: Path) -> str:
    """The sandbox processor's webhook signing secret (made once under var/processor/, like a Stripe endpoint's)."""
    path = root / "processor" / "webhook_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"whsec_{secrets.token_hex(24)}")
        path.chmod(0o600)
    return path.read_text().strip()


def processor_process(root: Path, port: int, webhook_url: str) -> ProcessSpec:
    """The sandbox card processor: it charges test cards, hosts the payment page (/pay/<id>) and signs the webhooks
    it sends to patient billing."""
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update({"RCM_SANDBOX_PROCESSOR_PORT": str(port), "RCM_SANDBOX_PROCESSOR_URL": url,
                "RCM_SANDBOX_WEBHOOK_URL": webhook_url, "RCM_PROCESSOR_WEBHOOK_SECRET": processor_secret(root)})
    return ProcessSpec(PROCESSOR, [sys.executable, "-m", "patient_billing.sandbox.processor"],
                       root / "log" / f"{PROCESSOR}.log", ready=lambda: _http_ready(url), env=env, url=url,
                       ready_url=f"{url}/readyz", kind="sandbox")


def fhir_front_process(root: Path, port: int, urls: dict[str, str]) -> ProcessSpec:
    """The FHIR front: one base URL (``/fhir/r4``) routing each resource type to the service that serves it."""
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update({"RCM_HTTP_PORT": str(port), "RCM_HTTP_HOST": "127.0.0.1", "RCM_SERVICE_URLS": json.dumps(urls)})
    return ProcessSpec(FHIR, [sys.executable, "-m", "rcm_shared.fhir.front"], root / "log" / "fhir.log",
                       ready=lambda: _http_ready(url), env=env, url=url, ready_url=f"{url}/readyz", kind="front")


def platform_processes(root: Path, issuer_port: int, broker_port: int, ports: dict[str, int],
                       databases: dict[str, str], extra_env: dict[str, str] | None = None,
                       processor_port: int = PROCESSOR_PORT, fhir_port: int = FHIR_PORT) -> list[ProcessSpec]:
    """Everything ``rcm up`` runs, in start order. The issuer and the broker are gates: the services start once
    both answer. With patient billing comes the sandbox card processor it charges cards through; the FHIR
    front last (it learns from the services what each serves)."""
    bootstrap = f"127.0.0.1:{broker_port}"
    issuer_url = f"http://127.0.0.1:{issuer_port}"
    urls = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
    specs = [issuer_process(root, issuer_port), broker_process(root, broker_port)]
    if "patient-billing" in ports:
        specs.append(processor_process(root, processor_port, f"{urls['patient-billing']}/v1/processor-events"))
    for name, port in ports.items():
        env = service_environment(name, root, port, bootstrap, urls, databases[name], issuer_url)
        if name == "patient-billing":
            env.update({"RCM_PROCESSOR_API_BASE": f"http://127.0.0.1:{processor_port}",
                        "RCM_PROCESSOR_WEBHOOK_SECRET": processor_secret(root)})
        env.update(extra_env or {})
        specs.append(service_process(name, root, port, env))
    specs.append(fhir_front_process(root, fhir_port, urls))
    return specs


def start_platform(root: Path, *, ports: dict[str, int] | None = None,
                   database_urls: dict[str, str] | None = None, broker: EmbeddedBroker | None = None,
                   extra_env: dict[str, str] | None = None,
                   echo: Callable[[str], None] | None = None, ready_timeout: float = 240.0) -> RunningPlatform:
    """Start the issuer, the broker and the services under a supervisor that restarts whatever exits.

    ``broker``: a broker the caller started; it is adopted (supervised, restarted on its port, stopped with the
    platform). Do not restart a process of a running platform by hand: kill it, then
    :meth:`RunningPlatform.wait_restarted`. ``ready_timeout`` is generous because seven Python processes importing
    at once on a busy 2-core machine were seen to need more than 90 s; a healthy start takes a few seconds."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "log").mkdir(exist_ok=True)
    (root / "issuer").mkdir(exist_ok=True)
    issuer_port = ISSUER_PORT if ports is None else free_port()
    processor_port = PROCESSOR_PORT if ports is None else free_port()
    fhir_port = FHIR_PORT if ports is None else free_port()
    issuer_url = f"http://127.0.0.1:{issuer_port}"
    (root / "issuer" / "url").write_text(issuer_url)  # a service started by hand later trusts the same issuer
    ports = ports or dict(SERVICES)
    broker_port = broker.port if broker is not None else free_port()
    databases = {name: (database_urls or {}).get(name) or f"sqlite+aiosqlite:///{root / (name + '.db')}"
                 for name in ports}
    started: list[RunningPlatform] = []  # set once everything is up: state is written from then on

    def changed() -> None:
        if started:
            started[0].write_state()

    supervisor = Supervisor(on_change=changed, log_path=root / "log" / "supervisor.log", echo=echo)
    for spec in platform_processes(root, issuer_port, broker_port, ports, databases, extra_env, processor_port,
                                   fhir_port):
        supervisor.add(spec)
    if broker is not None:
        supervisor.adopt(BROKER, broker.process)
    try:
        supervisor.start_all(ready_timeout)
    except BaseException:
        supervisor.stop()
        raise
    running = {name: entry.process for name, entry in supervisor.entries.items() if entry.process is not None}
    running_broker = broker or EmbeddedBroker(broker_port, running[BROKER], root / "log" / "broker.log")
    processes = {name: running[name] for name in (ISSUER, FHIR, *ports)}
    platform = RunningPlatform(root, running_broker, processes, ports, databases, issuer_url, supervisor,
                               f"http://127.0.0.1:{fhir_port}")

    def follow(name: str, entry: Supervised) -> None:
        # RunningPlatform.processes and .broker always name the process running now.
        if entry.process is None:
            return
        if name == BROKER:
            platform.broker.process = entry.process
        elif name in processes:
            processes[name] = entry.process

    supervisor.on_restart(follow)
    started.append(platform)
    try:
        platform.write_state()
    except BaseException:  # nothing started may outlive a failed start (a bench once left a platform running)
        supervisor.stop()
        raise
    supervisor.watch()
    return platform


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def readiness(process: dict[str, Any]) -> str:
    """What `rcm status` shows for one process of the state file: ready, or why not."""
    ready_url = process.get("ready_url")
    if not ready_url:  # a plain listener (the broker): its port accepts connections
        _, _, port = str(process.get("url") or "").rpartition(":")
        return "ready" if port.isdigit() and _port_open(int(port)) else "not listening"
    try:
        response = httpx.get(ready_url, timeout=3)
    except httpx.HTTPError as exc:
        return f"down ({type(exc).__name__})"
    if response.status_code == 200:
        return "ready"
    checks = response.json().get("checks", {}) if response.headers.get("content-type", "").startswith(
        "application/json") else {}
    failing = [name for name, value in checks.items() if value != "ok"]
    return f"not ready ({', '.join(failing) or response.status_code})"


def wait_ready(platform: RunningPlatform, timeout: float = 90.0) -> None:
    """Every supervised process answers ready (services: /readyz 200, which includes the broker)."""
    platform.supervisor.wait_ready(timeout)


def wait_for_signal() -> None:
    stop = {"now": False}

    def handler(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop["now"]:
        time.sleep(0.2)


def load_state(root: Path) -> dict[str, object]:
    path = root / "run" / "platform.json"
    if not path.exists():
        raise FileNotFoundError(f"the platform is not running here ({root}): start it with `make run`")
    state: dict[str, object] = json.loads(path.read_text())
    return state
