"""`secmon dashboards build`: grafanalib files → Grafana dashboard JSON and provisioning files.

grafanalib 0.7.1 writes keys that Grafana's current dashboard schema no longer has (`rows`,
`span`, `sharedCrosshair`, …) and many nulls; `normalise` removes them, so the JSON validates
against the schema in Grafana's foundation SDK and what Grafana stores is what we wrote.
"""

from __future__ import annotations

import json
import re
import runpy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from grafanalib._gen import DashboardEncoder

from secmon import settings
from secmon.errors import SecmonError
from secmon.grafana import panels

DASHBOARDS_DIR = settings.PROJECT_DIR / "dashboards"
FOLDER_TITLE = "Security monitoring"
FOLDER_UID = "secmon"

_LEGACY_DASHBOARD_KEYS = {"__inputs", "hideControls", "rows", "sharedCrosshair", "style"}
_LEGACY_PANEL_KEYS = {
    "color",
    "columns",
    "editable",
    "error",
    "fontSize",
    "height",
    "mappings",
    "minSpan",
    "span",
    "thresholds",
}
_LEGACY_VARIABLE_KEYS = {"tagValuesQuery", "tagsQuery", "useTags"}


@dataclass(frozen=True)
class Panel:
    """What a renderer needs of one panel: where it sits, what it draws, and its query."""

    id: int
    type: str
    title: str
    grid: dict
    sql: str
    format: str
    options: dict
    field_config: dict


def dashboard_files(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    files = sorted(directory.glob("*.dashboard.py"))
    if not files:
        raise SecmonError(f"no *.dashboard.py files in {directory}")
    return files


def load(path: Path) -> dict:
    """Run one `*.dashboard.py` file and return its `dashboard` as normalised Grafana JSON."""
    namespace = runpy.run_path(str(path))
    if "dashboard" not in namespace:
        raise SecmonError(f"{path}: defines no `dashboard`")
    data = json.loads(json.dumps(namespace["dashboard"].auto_panel_ids().to_json_data(), cls=DashboardEncoder))
    return normalise(data)


def load_all(directory: Path = DASHBOARDS_DIR) -> dict[str, dict]:
    """Every dashboard by uid."""
    dashboards = {}
    for path in dashboard_files(directory):
        data = load(path)
        if data["uid"] in dashboards:
            raise SecmonError(f"{path}: uid {data['uid']!r} is already used by another dashboard")
        dashboards[data["uid"]] = data
    return dashboards


def normalise(dashboard: dict) -> dict:
    """grafanalib's output as Grafana's current schema has it: no legacy keys, no nulls."""
    dashboard = _without_nulls(dashboard)
    for key in _LEGACY_DASHBOARD_KEYS:
        dashboard.pop(key, None)
    dashboard.get("timepicker", {}).pop("time_options", None)
    for variable in dashboard["templating"]["list"]:
        for key in _LEGACY_VARIABLE_KEYS:
            variable.pop(key, None)
        variable.get("current", {}).pop("tags", None)
    for panel in dashboard["panels"]:
        for key in _LEGACY_PANEL_KEYS:
            panel.pop(key, None)
    return dashboard


def _without_nulls(value, parent_key: str = ""):
    if isinstance(value, dict):
        # A threshold step's null value means "from -infinity": that null is meaningful.
        keep_null = parent_key == "steps"
        return {key: _without_nulls(item, key) for key, item in value.items() if item is not None or keep_null}
    if isinstance(value, list):
        return [_without_nulls(item, parent_key) for item in value]
    return value


def to_json(dashboard: dict) -> str:
    return json.dumps(dashboard, indent=2, sort_keys=True) + "\n"


def panels_of(dashboard: dict) -> list[Panel]:
    return [
        Panel(
            panel["id"],
            panel["type"],
            panel["title"],
            panel["gridPos"],
            panel["targets"][0]["rawSql"],
            panel["targets"][0]["format"],
            panel.get("options", {}),
            panel.get("fieldConfig", {}),
        )
        for panel in dashboard["panels"]
    ]


def provisioning_files(dashboards_path: str) -> dict[str, str]:
    """Grafana provisioning: the two PostgreSQL-type datasources and a provider for the dashboards.

    Connection details are `${…}` lookups in the environment Grafana runs in (deploy/docker-compose.yml
    sets them), so no address or secret is written here.
    """
    datasources = {
        "apiVersion": 1,
        "datasources": [
            _datasource("RisingWave", panels.RISINGWAVE_DATASOURCE_UID, DATASOURCE_ENV_PREFIXES[0], default=True),
            _datasource("secmon local PostgreSQL", panels.LOCAL_DATASOURCE_UID, DATASOURCE_ENV_PREFIXES[1]),
        ],
    }
    providers = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "secmon",
                "orgId": 1,
                "folder": FOLDER_TITLE,
                "folderUid": FOLDER_UID,
                "type": "file",
                "disableDeletion": False,
                "updateIntervalSeconds": 30,
                # `secmon dashboards push` may then update them through the API as well.
                "allowUiUpdates": True,
                "options": {"path": dashboards_path},
            }
        ],
    }
    return {
        "provisioning/datasources/secmon.yaml": _yaml(datasources),
        "provisioning/dashboards/secmon.yaml": _yaml(providers),
    }


