"""RisingWave in production: how secmon reaches it, its version, and the Kafka CONNECTION that the
Kafka source and the alerts sink name.

The connection holds everything about the broker: its address, TLS and SASL. The models say only
`connection = <schema>.secmon_kafka` (dbt var kafka_connection), so no broker setting or credential
is in a model, in dbt's target/ or in its logs. `secmon deploy` creates the connection from the
environment. CREATE CONNECTION needs no licence (risingwave src/frontend/src/handler/create_connection.rs
checks no feature), and sources and sinks take `connection = …` in their WITH clause
(risingwave e2e_test/source_inline/connection/ddl.slt).

The SASL password: RisingWave SECRETs are a premium feature that self-hosted RisingWave runs only
with a licence key (docs.risingwave.com/sql/commands/sql-create-secret). With one, the connection
names a secret. Without one, the connection holds the password itself: RisingWave keeps it in its
catalog, where its users can read it (rw_catalog.rw_connections), but it stays out of dbt's files.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

import psycopg2
from psycopg2 import sql

from secmon import settings
from secmon.core.kafka_clients import KafkaSettingsError, connection_settings
from secmon.errors import SecmonError

# The models stream since 2.7.0 (PERCENTILE_CONT/DISC, risingwave#23172); 2.7.0-2.7.3 are
# deprecated upstream, and later 2.7 releases fix a panic of force-append-only sinks whose
# primary_key is not unique (risingwave#24367, fixed by #24373), which is the alerts sink's shape.
MINIMUM_VERSION = (2, 7, 4)

KAFKA_CONNECTION = settings.dbt_vars()["kafka_connection"]
ENV_SOURCE_BOOTSTRAP = "SECMON_SOURCE_BOOTSTRAP_SERVERS"
ENV_SOURCE_SSL_CA = "SECMON_SOURCE_KAFKA_SSL_CA_LOCATION"


class RisingWave(NamedTuple):
    host: str
    port: int
    user: str
    password: str
    database: str
    schema: str

    @classmethod
    def from_environment(cls) -> RisingWave:
        """RisingWave as profiles.yml's `risingwave` target reaches it (SECMON_RISINGWAVE_*)."""
        profile = settings.dbt_profile("risingwave")
        return cls(
            profile["host"],
            int(profile["port"]),
            profile["user"],
            profile["pass"],
            profile["dbname"],
            profile["schema"],
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"

    def connect(self, user: str | None = None, password: str | None = None):
        try:
            conn = psycopg2.connect(
                host=self.host,
                port=self.port,
                user=user or self.user,
                password=self.password if password is None else password,
                dbname=self.database,
                connect_timeout=5,
            )
        except psycopg2.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0]
            raise SecmonError(
                f"RisingWave at {self.address} is unreachable as {user or self.user} ({reason}): start "
                "it with `docker compose -p secmon -f deploy/docker-compose.yml up -d --wait` or set "
                "SECMON_RISINGWAVE_HOST/_PORT"
            ) from None
        conn.autocommit = True
        return conn


def version(conn) -> tuple[str, tuple[int, ...] | None]:
    """RisingWave's version string, and its numbers when it names a release."""
    with conn.cursor() as cur:
        cur.execute("select version()")
        text = cur.fetchone()[0]
    match = re.search(r"RisingWave-v?(\d+)\.(\d+)\.(\d+)", text)
    return text.split(" (")[0], tuple(int(part) for part in match.groups()) if match else None


def check_version(conn) -> str:
    """The version, or SecmonError when it is older than MINIMUM_VERSION."""
    text, numbers = version(conn)
    minimum = ".".join(map(str, MINIMUM_VERSION))
    if numbers is None:
        raise SecmonError(f"{text} is not RisingWave: secmon deploys to RisingWave >= {minimum}")
    if numbers < MINIMUM_VERSION:
        raise SecmonError(
            f"RisingWave {'.'.join(map(str, numbers))} is older than {minimum}, which the models need: "
            "upgrade it (deploy/docker-compose.yml pins a good one)"
        )
    return f"{text} (>= {minimum})"


def source_bootstrap_servers() -> str:
    """The broker address as RisingWave reaches it (often not the address this host uses)."""
    return os.environ.get(ENV_SOURCE_BOOTSTRAP) or os.environ.get(settings.ENV_BOOTSTRAP) or "localhost:9092"


