"""Reading a running service's ``/metrics`` as Prometheus scrapes it (for tests and drills against processes)."""

from __future__ import annotations

import httpx


def samples_by_label(service_url: str, metric: str, label: str) -> dict[str, float]:
    """Every sample of ``metric`` the service at ``service_url`` exposes, keyed by the value of ``label``."""
    found: dict[str, float] = {}
    for line in httpx.get(f"{service_url}/metrics", timeout=10).text.splitlines():
        if line.startswith(metric + "{") and f'{label}="' in line:
            labels, _, value = line.rpartition(" ")
            found[labels.split(f'{label}="', 1)[1].split('"', 1)[0]] = float(value)
    return found