# Each datasource reads <prefix>_HOST (host:port), _DATABASE, _USER and _PASSWORD.
DATASOURCE_ENV_PREFIXES = ("SECMON_GRAFANA_RISINGWAVE", "SECMON_GRAFANA_LOCAL_PG")


def _datasource(name: str, uid: str, env_prefix: str, default: bool = False) -> dict:
    return {
        "name": name,
        "uid": uid,
        "type": panels.DATASOURCE_TYPE,
        "access": "proxy",
        "isDefault": default,
        "url": f"${{{env_prefix}_HOST}}",
        "user": f"${{{env_prefix}_USER}}",
        "jsonData": {
            "database": f"${{{env_prefix}_DATABASE}}",
            "sslmode": "disable",
            "postgresVersion": 1200,
            "timescaledb": False,
        },
        "secureJsonData": {"password": f"${{{env_prefix}_PASSWORD}}"},
        "editable": False,
    }


def _yaml(data: dict) -> str:
    import yaml

    return "# Generated by `secmon dashboards build`: edit dashboards/ and secmon/ instead.\n" + yaml.safe_dump(
        data, sort_keys=False
    )


def build(
    output: Path = settings.GRAFANA_BUILD_DIR,
    directory: Path = DASHBOARDS_DIR,
    dashboards_path_in_grafana: str = "/var/lib/grafana/dashboards/secmon",
) -> list[Path]:
    """Write every dashboard's JSON to `output/dashboards/`, and the provisioning files for datasources,
    dashboards and alert rules; return the paths."""
    from secmon.grafana import notifications
    from secmon.grafana.alert_rules import provisioning_file as alert_rules_file

    dashboards = load_all(directory)
    written = [
        _write(output / "dashboards" / f"{uid}.json", to_json(dashboard)) for uid, dashboard in dashboards.items()
    ]
    files = provisioning_files(dashboards_path_in_grafana)
    files["provisioning/alerting/secmon.yaml"] = _yaml(
        alert_rules_file(FOLDER_TITLE, panels.RISINGWAVE_DATASOURCE_UID, dashboards)
    )
    files["provisioning/alerting/secmon-notifications.yaml"] = _yaml(notifications.provisioning_file())
    written += [_write(output / relative, text) for relative, text in files.items()]
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# Grafana's SQL macros, as its PostgreSQL datasource expands them before the query runs.
_TIME_FILTER = re.compile(r"\$__timeFilter\(\s*([^)]+?)\s*\)")


def expand_macros(sql: str, start: datetime, end: datetime) -> str:
    """The query as Grafana sends it for the time range [start, end]."""

    def literal(moment: datetime) -> str:
        return "'" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"

    sql = _TIME_FILTER.sub(lambda match: f"{match[1]} BETWEEN {literal(start)} AND {literal(end)}", sql)
    sql = sql.replace("$__timeFrom()", literal(start)).replace("$__timeTo()", literal(end))
    if "$__" in sql:
        raise SecmonError(f"query uses a Grafana macro this project does not expand: {sql!r}")
    return sql


_RELATIVE = re.compile(r"^now(?:-(\d+)([smhd]))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def resolve_time(expression: str, now: datetime) -> datetime:
    """A Grafana time like `now`, `now-1h`, or an ISO-8601 timestamp."""
    match = _RELATIVE.match(expression)
    if match is None:
        try:
            moment = datetime.fromisoformat(expression)
        except ValueError:
            raise SecmonError(f"time {expression!r} is neither now[-N(s|m|h|d)] nor ISO-8601") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if match[1] is None:
        return now
    return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
