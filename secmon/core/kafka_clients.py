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

import logging
import os

import confluent_kafka
from kafka import KafkaAdminClient
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

# The producer is librdkafka's (confluent-kafka): kafka-python's `send` costs some 35 µs of Python
# per message, which held `secmon follow` near 20k lines/s; librdkafka queues in C (~300k/s here).
# Consumers and admin requests stay on kafka-python. Large batches, a short linger, zstd, and the
# Java client's partitioner, so that every producer puts a key in the same partition.
PRODUCER_DEFAULTS = {
    "acks": "all",
    "compression.type": "zstd",
    "linger.ms": 20,
    "batch.size": 512 * 1024,
    "message.max.bytes": 8 * 1024 * 1024,
    "queue.buffering.max.messages": 100_000,
    "partitioner": "murmur2_random",
}
CONSUMER_DEFAULTS = dict(fetch_max_bytes=16 * 2**20, max_partition_fetch_bytes=8 * 2**20)
WARPSTREAM_PRODUCER = {
    "linger.ms": 100,
    "batch.size": 1024 * 1024,
    "message.max.bytes": 16 * 1024 * 1024,
    "topic.metadata.refresh.interval.ms": 60_000,
}
WARPSTREAM_CONSUMER = dict(
    fetch_max_bytes=100 * 2**20, max_partition_fetch_bytes=50 * 2**20, metadata_max_age_ms=60_000
)


# kafka-python's names for the connection settings (consumers, admin) and librdkafka's (producers).
LIBRDKAFKA_NAMES = {
    "security_protocol": "security.protocol",
    "ssl_cafile": "ssl.ca.location",
    "sasl_mechanism": "sasl.mechanism",
    "sasl_plain_username": "sasl.username",
    "sasl_plain_password": "sasl.password",
    "client_id": "client.id",
}


# librdkafka's own log lines (a refused connection, retried) go to logging, as kafka-python's do,
# not to stderr: what matters to the caller comes back from `Producer.flush`.
LIBRDKAFKA_LOG = logging.getLogger("secmon.librdkafka")
LIBRDKAFKA_LOG.addHandler(logging.NullHandler())


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
    """librdkafka settings: the tuning, the environment's security, the client id."""
    tuning = WARPSTREAM_PRODUCER if _profile() == "warpstream" else {}
    connection = {**connection_settings(), "client_id": client_id(name)}
    return {**PRODUCER_DEFAULTS, **tuning, **{LIBRDKAFKA_NAMES[key]: value for key, value in connection.items()}}


def consumer_settings(name: str) -> dict:
    tuning = WARPSTREAM_CONSUMER if _profile() == "warpstream" else {}
    return {**CONSUMER_DEFAULTS, **tuning, **connection_settings(), "client_id": client_id(name)}


def admin_settings(name: str) -> dict:
    return {**connection_settings(), "client_id": client_id(name)}


class Producer:
    """Sends messages and counts those the broker did not take. librdkafka bounds its own queue:
    `send` waits, serving delivery reports, while it is full, so memory stays flat however far
    the broker lags."""

    def __init__(self, bootstrap_servers: str, name: str = "secmon-producer") -> None:
        try:
            self._producer = confluent_kafka.Producer(
                {"bootstrap.servers": bootstrap_servers, **producer_settings(name)}, logger=LIBRDKAFKA_LOG
            )
        except confluent_kafka.KafkaException as exc:
            raise KafkaSettingsError(f"the Kafka producer refused its settings: {exc.args[0].str()}") from None
        self._undelivered = 0
        self.last_error: str | None = None

    def _report(self, error, _message) -> None:
        if error is not None:
            self._undelivered += 1
            self.last_error = error.str()

    def send(self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None) -> None:
        """Queues one message: to `partition`, or where its key hashes (no key: anywhere)."""
        where = {} if partition is None else {"partition": partition}
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=self._report, **where)
                break
            except BufferError:
                self._producer.poll(0.01)
        self._producer.poll(0)

    def partitions(self, topic: str, timeout: float = 10.0) -> list[int]:
        """The topic's partition numbers, from the broker's metadata."""
        metadata = self._producer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise SecmonError(f"topic {topic} has no partitions: {metadata.error if metadata else 'unknown topic'}")
        return sorted(metadata.partitions)

    def flush(self, timeout: float = 60.0) -> int:
        """Waits for every message sent; returns how many are not delivered: those that failed since
        the last flush, and those still queued when `timeout` ran out."""
        still_queued = self._producer.flush(timeout)
        undelivered, self._undelivered = self._undelivered + still_queued, 0
        return undelivered


def _admin(bootstrap_servers: str, timeout_ms: int) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,  # kafka-python's default waits 30 s for a broker that refuses
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
