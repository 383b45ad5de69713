"""The embedded platform: the token issuer, the broker and the five services as separate processes on fixed
ports. The issuer starts first; every service verifies tokens against its JWKS URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rcm_issuer.client_secrets import ensure_client_secrets
from rcm_issuer.config import IssuerSettings
from rcm_issuer.policy import load_policy
from rcm_shared.broker import EmbeddedBroker, free_port, stop_pid


def VAR_DIR() -> Path:
    return Path(os.environ.get("RCM_VAR_DIR", "var")).resolve()


SERVICES: dict[str, int] = {
    "eligibility": 8001,
    "claims": 8002,
    "remittance": 8003,
    "patient-billing": 8004,
    "authorizations": 8005,
}
ISSUER = "issuer"
ISSUER_PORT = 8010


@dataclass
class RunningPlatform:
    root: Path
    broker: EmbeddedBroker
    processes: dict[str, subprocess.Popen[bytes]]
    ports: dict[str, int]
    database_urls: dict[str, str]
    issuer_url: str = ""

    def urls(self) -> dict[str, str]:
        return {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}

    def state_file(self) -> Path:
        return self.root / "run" / "platform.json"

    def write_state(self) -> None:
        self.state_file().parent.mkdir(parents=True, exist_ok=True)
        self.state_file().write_text(json.dumps({
            "broker": self.broker.bootstrap, "broker_pid": self.broker.process.pid,
            "services": {n: {"url": u, "pid": self.processes[n].pid} for n, u in self.urls().items()},
            "issuer": {"url": self.issuer_url, "pid": self.processes[ISSUER].pid},
            "clearinghouse_dir": str(self.root / "clearinghouse"),
        }, indent=2))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                stop_pid(process.pid, timeout=10)
        self.broker.stop()
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
    return env


def start_platform(root: Path, *, ports: dict[str, int] | None = None,
                   database_urls: dict[str, str] | None = None, broker: EmbeddedBroker | None = None,
                   extra_env: dict[str, str] | None = None) -> RunningPlatform:
    root.mkdir(parents=True, exist_ok=True)
    (root / "log").mkdir(exist_ok=True)
    issuer_port = ISSUER_PORT if ports is None else free_port()
    ports = ports or dict(SERVICES)
    broker = broker or EmbeddedBroker.start(log_path=root / "log" / "broker.log")
    urls = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    databases = {name: (database_urls or {}).get(name) or f"sqlite+aiosqlite:///{root / (name + '.db')}"
                 for name in ports}
    platform = RunningPlatform(root, broker, processes, ports, databases, f"http://127.0.0.1:{issuer_port}")
    try:
        issuer_log = open(root / "log" / "issuer.log", "ab")  # noqa: SIM115 - owned by the child process
        processes[ISSUER] = subprocess.Popen(
            [sys.executable, "-m", "rcm_issuer.main", "serve"], env=issuer_environment(root, issuer_port),
            stdout=issuer_log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_ready(platform, {ISSUER: platform.issuer_url})
        (root / "issuer" / "url").write_text(platform.issuer_url)
        for name, port in ports.items():
            env = service_environment(name, root, port, broker.bootstrap, urls, databases[name],
                                      platform.issuer_url)
            env.update(extra_env or {})
            log = open(root / "log" / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child process
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"{name.replace('-', '_')}.entrypoints.main", "serve"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_ready(platform)
    except BaseException:
        platform.stop()
        raise
    platform.write_state()
    return platform


def wait_ready(platform: RunningPlatform, urls: dict[str, str] | None = None, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls or platform.urls())
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            process = platform.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}; see {platform.root}/log/{name}.log")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    pending.pop(name)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"not ready in time: {', '.join(pending)}")


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
        raise FileNotFoundError("the platform is not running here: start it with `make run`")
    state: dict[str, object] = json.loads(path.read_text())
    return state