class SecretRef(NamedTuple):
    name: str


def kafka_connection_properties() -> dict[str, str]:
    """Every setting of the Kafka connection but the SASL password, from the environment: the
    security that every Kafka client of the project uses (kafka_client), as RisingWave names it."""
    client = _client_security()
    properties = {"type": "kafka", "properties.bootstrap.server": source_bootstrap_servers()}
    protocol = client.get("security_protocol")
    if protocol is None:
        return properties
    properties["properties.security.protocol"] = protocol
    if protocol.endswith("SSL") and os.environ.get(ENV_SOURCE_SSL_CA):
        properties["properties.ssl.ca.location"] = os.environ[ENV_SOURCE_SSL_CA]
    if "sasl_mechanism" in client:
        properties["properties.sasl.mechanism"] = client["sasl_mechanism"]
        properties["properties.sasl.username"] = client["sasl_plain_username"]
    return properties


def _client_security() -> dict:
    try:
        return connection_settings()
    except KafkaSettingsError as exc:
        raise SecmonError(str(exc)) from None


def quote(value: str) -> str:
    """A SQL string literal (RisingWave's strings are standard: only the quote is doubled)."""
    return "'" + value.replace("'", "''") + "'"


def connection_ddl(schema: str, properties: dict[str, str], password: SecretRef | str | None) -> str:
    """CREATE CONNECTION for the models' Kafka connection; the password as a secret or a literal."""
    options = [f"{key} = {quote(value)}" for key, value in properties.items()]
    if isinstance(password, SecretRef):
        options.append(f"properties.sasl.password = secret {schema}.{password.name}")
    elif password is not None:
        options.append(f"properties.sasl.password = {quote(password)}")
    body = ",\n    ".join(options)
    return f"CREATE CONNECTION IF NOT EXISTS {schema}.{KAFKA_CONNECTION} WITH (\n    {body}\n)"


def ensure_kafka_connection(conn, schema: str) -> str:
    """The Kafka connection the source and sink name; with SASL its password first becomes a
    secret when RisingWave has a licence for them."""
    properties = kafka_connection_properties()
    sasl = "properties.sasl.mechanism" in properties
    secret = _store_password(conn, schema) if sasl else None
    with conn.cursor() as cur:
        cur.execute(
            "select 1 from rw_catalog.rw_connections c join rw_catalog.rw_schemas s on s.id = c.schema_id "
            "where c.name = %s and s.name = %s",
            (KAFKA_CONNECTION, schema),
        )
        if cur.fetchone() is not None:
            # RisingWave has no ALTER CONNECTION; a password in a secret changed with ALTER SECRET above.
            return (
                "exists"
                + (f", password secret {secret.name} updated" if secret else "")
                + f"; to change its settings: DROP CONNECTION {schema}.{KAFKA_CONNECTION} CASCADE, then deploy"
            )
        password = secret or (_client_security()["sasl_plain_password"] if sasl else None)
        cur.execute(connection_ddl(schema, properties, password))
    protocol = properties.get("properties.security.protocol", "PLAINTEXT")
    created = f"created: {protocol} to {properties['properties.bootstrap.server']}"
    if secret:
        return f"{created}, password in secret {secret.name}"
    if sasl:
        return f"{created}, password in the connection (RisingWave has no licence for secrets)"
    return created


def password_secret() -> str:
    return f"{KAFKA_CONNECTION}_sasl_password"


def _store_password(conn, schema: str) -> SecretRef | None:
    """The SASL password as a RisingWave secret (meta backend); None when RisingWave has no licence."""
    name = password_secret()
    with conn.cursor() as cur:
        cur.execute(
            "select 1 from rw_catalog.rw_secrets c join rw_catalog.rw_schemas s on s.id = c.schema_id "
            "where c.name = %s and s.name = %s",
            (name, schema),
        )
        verb = "alter" if cur.fetchone() is not None else "create"
        statement = sql.SQL(verb + " secret {}.{} with (backend = 'meta') as %s").format(
            sql.Identifier(schema), sql.Identifier(name)
        )
        try:
            cur.execute(statement, (_client_security()["sasl_plain_password"],))
        except psycopg2.Error as exc:
            if re.search(r"licen[cs]e|tier|premium|not available", str(exc), re.IGNORECASE):
                return None
            raise
    return SecretRef(name)
