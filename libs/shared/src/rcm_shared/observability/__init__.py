"""Telemetry: Prometheus metrics, OpenTelemetry traces, JSON logs. Labels and attributes never carry PHI."""
