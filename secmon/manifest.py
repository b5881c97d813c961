"""The dbt project as dbt sees it: every model with its tags, meta, columns and dependencies.

Read from the manifest of `dbt parse` (about 3 s with partial parsing), kept in
`target/secmon-manifest/` and parsed again only when a file under models/ or macros/, or
dbt_project.yml, is newer. Detections, the views the demo shows and the views the local engine
refreshes are all taken from here, so a new model needs no Python edit.
"""

from __future__ import annotations

import fcntl
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from secmon import settings
from secmon.errors import SecmonError

SEVERITIES: tuple[str, ...] = tuple(settings.dbt_vars()["severities"])  # least to most severe
HIGH_SEVERITIES = SEVERITIES[SEVERITIES.index("high") :]  # these get a Grafana alert rule
ENTITY_TYPES = ("ip", "username", "url")  # a url alert (an exposure) never bans: decisions read ip alerts
TUMBLE_COLUMNS = ("window_start", "window_end")
EVENT_TIME_COLUMN = "request_timestamp"  # the source's watermark column, kept by the request-grain models
WINDOW_MACROS = ("macro.secmon.tumble", "macro.secmon.hop")  # they give a model window_start, window_end
# request_rows() keeps a model at the request grain: the local engine adds the newly landed rows to it.
REQUEST_ROWS_MACRO = "macro.secmon.request_rows"
# emit_on_window_close(): the model's windows are final once closed; the local engine computes each once.
WINDOW_CLOSE_MACRO = "macro.secmon.emit_on_window_close"


def called_macros(manifest: dict, node: dict) -> set[str]:
    """Every macro `node` calls, itself or through the macros it calls (dbt lists only its own calls:
    a detection written as family_probing(...) calls tumble() through it)."""
    called, calls = set(), list(node["depends_on"]["macros"])
    while calls:
        macro = calls.pop()
        if macro not in called:
            called.add(macro)
            calls.extend(manifest["macros"].get(macro, {}).get("depends_on", {}).get("macros", []))
    return called


def is_windowed(macros: set[str]) -> bool:
    """A model that calls `macros` (called_macros) has windows (TUMBLE_COLUMNS)."""
    return any(macro in macros for macro in WINDOW_MACROS)


@dataclass(frozen=True)
class Model:
    name: str
    description: str
    tags: tuple[str, ...]
    meta: dict
    columns: tuple[str, ...]  # as documented in its yml entry
    parents: tuple[str, ...]  # models it reads
    windowed: bool  # built on tumble(): one row per window, refreshed window by window
    closes_windows: bool  # emit_on_window_close(): a window's row appears once, when it closes
    yml_path: str  # where its entry is (or its SQL file, without one)

    @property
    def is_detection(self) -> bool:
        return settings.DETECTION_TAG in self.tags


@dataclass(frozen=True)
class Detection:
    name: str
    severity: str
    scenario: str | None  # the producer's attack scenario it answers, if any (`secmon eval`)
    entity_type: str
    description: str
    # meta.ban: true, its alerts ban whatever their severity; false, they never ban (an agent or a crawl
    # rate alone); absent, the severity decides (var ban_severities; secmon decisions).
    ban: bool | None = None
    # meta.crowdsec_scenarios: the hub scenarios it stands for, which `secmon patterns --crowdsec-hub` skips.
    crowdsec_scenarios: tuple[str, ...] = ()


def is_stale(manifest_path: Path, project_dir: Path = settings.PROJECT_DIR) -> bool:
    """True unless `manifest_path` exists and is newer than every file dbt reads to make it."""
    if not manifest_path.exists():
        return True
    sources = [
        project_dir / "dbt_project.yml",
        *(project_dir / "models").rglob("*"),
        *(project_dir / "macros").rglob("*"),
    ]
    newest_source = max(path.stat().st_mtime for path in sources if path.is_file())
    return manifest_path.stat().st_mtime < newest_source


def _parse(project_dir: Path) -> dict:
    from secmon.dbt_runner import run_dbt  # imported late: dbt takes a second to import

    target = project_dir / "target" / "secmon-manifest"
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target / "manifest.json"
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two commands at once parse once
        if is_stale(manifest_path, project_dir):
            code = run_dbt(["parse", "--quiet", "--target-path", str(target)], None)
            if code != 0:
                raise SecmonError(f"`dbt parse` failed with exit code {code}: run `secmon dbt parse` to see why")
        return json.loads(manifest_path.read_text())


@functools.cache
def models(project_dir: Path = settings.PROJECT_DIR) -> dict[str, Model]:
    """Every enabled model of the project by name (read once per process)."""
    manifest = _parse(project_dir)
    nodes = manifest["nodes"]
    return {
        node["name"]: Model(
            name=node["name"],
            description=" ".join(node.get("description", "").split()),
            tags=tuple(node["tags"]),
            meta=node["config"].get("meta", {}),
            columns=tuple(node["columns"]),
            parents=tuple(
                nodes[parent]["name"]
                for parent in node["depends_on"]["nodes"]
                if nodes.get(parent, {}).get("resource_type") == "model"
            ),
            windowed=is_windowed(called_macros(manifest, node)),
            closes_windows=WINDOW_CLOSE_MACRO in called_macros(manifest, node),
            yml_path=(node.get("patch_path") or "").partition("://")[2] or node["original_file_path"],
        )
        for node in nodes.values()
        if node["resource_type"] == "model"
    }


def _detection(model: Model) -> Detection:
    meta = model.meta
    for key, allowed in (("severity", SEVERITIES), ("entity", ENTITY_TYPES)):
        if meta.get(key) not in allowed:
            raise SecmonError(
                f"{model.yml_path}: detection {model.name} needs config.meta.{key} ({', '.join(allowed)}) in its entry"
            )
    return Detection(
        model.name,
        meta["severity"],
        meta.get("scenario"),
        meta["entity"],
        model.description,
        meta.get("ban"),
        tuple(meta.get("crowdsec_scenarios") or ()),
    )


def detections(project_dir: Path = settings.PROJECT_DIR) -> tuple[Detection, ...]:
    """Every model tagged as a detection (the models/detections folder), by name."""
    return tuple(_detection(model) for name, model in sorted(models(project_dir).items()) if model.is_detection)


def crowdsec_coverage(project_dir: Path = settings.PROJECT_DIR) -> dict[str, str]:
    """The CrowdSec hub scenarios a detection stands for (its meta.crowdsec_scenarios): {scenario: detection}."""
    covered: dict[str, str] = {}
    for detection in detections(project_dir):
        for scenario in detection.crowdsec_scenarios:
            if scenario in covered:
                raise SecmonError(
                    f"{scenario} is in the meta.crowdsec_scenarios of {covered[scenario]} and {detection.name}"
                )
            covered[scenario] = detection.name
    return covered


def metric_views(project_dir: Path = settings.PROJECT_DIR) -> tuple[Model, ...]:
    """The windowed views that are not detections (whose rows the alerts table shows), by name."""
    return tuple(
        model for name, model in sorted(models(project_dir).items()) if model.windowed and not model.is_detection
    )
