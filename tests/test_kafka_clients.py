"""Kafka client settings from the environment: security, the WarpStream profile, clear errors."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from secmon.core import kafka_clients
from secmon.core import kafka_clients as kafka_client
from secmon.producer.generate import Mix, plan
from secmon.producer.publish import KafkaSink, publish


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in (
        kafka_client.ENV_SECURITY_PROTOCOL,
        kafka_client.ENV_SASL_MECHANISM,
        kafka_client.ENV_SASL_USERNAME,
        kafka_client.ENV_SASL_PASSWORD,
        kafka_client.ENV_SSL_CAFILE,
        kafka_client.ENV_PROFILE,
        kafka_client.ENV_AZ,
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_plaintext_with_throughput_batching():
    settings = kafka_client.producer_settings("p")
    assert settings == {**kafka_client.PRODUCER_DEFAULTS, "client_id": "p"}
    assert kafka_client.admin_settings("a") == {"client_id": "a"}


def test_sasl_ssl_from_the_environment(clean_environment):
    clean_environment.setenv(kafka_client.ENV_SECURITY_PROTOCOL, "sasl_ssl")
    clean_environment.setenv(kafka_client.ENV_SASL_MECHANISM, "SCRAM-SHA-512")
    clean_environment.setenv(kafka_client.ENV_SASL_USERNAME, "secmon")
    clean_environment.setenv(kafka_client.ENV_SASL_PASSWORD, "s3cret")
    clean_environment.setenv(kafka_client.ENV_SSL_CAFILE, "/etc/ssl/ca.pem")
    assert kafka_client.connection_settings() == {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/etc/ssl/ca.pem",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "secmon",
        "sasl_plain_password": "s3cret",
    }
    assert kafka_client.consumer_settings("c")["security_protocol"] == "SASL_SSL"


def test_sasl_without_credentials_names_what_is_missing(clean_environment):
    clean_environment.setenv(kafka_client.ENV_SECURITY_PROTOCOL, "SASL_PLAINTEXT")
    clean_environment.setenv(kafka_client.ENV_SASL_MECHANISM, "PLAIN")
    with pytest.raises(
        kafka_client.KafkaSettingsError,
        match="SASL_PLAINTEXT needs SECMON_KAFKA_SASL_USERNAME, SECMON_KAFKA_SASL_PASSWORD",
    ):
        kafka_client.producer_settings("p")


def test_unknown_values_are_refused(clean_environment):
    clean_environment.setenv(kafka_client.ENV_SECURITY_PROTOCOL, "TLS")
    with pytest.raises(kafka_client.KafkaSettingsError, match="SECMON_KAFKA_SECURITY_PROTOCOL='TLS' is not one of"):
        kafka_client.connection_settings()
    clean_environment.setenv(kafka_client.ENV_SECURITY_PROTOCOL, "PLAINTEXT")
    clean_environment.setenv(kafka_client.ENV_PROFILE, "fast")
    with pytest.raises(kafka_client.KafkaSettingsError, match="SECMON_KAFKA_PROFILE='fast'"):
        kafka_client.producer_settings("p")


def test_warpstream_profile_tunes_clients_and_names_the_zone(clean_environment):
    clean_environment.setenv(kafka_client.ENV_PROFILE, "warpstream")
    clean_environment.setenv(kafka_client.ENV_AZ, "us-east-1a")
    producer = kafka_client.producer_settings("secmon-producer")
    assert producer["client_id"] == "secmon-producer,ws_az=us-east-1a"
    assert producer["linger_ms"] == 100 and producer["metadata_max_age_ms"] == 60_000
    consumer = kafka_client.consumer_settings("secmon-ingest")
    assert consumer["fetch_max_bytes"] == 100 * 2**20 and consumer["max_partition_fetch_bytes"] == 50 * 2**20
    clean_environment.setenv(kafka_client.ENV_PROFILE, "default")
    assert kafka_client.client_id("x") == "x", "the zone feature is WarpStream's only"


@pytest.mark.integration
def test_the_warpstream_profile_publishes_and_consumes(endpoints, clean_environment, tmp_path):
    """kafka-python accepts every setting of the profile: a round trip through the real broker."""
    clean_environment.setenv(kafka_client.ENV_PROFILE, "warpstream")
    clean_environment.setenv(kafka_client.ENV_AZ, "local-1")
    kafka_clients.ensure_topic(endpoints.bootstrap_servers, "profile_logs", 1)
    traffic = plan(Mix(rate=50, seed=3, attacks_per_scenario=0), 1_706_184_000_000, 20_000)
    summary = publish(traffic, KafkaSink(endpoints.bootstrap_servers, "profile_logs", "profile_labels"))
    assert summary.undelivered == 0 and summary.events > 0
    consumer = KafkaConsumer(
        bootstrap_servers=endpoints.bootstrap_servers, group_id=None, **kafka_client.consumer_settings("secmon-test")
    )
    consumer.assign([TopicPartition("profile_logs", 0)])
    consumer.seek_to_beginning()
    received, deadline = 0, time.monotonic() + 20
    while received < summary.events and time.monotonic() < deadline:
        received += sum(len(records) for records in consumer.poll(timeout_ms=500).values())
    consumer.close()
    assert received == summary.events
