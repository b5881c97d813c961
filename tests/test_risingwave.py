"""secmon.production.risingwave offline: the Kafka connection's DDL for each security protocol (golden files),
the password kept as a secret or a quoted literal, and the version check."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import AnsweringConnection

from secmon.errors import SecmonError
from secmon.production import risingwave

GOLDEN = Path(__file__).parent / "golden"
SASL = {
    "SECMON_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "SECMON_KAFKA_SASL_USERNAME": "secmon",
    "SECMON_KAFKA_SASL_PASSWORD": "s3cret'--",
}


@pytest.fixture
def kafka_env(monkeypatch):
    for name in ("SECMON_KAFKA_SECURITY_PROTOCOL", "SECMON_SOURCE_KAFKA_SSL_CA_LOCATION", *SASL):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECMON_SOURCE_BOOTSTRAP_SERVERS", "broker-1.example.com:9093,broker-2.example.com:9093")
    return monkeypatch


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL", "SASL_SSL"])
def test_the_connection_ddl_matches_the_golden_file(kafka_env, protocol):
    kafka_env.setenv("SECMON_KAFKA_SECURITY_PROTOCOL", protocol)
    kafka_env.setenv("SECMON_SOURCE_KAFKA_SSL_CA_LOCATION", "/etc/ssl/certs/broker-ca.pem")
    for name, value in SASL.items():
        kafka_env.setenv(name, value)
    properties = risingwave.kafka_connection_properties()
    password = risingwave.SecretRef(risingwave.password_secret()) if protocol.startswith("SASL") else None
    ddl = risingwave.connection_ddl("public", properties, password)
    assert ddl == (GOLDEN / f"kafka_connection.{protocol.lower()}.risingwave.sql").read_text().strip()
    assert "s3cret" not in ddl


def test_without_a_licence_the_password_is_a_quoted_literal(kafka_env):
    kafka_env.setenv("SECMON_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    for name, value in SASL.items():
        kafka_env.setenv(name, value)
    ddl = risingwave.connection_ddl("public", risingwave.kafka_connection_properties(), "s3cret'--")
    assert ddl.endswith("properties.sasl.password = 's3cret''--'\n)")


def test_sasl_without_its_settings_is_a_one_line_error(kafka_env):
    kafka_env.setenv("SECMON_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(
        SecmonError,
        match=r"^SECMON_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs SECMON_KAFKA_SASL_MECHANISM, "
        r"SECMON_KAFKA_SASL_USERNAME, SECMON_KAFKA_SASL_PASSWORD$",
    ):
        risingwave.kafka_connection_properties()


def test_an_unknown_protocol_is_refused(kafka_env):
    kafka_env.setenv("SECMON_KAFKA_SECURITY_PROTOCOL", "TLS")
    with pytest.raises(SecmonError, match="is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"):
        risingwave.kafka_connection_properties()


def version_connection(text: str) -> AnsweringConnection:
    """A connection whose `select version()` answers `text` (RisingWave cannot run here)."""
    return AnsweringConnection((text,))


def test_the_version_check_wants_the_minimum():
    good = version_connection("PostgreSQL 13.14.0-RisingWave-2.7.4 (a1b2c3)")
    assert risingwave.check_version(good) == "PostgreSQL 13.14.0-RisingWave-2.7.4 (>= 2.7.4)"
    assert good.executed == [("select version()", None)]
    assert risingwave.check_version(version_connection("PostgreSQL 13.14.0-RisingWave-2.8.0 (x)"))
    with pytest.raises(SecmonError, match=r"^RisingWave 2\.7\.0 is older than 2\.7\.4"):
        risingwave.check_version(version_connection("PostgreSQL 13.14.0-RisingWave-2.7.0 (x)"))
    with pytest.raises(SecmonError, match="is not RisingWave"):
        risingwave.check_version(version_connection("PostgreSQL 18.0 on x86_64-pc-linux-gnu"))
