"""The production path (Dockerfile, docker-compose.yml, deploy/) agrees with the code.

Docker and Helm do not run here, so these tests read the files and compare them with what the code says:
the service directories and their console scripts, each service's port (its settings class, else the CLI's
port table), the RCM_* settings (fields of rcm_shared.config.ServiceSettings), the topics
(rcm_shared.contracts.topics) and, for services whose composition root exists, their consumer groups and the
health routes. Adding a service, a topic, a consumer or a setting without updating deploy/ fails here, and
the message names what is missing.
"""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from rcm_shared.config import ServiceSettings
from rcm_shared.contracts.topics import ALL_TOPICS, all_topics_with_dead_letters

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "rcm-platform"
TEMPLATES = CHART / "templates"
# Last resort only: a service with neither a settings class nor an entry in rcm_cli.platform.SERVICES.
FIXED_PORTS = {"eligibility": 8001, "claims": 8002, "remittance": 8003, "patient-billing": 8004,
               "authorizations": 8005, "reporting": 8006, "webhooks": 8007}
REQUIRED_TEMPLATES = ("_helpers.tpl", "configmap.yaml", "deployment.yaml", "service.yaml", "hpa.yaml",
                      "pdb.yaml", "migration-job.yaml", "topics-job.yaml")
RCM_VAR = re.compile(r"\bRCM_[A-Z0-9_]*[A-Z0-9]\b")  # a name, not a prefix like "RCM_KAFKA_"


@dataclass(frozen=True)
class Service:
    name: str  # directory under services/, compose service, Helm key, RCM_SERVICE_URLS key
    module: str
    script: str

    def settings_class(self) -> type[ServiceSettings] | None:
        try:
            config = importlib.import_module(f"{self.module}.config")
        except ModuleNotFoundError as exc:
            if exc.name not in {self.module, f"{self.module}.config"}:
                raise  # the module exists but is broken: say so rather than fall back
            return None
        classes = [v for v in vars(config).values()
                   if isinstance(v, type) and issubclass(v, ServiceSettings) and v is not ServiceSettings]
        return classes[0] if classes else None

    def settings_fields(self) -> set[str]:
        return set((self.settings_class() or ServiceSettings).model_fields)

    def port(self) -> int:
        settings_class = self.settings_class()
        if settings_class is not None:
            return int(settings_class.model_fields["http_port"].default)
        port = _cli_ports().get(self.name, FIXED_PORTS.get(self.name))
        assert port is not None, (f"no port known for service {self.name}: give it a settings class in "
                                  f"{self.module}.config or an entry in rcm_cli.platform.SERVICES")
        return port


def _discover_services() -> list[Service]:
    services = []
    for directory in sorted((ROOT / "services").iterdir()):
        pyproject = directory / "pyproject.toml"
        if not pyproject.is_file():
            continue
        scripts: dict[str, str] = tomllib.loads(pyproject.read_text())["project"].get("scripts", {})
        assert len(scripts) == 1, f"services/{directory.name} should have exactly one console script"
        script, target = next(iter(scripts.items()))
        services.append(Service(directory.name, target.split(".", 1)[0], script))
    return services


SERVICES = _discover_services()
NAMES = [s.name for s in SERVICES]


@cache
def _cli_ports() -> dict[str, int]:
    try:
        from rcm_cli.platform import SERVICES as CLI_SERVICES
    except ImportError:
        return {}
    return dict(CLI_SERVICES)


@cache
def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@cache
def _values() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return data


@cache
def _built_apps() -> dict[str, Any]:
    """FastAPI apps of the services whose composition root exists (built only: no database, no broker)."""
    apps: dict[str, Any] = {}
    for service in SERVICES:
        try:
            bootstrap = importlib.import_module(f"{service.module}.bootstrap")
        except ModuleNotFoundError as exc:
            if exc.name not in {service.module, f"{service.module}.bootstrap"}:
                raise
            continue  # not written yet: the consumer-group and health checks cover the services that are
        settings_class = service.settings_class() or ServiceSettings
        settings = settings_class(database_url="sqlite+aiosqlite:///:memory:", run_workers=False,
                                  consumer_group_prefix=None)
        apps[service.name] = bootstrap.build_app(settings)
    return apps


