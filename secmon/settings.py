"""Where things are and how they are named: paths, topics, environment variables."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = PROJECT_DIR / ".secmon"
# What `secmon dashboards build` and `secmon dashboards preview` write (git-ignored).
GRAFANA_BUILD_DIR = PROJECT_DIR / "build" / "grafana"
PREVIEW_DIR = PROJECT_DIR / "build" / "preview"

EVENTS_TOPIC = "website_logs"
LABELS_TOPIC = "website_logs_labels"
ALERTS_TOPIC = "security_alerts"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_KAFKA_PORT = 19092
DEFAULT_PG_PORT = 15432
DEFAULT_PARTITIONS = 3
# As the RisingWave source's WATERMARK (dbt var watermark_delay): a window closes this long after
# an event past its end has arrived.
WATERMARK_DELAY_MS = 5_000

# The dbt `local` target's database and schema; profiles.yml reads the same names.
PG_DATABASE = "secmon"
PG_SCHEMA = "secmon"
PG_USER = "postgres"

ENV_STATE_DIR = "SECMON_STATE_DIR"
ENV_BOOTSTRAP = "SECMON_BOOTSTRAP_SERVERS"
ENV_PG_URL = "SECMON_PG_URL"


def state_dir_from_env() -> Path:
    return Path(os.environ.get(ENV_STATE_DIR) or DEFAULT_STATE_DIR)


def pg_url(host: str, port: int, database: str = PG_DATABASE, user: str = PG_USER) -> str:
    return f"postgresql://{user}@{host}:{port}/{database}"
