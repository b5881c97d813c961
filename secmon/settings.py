"""Where things are and how they are named: paths, topics, environment variables."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import jinja2
import yaml

# The dbt project and dashboards secmon works on: this repository, or SECMON_PROJECT_DIR (a copy).
PROJECT_DIR = Path(os.environ.get("SECMON_PROJECT_DIR") or Path(__file__).resolve().parent.parent).resolve()
DEFAULT_STATE_DIR = PROJECT_DIR / ".secmon"
# What `secmon dashboards build` and `secmon dashboards preview` write (git-ignored).
GRAFANA_BUILD_DIR = PROJECT_DIR / "build" / "grafana"
PREVIEW_DIR = PROJECT_DIR / "build" / "preview"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_KAFKA_PORT = 19092
DEFAULT_PG_PORT = 15432
DEFAULT_PARTITIONS = 3


@cache
def dbt_project() -> dict:
    return yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())


def dbt_vars() -> dict:
    """The `vars` of dbt_project.yml: the one place for facts that both dbt and Python use."""
    return dbt_project()["vars"]


def render_env(text: str) -> str:
    """A dbt value that reads only the environment (`{{ env_var('NAME', 'default') }}`), rendered
    as dbt renders it: so Python reads profiles.yml and the dbt vars instead of repeating them."""

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise KeyError(f"environment variable {name} is required (see profiles.yml)")
        return default

    return jinja2.Environment().from_string(str(text)).render(env_var=env_var)


def dbt_profile(target: str) -> dict:
    """profiles.yml's output `target`, rendered with the environment."""
    outputs = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())["secmon"]["outputs"]
    return {key: render_env(value) for key, value in outputs[target].items()}


_INTERVAL = re.compile(r"^\s*(\d+)\s*(second|minute|hour|day)s?\s*$")
_UNIT_MS = {"second": 1_000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


def interval_ms(text: str) -> int:
    """A SQL interval literal such as `5 seconds` → milliseconds."""
    match = _INTERVAL.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an interval like '5 seconds' or '1 minute'")
    return int(match[1]) * _UNIT_MS[match[2]]


# The tag of every model in models/detections/ (dbt_project.yml), by which secmon finds them.
DETECTION_TAG = dbt_project()["models"]["secmon"]["detections"]["+tags"][0]
# The table every detection sinks its rows into (models/alerts/security_alerts.sql).
ALERTS_TABLE = "security_alerts"
# The local engine's landing table (models/ingest/website_logs_source.sql) and the view of it that every
# model reads (models/ingest/website_requests.sql): dbt makes both.
LANDING_TABLE = "website_logs_source"
REQUESTS_VIEW = "website_requests"
# The local engine's bookkeeping tables, made and migrated by secmon/engine/state.py: the consumed offsets,
# the rejected messages, the minutes whose windows await a refresh, the rows the request-grain models have
# not read yet, the watermark up to which the detections' windows are closed, and the state's version.
# The three that models' SQL reads (pending_minutes(), pending_rows(), window_close()) are dbt vars.
OFFSETS_TABLE = f"{LANDING_TABLE}_offsets"
REJECTS_TABLE = f"{LANDING_TABLE}_rejects"
PENDING_TABLE = dbt_vars()["local_pending_minutes_table"]
PENDING_ROWS_TABLE = dbt_vars()["local_pending_rows_table"]
WINDOW_CLOSE_TABLE = dbt_vars()["local_window_close_table"]
STATE_VERSION_TABLE = "secmon_state_version"

EVENTS_TOPIC = dbt_vars()["events_topic"]
ALERTS_TOPIC = dbt_vars()["alerts_topic"]
LABELS_TOPIC = f"{EVENTS_TOPIC}_labels"  # the producer's ground truth, for `secmon eval`

# As the RisingWave source's WATERMARK: a window closes this long after an event past its end has arrived.
WATERMARK_DELAY_MS = interval_ms(dbt_vars()["watermark_delay"])
# An event dated further than this ahead of the ingest clock is rejected as `future_timestamp`: it would
# otherwise move the engine's event-time clock (the watermark) forward and close every window early.
FUTURE_TOLERANCE_MS = interval_ms(dbt_vars()["future_timestamp_tolerance"])
# A log's follower publishes a heartbeat this often: a window closes at most this late on a silent site.
HEARTBEAT_SECONDS = 5.0
# How long after its time stamp a line may reach the log, by default (`follow --log-delay`): a follower's
# heartbeats promise nothing newer than this long before its last look at its caught-up logs.
LOG_DELAY_SECONDS = 5.0
# `follow`'s time for parsing one poll, plus 5 ms a line: a parser child over it is killed and replaced.
PARSE_BUDGET_SECONDS = 2.0
# The local engine computes a detection's window once, when it closes; its open windows, for the alerts
# table only (nothing is published before the window closes), at most this often.
OPEN_WINDOWS_SECONDS = 10.0
# The local engine deletes events, windows and alerts that ended this long before the newest event.
RETENTION_MS = interval_ms(dbt_vars()["retention"])

# The embedded PostgreSQL's database, its owner role (what dbt and the engine log in as), the
# read-only role of Grafana and the preview (the name production's RisingWave reader has too), the
# superuser (set-up only, on the socket), and the schema of the views (SECMON_PG_SCHEMA chooses
# another); `secmon env` exports them for profiles.yml's `local` target.
PG_DATABASE = "secmon"
PG_USER = "secmon"
PG_READER = "grafana_reader"
PG_SUPERUSER = "postgres"
DEFAULT_PG_SCHEMA = "secmon"

ENV_STATE_DIR = "SECMON_STATE_DIR"
ENV_BOOTSTRAP = "SECMON_BOOTSTRAP_SERVERS"
ENV_PG_URL = "SECMON_PG_URL"
ENV_PG_SCHEMA = "SECMON_PG_SCHEMA"
ENV_PG_READER_URL = "SECMON_PG_READER_URL"


def pg_schema() -> str:
    """The schema of the views, as the environment says now (tests switch it per module)."""
    return os.environ.get(ENV_PG_SCHEMA) or DEFAULT_PG_SCHEMA


def pg_url(host: str, port: int, database: str = PG_DATABASE, user: str = PG_USER, password: str | None = None) -> str:
    credentials = f"{user}:{password}" if password else user
    return f"postgresql://{credentials}@{host}:{port}/{database}"