def _compose_service(name: str) -> dict[str, Any]:
    services = _compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    spec: dict[str, Any] = services[name]
    return spec


def _env_field(variable: str) -> str:
    return variable.removeprefix("RCM_").lower()


def _unknown_variables(variables: set[str], fields: set[str]) -> list[str]:
    return sorted(v for v in variables if _env_field(v) not in fields)


def _service_by_name(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)


def test_the_workspace_has_services() -> None:
    assert len(SERVICES) >= 5, NAMES


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_console_script_is_rcm_dash_service(service: Service) -> None:
    # The image's ENTRYPOINT runs rcm-${SERVICE} with SERVICE = the directory name.
    assert service.script == f"rcm-{service.name}"


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_settings_port_agrees_with_the_cli_port_table(service: Service) -> None:
    settings_class = service.settings_class()
    if settings_class is None or service.name not in _cli_ports():
        pytest.skip(f"{service.name}: only one source of its port so far")
    assert settings_class.model_fields["http_port"].default == _cli_ports()[service.name]


# --- Dockerfile -------------------------------------------------------------------------------------------


def test_dockerfile_builds_from_the_lock_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    for needle in ("python:3.11-slim", "uv==0.13.9", "uv.lock", "--frozen", "--no-dev",
                   '--package "rcm-${SERVICE}"', "HEALTHCHECK", "/healthz", "rcm-${SERVICE}"):
        assert needle in text, f"Dockerfile lacks {needle!r}"
    unknown = _unknown_variables(set(RCM_VAR.findall(text)), set(ServiceSettings.model_fields))
    assert not unknown, f"Dockerfile sets variables ServiceSettings does not read: {unknown}"
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users, "Dockerfile never switches away from root"
    assert users[-1].split(":")[0] not in {"root", "0"}


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_dockerfile_copies_every_workspace_member_manifest(service: Service) -> None:
    # uv resolves the whole workspace from the lock: the dependency layer needs each member's pyproject.toml.
    assert f"services/{service.name}/pyproject.toml" in DOCKERFILE.read_text(), \
        f"Dockerfile: add COPY services/{service.name}/pyproject.toml"


# --- docker-compose.yml -----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_compose_runs_the_service_on_its_port(service: Service) -> None:
    spec = _compose_service(service.name)
    port = service.port()
    assert spec["build"]["args"] == {"SERVICE": service.name, "HTTP_PORT": str(port)}
    assert str(spec["environment"]["RCM_HTTP_PORT"]) == str(port)
    assert f"{port}:{port}" in spec.get("ports", [])
    assert spec.get("command") == ["serve"]
    assert "/healthz" in " ".join(spec["healthcheck"]["test"])


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_compose_gives_each_service_its_own_postgres(service: Service) -> None:
    compose = _compose()
    spec = _compose_service(service.name)
    url = spec["environment"]["RCM_DATABASE_URL"]
    parts = urlsplit(url)
    assert parts.scheme == "postgresql+asyncpg", url
    db_host = parts.hostname
    assert db_host == f"{service.name}-db", f"{service.name} must use its own database host {service.name}-db"
    db = _compose_service(db_host)
    assert db["image"].startswith("postgres:16")
    db_env = db["environment"]
    assert db_env["POSTGRES_USER"] == parts.username
    assert db_env["POSTGRES_DB"] == parts.path.lstrip("/")
    assert f":{db_env['POSTGRES_PASSWORD']}@" in url, "the URL's password is not the database's"
    volumes = [v.split(":")[0] for v in db["volumes"] if v.endswith(":/var/lib/postgresql/data")]
    assert len(volumes) == 1 and volumes[0] in compose["volumes"], f"{db_host} needs its own named volume"
    depends = spec["depends_on"]
    assert depends[db_host]["condition"] == "service_healthy"

    migrate = _compose_service(f"{service.name}-migrate")
    assert migrate["command"] == ["migrate"]
    assert migrate["build"]["args"]["SERVICE"] == service.name
    assert migrate["environment"]["RCM_DATABASE_URL"] == url
    assert depends[f"{service.name}-migrate"]["condition"] == "service_completed_successfully"
    assert depends["kafka-init"]["condition"] == "service_completed_successfully"


