"""Kafka client helpers shared by the stack, the producer and the ingester."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from producer.kafka_client import admin_settings
from secmon.errors import SecmonError


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
