"""Kafka client options come from settings: production needs TLS and SASL, the embedded broker neither."""

from __future__ import annotations


def test_kafka_tls_settings_build_an_ssl_context() -> None:
    import ssl

    from rcm_shared.config import ServiceSettings
    from rcm_shared.messaging.kafka import _common

    options = _common(ServiceSettings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                                      kafka_sasl_username="svc", kafka_sasl_password="secret"))  # type: ignore[arg-type]
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["sasl_plain_password"] == "secret"
    assert "ssl_context" not in _common(ServiceSettings())