def test_compose_databases_and_volumes_are_not_shared() -> None:
    hosts = [urlsplit(_compose_service(n)["environment"]["RCM_DATABASE_URL"]).hostname for n in NAMES]
    assert len(set(hosts)) == len(hosts), hosts
    volumes = [v for n in NAMES for v in _compose_service(f"{n}-db")["volumes"]]
    assert len(set(volumes)) == len(volumes), volumes


def test_compose_rcm_variables_are_settings_fields() -> None:
    problems = {}
    for name, spec in _compose()["services"].items():
        owner = name.removesuffix("-migrate")
        fields = _service_by_name(owner).settings_fields() if owner in NAMES else set(ServiceSettings.model_fields)
        unknown = _unknown_variables({k for k in spec.get("environment") or {} if k.startswith("RCM_")}, fields)
        if unknown:
            problems[name] = unknown
    assert not problems, f"RCM_* variables no settings class reads: {problems}"


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_compose_service_urls_and_secrets(service: Service) -> None:
    env = _compose_service(service.name)["environment"]
    urls = json.loads(env["RCM_SERVICE_URLS"])
    assert urls == {s.name: f"http://{s.name}:{s.port()}" for s in SERVICES}
    assert not any("JWT_SECRET" in k or "PRIVATE" in k for k in env), "services verify only: no signing key"
    assert re.fullmatch(r"\$\{RCM_JWT_ISSUER(:?[?-][^}]*)?\}", env["RCM_JWT_ISSUER"]), \
        "the issuer comes from the caller's environment (their OpenID Connect provider)"
    if "RCM_CLIENT_SECRET" in env:
        assert re.fullmatch(r"\$\{[A-Z_]+(:?[?-][^}]*)?\}", env["RCM_CLIENT_SECRET"]), \
            "a client secret comes from the caller's environment, not a literal"


def test_compose_sends_traces_to_the_collector() -> None:
    compose = _compose()["services"]
    collector = next(n for n, s in compose.items() if "opentelemetry-collector" in s.get("image", ""))
    assert any("deploy/otel-collector.yaml" in v for v in compose[collector]["volumes"])
    config = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    receiver_port = int(config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rsplit(":", 1)[1])
    pipelines = config["service"]["pipelines"]
    exporters = {e for p in pipelines.values() for e in p["exporters"]}
    assert {"debug", "prometheus"} <= exporters
    assert all("otlp" in p["receivers"] for p in pipelines.values())
    for name in NAMES:
        endpoint = urlsplit(_compose_service(name)["environment"]["RCM_OTEL_EXPORTER_ENDPOINT"])
        # The exporter is given the endpoint verbatim (rcm_shared.observability.tracing): it must be the full path.
        assert (endpoint.hostname, endpoint.port, endpoint.path) == (collector, receiver_port, "/v1/traces")


def test_compose_topic_init_creates_every_topic_and_dead_letter_topic() -> None:
    compose = _compose()["services"]
    assert compose["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in compose["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft
    init = compose["kafka-init"]["environment"]
    topics = init["TOPICS"].split()
    expected = all_topics_with_dead_letters()
    assert len(topics) == len(set(topics)), "duplicate topics in kafka-init"
    assert not set(expected) - set(topics), f"kafka-init TOPICS lacks {sorted(set(expected) - set(topics))}"
    extra = sorted(set(topics) - set(expected))
    assert not extra, f"kafka-init creates unknown topics {extra}"
    assert str(init["TOPIC_PARTITIONS"]) == "4"


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]}
    missing = sorted(f"{s.name}:{s.port()}" for s in SERVICES if f"{s.name}:{s.port()}" not in targets)
    assert not missing, f"deploy/prometheus.yml does not scrape {missing}"


