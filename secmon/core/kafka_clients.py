"""Every Kafka client of the project: shared security and tuning settings from the environment, the
producer factory, and the admin helpers (topics, health, cluster id).

Secrets come only from the environment, never from files in the repository:

    SECMON_KAFKA_SECURITY_PROTOCOL   PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
    SECMON_KAFKA_SASL_MECHANISM      PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    SECMON_KAFKA_SASL_USERNAME / SECMON_KAFKA_SASL_PASSWORD
    SECMON_KAFKA_SSL_CAFILE          CA bundle for SSL / SASL_SSL (default: the system's)
    SECMON_KAFKA_PROFILE             default | warpstream
    SECMON_KAFKA_AZ                  with the warpstream profile: the client's availability zone

The warpstream profile applies WarpStream's client recommendations ("Tuning for Performance",
"Configuring Kafka Client ID Features"): agents write to object storage with ~400 ms p99, so
producers linger longer and send bigger batches, consumers fetch more per request, metadata is
refreshed every minute, and `ws_az=<zone>` in the client id keeps traffic in the client's zone.
"""

from __future__ import annotations

import os

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from secmon.errors import SecmonError

ENV_SECURITY_PROTOCOL = "SECMON_KAFKA_SECURITY_PROTOCOL"
ENV_SASL_MECHANISM = "SECMON_KAFKA_SASL_MECHANISM"
ENV_SASL_USERNAME = "SECMON_KAFKA_SASL_USERNAME"
ENV_SASL_PASSWORD = "SECMON_KAFKA_SASL_PASSWORD"
ENV_SSL_CAFILE = "SECMON_KAFKA_SSL_CAFILE"
ENV_PROFILE = "SECMON_KAFKA_PROFILE"
ENV_AZ = "SECMON_KAFKA_AZ"

PROFILES = ("default", "warpstream")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")

# Large batches, a short linger, zstd: kafka-python's own defaults (16 KiB batches, no linger)
# cap throughput far lower.
PRODUCER_DEFAULTS = dict(
    acks="all", compression_type="zstd", linger_ms=20, batch_size=512 * 1024, max_request_size=8 * 1024 * 1024
)
CONSUMER_DEFAULTS = dict(fetch_max_bytes=16 * 2**20, max_partition_fetch_bytes=8 * 2**20)
WARPSTREAM_PRODUCER = dict(
    linger_ms=100, batch_size=1024 * 1024, max_request_size=16 * 1024 * 1024, metadata_max_age_ms=60_000
)
WARPSTREAM_CONSUMER = dict(
    fetch_max_bytes=100 * 2**20, max_partition_fetch_bytes=50 * 2**20, metadata_max_age_ms=60_000
)


class KafkaSettingsError(ValueError):
    """A Kafka setting in the environment has a value the project cannot use."""


def _profile() -> str:
    profile = os.environ.get(ENV_PROFILE, "default")
    if profile not in PROFILES:
        raise KafkaSettingsError(f"{ENV_PROFILE}={profile!r} is not one of {', '.join(PROFILES)}")
    return profile


def connection_settings() -> dict:
    """kafka-python arguments for TLS and SASL (none for the default PLAINTEXT)."""
    protocol = os.environ.get(ENV_SECURITY_PROTOCOL, "PLAINTEXT").upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise KafkaSettingsError(f"{ENV_SECURITY_PROTOCOL}={protocol!r} is not one of {', '.join(SECURITY_PROTOCOLS)}")
    if protocol == "PLAINTEXT":
        return {}
    settings: dict = {"security_protocol": protocol}
    if protocol.endswith("SSL") and os.environ.get(ENV_SSL_CAFILE):
        settings["ssl_cafile"] = os.environ[ENV_SSL_CAFILE]
    if protocol.startswith("SASL"):
        missing = [
            name for name in (ENV_SASL_MECHANISM, ENV_SASL_USERNAME, ENV_SASL_PASSWORD) if not os.environ.get(name)
        ]
        if missing:
            raise KafkaSettingsError(f"{ENV_SECURITY_PROTOCOL}={protocol} needs {', '.join(missing)}")
        settings.update(
            sasl_mechanism=os.environ[ENV_SASL_MECHANISM],
            sasl_plain_username=os.environ[ENV_SASL_USERNAME],
            sasl_plain_password=os.environ[ENV_SASL_PASSWORD],
        )
    return settings


def auth_description() -> str:
    """How this environment's clients authenticate to the broker, in a few words (`secmon status`)."""
    settings = connection_settings()
    if not settings:
        return "none (PLAINTEXT)"
    if "sasl_mechanism" in settings:
        return f"{settings['security_protocol']} {settings['sasl_mechanism']} as {settings['sasl_plain_username']}"
    return settings["security_protocol"]


def client_id(name: str) -> str:
    """`name`, with WarpStream's zone feature when the warpstream profile and a zone are set."""
    zone = os.environ.get(ENV_AZ)
    return f"{name},ws_az={zone}" if zone and _profile() == "warpstream" else name


def producer_settings(name: str) -> dict:
    tuning = WARPSTREAM_PRODUCER if _profile() == "warpstream" else {}
    return {**PRODUCER_DEFAULTS, **tuning, **connection_settings(), "client_id": client_id(name)}


def consumer_settings(name: str) -> dict:
    tuning = WARPSTREAM_CONSUMER if _profile() == "warpstream" else {}
    return {**CONSUMER_DEFAULTS, **tuning, **connection_settings(), "client_id": client_id(name)}


def admin_settings(name: str) -> dict:
    return {**connection_settings(), "client_id": client_id(name)}


def kafka_producer(bootstrap_servers: str, name: str = "secmon-producer") -> KafkaProducer:
    """A producer tuned for throughput, with the environment's security and profile."""
    return KafkaProducer(bootstrap_servers=bootstrap_servers, **producer_settings(name))


def _admin(bootstrap_servers: str, timeout_ms: int) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=timeout_ms,
            **admin_settings("secmon-admin"),
        )
    except KafkaError as exc:
        raise SecmonError(f"Kafka broker at {bootstrap_servers} is not reachable: {exc}") from exc


def broker_answers(bootstrap_servers: str, timeout_ms: int = 2000) -> bool:
    """True when the broker answers a metadata request."""
    try:
        admin = _admin(bootstrap_servers, timeout_ms)
    except SecmonError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def cluster_id(bootstrap_servers: str, timeout_ms: int = 5000) -> str | None:
    """The broker's cluster id: offsets are positions in one cluster's log and mean nothing in another's."""
    admin = _admin(bootstrap_servers, timeout_ms)
    try:
        return admin.describe_cluster().get("cluster_id")
    finally:
        admin.close()


def list_topics(bootstrap_servers: str, timeout_ms: int = 5000) -> set[str]:
    admin = _admin(bootstrap_servers, timeout_ms)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def ensure_topic(bootstrap_servers: str, topic: str, partitions: int) -> bool:
    """Create `topic` unless it exists; returns True when it was created."""
    admin = _admin(bootstrap_servers, 5000)
    try:
        if topic in admin.list_topics():
            return False
        try:
            admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        except TopicAlreadyExistsError:
            return False
        return True
    finally:
        admin.close()
