"""Kafka client settings from the environment: security, the WarpStream profile, clear errors."""

from __future__ import annotations

import os
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
    assert settings == {**kafka_client.PRODUCER_DEFAULTS, "client.id": "p"}
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
    producer = kafka_client.producer_settings("p")
    assert (producer["security.protocol"], producer["sasl.mechanism"], producer["sasl.username"]) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
        "secmon",
    )
    assert (producer["sasl.password"], producer["ssl.ca.location"]) == ("s3cret", "/etc/ssl/ca.pem")
    refused = r"^the Kafka producer refused its settings: .*ca\.location"
    with pytest.raises(kafka_client.KafkaSettingsError, match=refused):
        kafka_client.Producer("127.0.0.1:9", "p")  # the CA file does not exist
    system_bundle = "/etc/ssl/certs/ca-certificates.crt"
    if os.path.exists(system_bundle):
        clean_environment.setenv(kafka_client.ENV_SSL_CAFILE, system_bundle)
        kafka_client.Producer("127.0.0.1:9", "p")  # librdkafka takes every name


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
    assert producer["client.id"] == "secmon-producer,ws_az=us-east-1a"
    assert producer["linger.ms"] == 100 and producer["topic.metadata.refresh.interval.ms"] == 60_000
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


def test_a_broker_that_never_answers_is_counted_undelivered_not_lost(tmp_path):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    producer = kafka_client.Producer(f"127.0.0.1:{port}", "p")
    for number in range(3):
        producer.send("nowhere", b"event %d" % number)
    assert producer.flush(timeout=1) == 3


@pytest.mark.integration
def test_a_key_goes_to_the_partition_the_java_client_picks(endpoints):
    """Every producer of a topic (ours, a Java service's, a log shipper's) keeps an IP in one partition."""
    from kafka.partitioner.default import murmur2

    kafka_clients.ensure_topic(endpoints.bootstrap_servers, "partitioned_logs", 3)
    keys = [f"203.0.113.{number}".encode() for number in range(30)]
    producer = kafka_client.Producer(endpoints.bootstrap_servers, "p")
    for key in keys:
        producer.send("partitioned_logs", key, key)
    assert producer.flush() == 0
    consumer = KafkaConsumer(bootstrap_servers=endpoints.bootstrap_servers, group_id=None)
    consumer.assign([TopicPartition("partitioned_logs", partition) for partition in range(3)])
    consumer.seek_to_beginning()
    landed, deadline = {}, time.monotonic() + 20
    while len(landed) < len(keys) and time.monotonic() < deadline:
        for partition, records in consumer.poll(timeout_ms=500).items():
            landed.update({record.key: partition.partition for record in records})
    consumer.close()
    assert landed == {key: (murmur2(key) & 0x7FFFFFFF) % 3 for key in keys}