def test_alert_rules_are_loaded_and_name_only_metrics_the_services_export() -> None:
    from rcm_shared.observability import metrics

    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert "/etc/prometheus/alerts.yml" in config["rule_files"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "./deploy/alerts.yml:/etc/prometheus/alerts.yml:ro" in compose["services"]["prometheus"]["volumes"]
    exported = {name for value in vars(metrics).values() if hasattr(value, "_name")
                for name in (value._name, f"{value._name}_total", f"{value._name}_count", f"{value._name}_bucket")}
    rules = [r for group in yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"] for r in group["rules"]]
    used = {name for rule in rules for name in re.findall(r"\b(rcm_[a-z_]+)", rule["expr"])}
    assert used and not used - exported, f"alert rules use metrics nobody exports: {sorted(used - exported)}"
    alerting = {name.removesuffix("_total") for name in used}
    for needed in ("rcm_consumer_lag", "rcm_outbox_backlog", "rcm_dlq_messages", "rcm_reconciliation_gaps"):
        assert needed in alerting, f"no alert rule on {needed}"


# --- Helm chart -------------------------------------------------------------------------------------------


def test_chart_metadata_and_templates_exist() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["apiVersion"], chart["name"]) == ("v2", "rcm-platform")
    assert chart["version"] and chart["appVersion"]
    missing = [t for t in REQUIRED_TEMPLATES if not (TEMPLATES / t).is_file()]
    assert not missing, f"missing templates: {missing}"


def _template_problems(text: str) -> list[str]:
    """Cheap Go-template sanity (helm is not installed here): delimiters and block keywords balance."""
    problems = []
    if text.count("{{") != text.count("}}"):
        problems.append("unbalanced {{ }}")
    depth = 0
    for action in re.findall(r"\{\{-?\s*(.*?)\s*-?\}\}", text, re.DOTALL):
        if action.startswith("/*"):
            continue
        word = action.split(None, 1)[0] if action else ""
        if word in {"if", "range", "with", "define", "block"}:
            depth += 1
        elif word == "end":
            depth -= 1
            if depth < 0:
                problems.append("'end' without a block")
                depth = 0
    if depth:
        problems.append(f"{depth} block(s) never closed")
    return problems


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*")))
def test_templates_are_balanced_go_templates(template: str) -> None:
    assert not _template_problems((TEMPLATES / template).read_text())


def test_template_problems_are_detected() -> None:
    assert _template_problems("{{- if .x }}a{{ range .y }}b{{ end }}")
    assert _template_problems("{{ .x }")
    assert not _template_problems("{{- /* if */ -}}{{ if .x }}{{ else if .y }}{{ end }}")


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_values_list_the_service(service: Service) -> None:
    values = _values()
    assert service.name in values["services"], f"values.yaml has no services.{service.name}"
    spec = values["services"][service.name]
    assert spec["port"] == service.port()
    assert spec["replicas"] >= 1
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(spec["resources"][kind]), f"{service.name}: resources.{kind}"
    assert spec["database"] == {"existingSecret": f"rcm-{service.name}-db", "key": "database-url"}
    own = set(spec.get("env") or {}) | set(spec.get("secretEnv") or {})
    unknown = _unknown_variables(own, service.settings_fields())
    assert not unknown, f"services.{service.name}.env/secretEnv set variables its settings do not read: {unknown}"
    assert all({"secret", "key"} <= set(ref) for ref in (spec.get("secretEnv") or {}).values())
    scaling = spec["autoscaling"]
    assert 1 <= scaling["minReplicas"] <= scaling["maxReplicas"]
    if spec["consumerGroups"]:
        # More pods than partitions sit idle in the group.
        assert scaling["maxReplicas"] <= values["kafka"]["topicPartitions"]


def test_values_have_no_unknown_services() -> None:
    extra = sorted(set(_values()["services"]) - set(NAMES))
    assert not extra, f"values.yaml lists services with no services/ directory: {extra}"


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_consumer_groups_name_real_topics(service: Service) -> None:
    assert service.name in _values()["services"], f"values.yaml has no services.{service.name}"
    for consumer in _values()["services"][service.name]["consumerGroups"]:
        assert consumer["group"].startswith(f"{service.name}."), "groups are <service>.<consumer>"
        assert consumer["topics"], consumer["group"]
        unknown = sorted(set(consumer["topics"]) - set(ALL_TOPICS))
        assert not unknown, f"{consumer['group']} lists unknown topics {unknown}"


@pytest.mark.parametrize("service", SERVICES, ids=NAMES)
def test_consumer_groups_match_the_composition_root(service: Service) -> None:
    app = _built_apps().get(service.name)
    if app is None:
        pytest.skip(f"{service.module}.bootstrap does not exist yet")
    # The group id and topics are what EventConsumer subscribes with; they have no public accessor.
    in_code = {c._group_id: sorted(c._topics) for c in app.state.runtime.consumers}
    assert service.name in _values()["services"], f"values.yaml has no services.{service.name}"
    in_values = {c["group"]: sorted(c["topics"]) for c in _values()["services"][service.name]["consumerGroups"]}
    assert in_values == in_code, f"values.yaml services.{service.name}.consumerGroups should be {in_code}"


def test_health_probes_hit_routes_the_services_serve() -> None:
    apps = _built_apps()
    assert apps, "no service has a bootstrap.build_app yet: nothing to check the probe paths against"
    probes = _values()["probes"]
    assert probes["liveness"]["path"] == "/healthz"
    assert probes["readiness"]["path"] == "/readyz"
    for name, app in apps.items():
        # Included routers resolve lazily in this FastAPI; the OpenAPI document lists every served path.
        paths = set(app.openapi()["paths"])
        wanted = {p["path"] for p in probes.values()} | {"/healthz", "/metrics"}
        assert wanted <= paths, f"{name} does not serve {sorted(wanted - paths)}"


def test_values_config_and_templates_use_only_settings_fields() -> None:
    fields = set(ServiceSettings.model_fields)
    unknown = _unknown_variables(set(_values()["config"]), fields)
    assert not unknown, f"values.yaml config sets variables ServiceSettings does not read: {unknown}"
    in_templates = {v for t in TEMPLATES.glob("*") for v in RCM_VAR.findall(t.read_text())}
    unknown = _unknown_variables(in_templates, fields)
    assert not unknown, f"templates set variables ServiceSettings does not read: {unknown}"


def test_helm_topic_job_creates_every_topic_replicated() -> None:
    kafka = _values()["kafka"]
    topics = kafka["topics"]
    expected = all_topics_with_dead_letters()
    assert len(topics) == len(set(topics)), "duplicate topics in values.yaml kafka.topics"
    assert not set(expected) - set(topics), f"values.yaml kafka.topics lacks {sorted(set(expected) - set(topics))}"
    extra = sorted(set(topics) - set(expected))
    assert not extra, f"values.yaml kafka.topics has unknown {extra}"
    assert (kafka["replicationFactor"], kafka["minInsyncReplicas"]) == (3, 2)
    job = (TEMPLATES / "topics-job.yaml").read_text()
    assert ".Values.kafka.topics" in job and "files/create_topics.py" in job
    assert "pre-install" in job and "pre-upgrade" in job
    assert (CHART / "files" / "create_topics.py").is_file()


def test_migration_jobs_run_before_the_release() -> None:
    job = (TEMPLATES / "migration-job.yaml").read_text()
    assert 'args: ["migrate"]' in job
    assert "helm.sh/hook: pre-install,pre-upgrade" in job
    assert "range $name, $svc := .Values.services" in job


def test_hpa_scales_on_cpu_and_consumer_lag() -> None:
    hpa = (TEMPLATES / "hpa.yaml").read_text()
    for needle in ("autoscaling/v2", "type: External", "kafka_consumergroup_lag", "consumergroup:", "name: cpu"):
        assert needle in hpa, f"hpa.yaml lacks {needle!r}"


def test_topic_script_builds_tls_and_sasl_options() -> None:
    spec = importlib.util.spec_from_file_location("create_topics", CHART / "files" / "create_topics.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    settings = ServiceSettings(kafka_bootstrap_servers="k1:9093,k2:9093", kafka_security_protocol="SASL_SSL",
                               kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="rcm",
                               kafka_sasl_password="pw")
    options = script.admin_options(settings)
    assert options["ssl_context"] is not None
    assert (options["sasl_mechanism"], options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "SCRAM-SHA-512", "rcm", "pw")
    assert "ssl_context" not in script.admin_options(ServiceSettings(kafka_security_protocol="PLAINTEXT"))
