"""The platform's Grafana dashboard and Prometheus alert rules speak of metrics that exist: every ``rcm_*`` name is
one libs/shared registers (a histogram's _bucket / _count / _sum, a counter's _total), every expression names a
label the metric has, and docker compose mounts what Prometheus and Grafana read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY
from rcm_shared.observability import metrics  # noqa: F401  (registers the platform's metrics)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "rcm-platform.json"
ALERTS = ROOT / "deploy" / "alerts.yml"
METRIC = re.compile(r"\b(rcm_[a-z0-9_]+)")


def registered() -> dict[str, set[str]]:
    """Sample names the registry would expose -> their label names."""
    out: dict[str, set[str]] = {}
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.describe() if hasattr(collector, "describe") else []:
            labels = set(getattr(collector, "_labelnames", ()))
            suffixes = {"histogram": ["_bucket", "_count", "_sum"], "counter": ["_total"]}.get(family.type, [""])
            base = family.name
            for suffix in suffixes:
                out[base + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return out


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    rules = yaml.safe_load(ALERTS.read_text())
    return exprs + [r["expr"] for g in rules["groups"] for r in g["rules"]]


def test_every_rcm_metric_in_the_dashboard_and_the_alerts_exists_with_its_labels() -> None:
    known = registered()
    checked = 0
    for expr in expressions():
        names = set(METRIC.findall(expr))
        for name in names:
            assert name in known, f"{name} is not a metric of libs/shared ({expr})"
        if len(names) == 1 and "kafka_" not in expr:
            labels = known[next(iter(names))] | {"le"}
            for grouped in re.findall(r"by \(([^)]*)\)", expr):
                for label in (g.strip() for g in grouped.split(",")):
                    assert label in labels, f"{expr}: no label {label}"
                    checked += 1
    assert checked > 20


def test_the_dashboard_covers_what_operators_watch() -> None:
    text = DASHBOARD.read_text()
    for metric in ("rcm_consumer_lag", "rcm_dlq_messages_total", "rcm_outbox_backlog", "rcm_outbox_oldest_age_seconds",
                   "rcm_outbox_relay_rounds_failed_total", "rcm_http_request_duration_seconds_bucket",
                   "kafka_brokers", "kafka_topic_partition_current_offset"):
        assert metric in text, metric
    alerts = ALERTS.read_text()
    for alert in ("RcmConsumerLagGrowing", "RcmDeadLetterTopicNotEmpty", "RcmOutboxOldRow", "RcmRelayErrors",
                  "RcmHttpErrors", "RcmHttpSlow", "RcmBrokerDown"):
        assert f"alert: {alert}" in alerts, alert


def test_compose_mounts_the_dashboards_and_scrapes_the_broker() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    grafana = compose["grafana"]
    for volume in grafana["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), source
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in prometheus["scrape_configs"]}
    assert {"rcm-services", "kafka-exporter"} <= jobs and "kafka-exporter" in compose
