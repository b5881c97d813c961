"""The dbt project rendered for RisingWave, offline: it compiles, parses, and uses TUMBLE."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import risingwave_rules as rules
import sqlglot
from risingwave_rules import EOWC, UNKNOWN_TO_SQLGLOT
from sqlglot import exp

from secmon import manifest, settings
from secmon.core.events import SQL_TYPES
from secmon.dbt_runner import run_dbt
from secmon.settings import PROJECT_DIR

GOLDEN = Path(__file__).parent / "golden"
WINDOWED_MODELS = {path.stem for path in (PROJECT_DIR / "models").rglob("*.sql") if "tumble(" in path.read_text()}
DETECTIONS = {path.stem for path in (PROJECT_DIR / "models" / "detections").glob("*.sql")}
# Models whose compiled SQL is their whole DDL: the Kafka source, the table the detections sink
# into, the sink of that table to Kafka, and the table of the alerting addresses' origins.
DDL_MODELS = {"website_logs_source", "security_alerts", "security_alerts_sink", "ip_enrichment"}


def compile_for_risingwave(target: Path, *selected: str, variables: str | None = None) -> int:
    """dbt compile for the risingwave target without a server, into `target`; dbt's exit code."""
    args = ["compile", "-t", "risingwave", "--no-populate-cache", "--no-introspect", "--target-path", str(target)]
    args += ["--quiet", *(["-s", *selected] if selected else []), *(["--vars", variables] if variables else [])]
    return run_dbt(args, None)


@pytest.fixture(scope="module")
def risingwave_target(tmp_path_factory, monkeypatch_module) -> Path:
    """The project compiled for the risingwave target without a server."""
    target = tmp_path_factory.mktemp("rw-target")
    monkeypatch_module.setenv("SECMON_SOURCE_BOOTSTRAP_SERVERS", "message_queue:29092")
    assert compile_for_risingwave(target) == 0
    return target


@pytest.fixture(scope="module")
def risingwave_sql(risingwave_target) -> dict[str, str]:
    """Every model and data test compiled for the risingwave target: name → SQL."""
    compiled = (risingwave_target / "compiled" / "secmon" / "models").rglob("*.sql")
    return {path.stem: path.read_text() for path in compiled}


def models_only(compiled: dict[str, str]) -> dict[str, str]:
    """Compiled data tests sit beside the models, in folders named after their yml files."""
    names = {path.stem for path in (PROJECT_DIR / "models").rglob("*.sql")}
    return {name: sql for name, sql in compiled.items() if name in names}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def statement(name: str, compiled: str) -> str:
    """The DDL RisingWave runs: materialized views wrap the compiled SELECT."""
    return compiled if name in DDL_MODELS else f"CREATE MATERIALIZED VIEW {name} AS {compiled}"


def test_every_model_compiles_for_risingwave(risingwave_sql):
    assert len(models_only(risingwave_sql)) == len(list((PROJECT_DIR / "models").rglob("*.sql")))


def test_detections_emit_on_window_close_on_risingwave(risingwave_sql):
    assert DETECTIONS
    for name in DETECTIONS:
        assert EOWC.search(risingwave_sql[name]), name


def test_every_statement_parses_as_risingwave_sql(risingwave_sql):
    for name, compiled in models_only(risingwave_sql).items():
        parsed = sqlglot.parse(statement(name, UNKNOWN_TO_SQLGLOT.sub("", compiled)), read="risingwave")
        assert len(parsed) == 1, name
        assert not isinstance(parsed[0], exp.Command), f"{name} is not valid RisingWave SQL for sqlglot"
        assert isinstance(parsed[0], exp.Create), name


def test_every_data_test_parses_as_risingwave_sql(risingwave_sql):
    tests = {name: sql for name, sql in risingwave_sql.items() if name not in models_only(risingwave_sql)}
    assert len(tests) > 50
    for name, compiled in tests.items():
        parsed = sqlglot.parse_one(compiled, read="risingwave")
        assert not isinstance(parsed, exp.Command), name


def test_the_alert_sink_reads_security_alerts_through_the_kafka_connection(risingwave_sql):
    sink = risingwave_sql["security_alerts_sink"]
    assert 'FROM "dev"."public"."security_alerts" WITH' in sink
    assert "connection = public.secmon_kafka" in sink and "force_append_only = 'true'" in sink


def test_the_pattern_macro_is_generated_from_the_seeds():
    from secmon.core.classify.dbt_macro import MACRO_PATH, render_macro

    assert MACRO_PATH.read_text() == render_macro(), "run `secmon patterns` after editing a crowdsec_* seed"


def test_every_windowed_view_uses_tumble_on_risingwave(risingwave_sql):
    # The dispatch trap: without risingwave__tumble the postgres date_bin form would render here.
    assert WINDOWED_MODELS >= {
        "website_user_metrics",
        "top_user_actions",
        "referrer_activity_summary",
        "status_code_analysis_summary",
        "security_level_analysis_summary",
    }
    for name in WINDOWED_MODELS:
        assert "TUMBLE(" in risingwave_sql[name], name
        assert "date_bin" not in risingwave_sql[name], name


def test_no_view_keeps_an_order_by_that_risingwave_would_ignore(risingwave_sql):
    for name in WINDOWED_MODELS:
        parsed = sqlglot.parse_one(UNKNOWN_TO_SQLGLOT.sub("", risingwave_sql[name]), read="risingwave")
        assert parsed.args.get("order") is None, name


@pytest.mark.parametrize("name", sorted(DDL_MODELS))
def test_ddl_matches_the_golden_file(risingwave_sql, name):
    assert risingwave_sql[name].strip() == (GOLDEN / f"{name}.risingwave.sql").read_text().strip()


def test_every_detection_returns_the_columns_of_security_alerts_in_order(risingwave_sql):
    # CREATE SINK … INTO security_alerts FROM <detection> matches columns by position.
    table = sqlglot.parse_one(UNKNOWN_TO_SQLGLOT.sub("", risingwave_sql["security_alerts"]), read="risingwave")
    columns = [column.name for column in table.find_all(exp.ColumnDef)]
    assert columns[0] == "alert_id" and "window_end" in columns
    for name in DETECTIONS:
        query = sqlglot.parse_one(UNKNOWN_TO_SQLGLOT.sub("", risingwave_sql[name]), read="risingwave")
        assert query.named_selects == columns, name


def test_source_columns_are_the_event_schema(risingwave_sql):
    columns = re.findall(r"^\s+(\w+) ([A-Z]+(?:\[\])?),$", risingwave_sql["website_logs_source"], re.MULTILINE)
    assert [(name, sql_type.lower()) for name, sql_type in columns] == list(SQL_TYPES.items())


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL", "SASL_SSL"])
def test_no_broker_setting_or_credential_reaches_a_model_or_target(tmp_path, monkeypatch, protocol):
    """Whatever the security, the source and the sink name the Kafka connection and hold nothing
    else about the broker; secmon deploy puts TLS and SASL in the connection."""
    monkeypatch.setenv("SECMON_KAFKA_SECURITY_PROTOCOL", protocol)
    monkeypatch.setenv("SECMON_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("SECMON_KAFKA_SASL_USERNAME", "secmon")
    monkeypatch.setenv("SECMON_KAFKA_SASL_PASSWORD", "never-in-sql")
    monkeypatch.setenv("SECMON_SOURCE_BOOTSTRAP_SERVERS", "broker.example.com:9093")
    assert compile_for_risingwave(tmp_path, "website_logs_source", "security_alerts_sink") == 0
    for name in ("website_logs_source", "security_alerts_sink"):
        ddl = next(tmp_path.rglob(f"{name}.sql")).read_text()
        with_clause = ddl[ddl.index(") WITH (") if name == "website_logs_source" else ddl.index("WITH (") :]
        assert "connection = public.secmon_kafka" in with_clause, name
        assert "properties." not in with_clause, name
    written = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    assert b"never-in-sql" not in written and b"broker.example.com" not in written


def test_every_pattern_seed_entry_matches_text_built_from_it():
    """What the classifier looks for (each list's literals) is text each upstream entry matches, for
    regex lists too: `Black\\ Hole` must become `Black Hole`, which a literal match finds in an agent."""
    from secmon.core.classify import seeds

    for name in seeds.SEED_FILES:
        for entry, literal in zip(seeds.seed_entries(name), seeds.load(name), strict=True):
            text = f"Mozilla/5.0 ({literal}) x"
            assert "\\ " not in literal, f"{name}: {entry!r} keeps a regex escape no request contains"
            if name in seeds.REGEX_LISTS:
                assert re.search(entry, text), f"{name}: {entry!r} does not match the text {literal!r}"
            else:
                assert literal == entry, f"{name}: {entry!r} is literal text"
    assert "Black Hole" in seeds.load("bad_user_agents")


def test_every_seed_lookup_is_a_temporal_join_on_risingwave(risingwave_sql):
    """A regular streaming join with a seed keeps every event as state and retracts all history on
    each seed reload; a process-time temporal join keeps nothing per event and rewrites nothing."""
    seeds = {path.stem for path in (PROJECT_DIR / "seeds").glob("*.csv")}
    looked_up = set()
    for name, compiled in models_only(risingwave_sql).items():
        for seed in seeds:
            for match in re.finditer(rf'"dev"\."public"\."{seed}"(.{{0,40}})', compiled):
                looked_up.add(name)
                assert match[1].startswith(" FOR SYSTEM_TIME AS OF PROCTIME()"), f"{name} joins {seed}"
    assert looked_up >= {"referrer_activity_summary", "status_code_analysis_summary"}


def test_the_raw_events_view_keeps_only_the_newest_events_on_risingwave(risingwave_sql):
    assert re.search(r"order by request_timestamp desc\s+limit 100\s*$", risingwave_sql["newest_events"])


def test_counts_add_up_compares_closed_windows_only_on_risingwave(risingwave_sql):
    tests = [sql for name, sql in risingwave_sql.items() if name.startswith("counts_add_up_")]
    assert tests
    for compiled in tests:
        assert compiled.count("window_start < (select max(request_timestamp) from") == 2


def append_only_tables(compiled: dict[str, str]) -> set[str]:
    return {name for name in DDL_MODELS if re.search(r"\)\s*append only\b", compiled.get(name, ""), re.IGNORECASE)}


def sink_into_alerts_statement() -> str:
    """The RisingWave post-hook every detection runs (macro risingwave__sink_into_alerts), its names filled."""
    macro = (PROJECT_DIR / "macros" / "alerts" / "sink_into_alerts.sql").read_text()
    body = macro.split("{% macro risingwave__sink_into_alerts() -%}", 1)[1].split("{%- endmacro %}", 1)[0]
    return re.sub(r"\{\{.*?\}\}", "x", body.replace("{{ ref('security_alerts') }}", "security_alerts"))


def test_every_risingwave_statement_keeps_risingwaves_rules(risingwave_sql):
    """DDL, views (windowed, window-close and the request-grain ones upstream of the detections) and
    the detections' sinks: nothing RisingWave 2.7.4 refuses, nothing whose state grows without bound."""
    models, append_only = models_only(risingwave_sql), append_only_tables(risingwave_sql)
    statements = {**models, "sink_into_alerts": sink_into_alerts_statement()}
    assert append_only == {"security_alerts"}
    assert [
        f for name, sql in statements.items() for f in rules.statement_violations(name, sql, models, append_only)
    ] == []


def test_every_sql_string_in_secmon_that_runs_on_risingwave_keeps_its_rules():
    statements = rules.embedded_statements()
    with_sql = {location.split(":")[0] for location in statements}
    assert {
        "secmon/enrich.py",
        "secmon/production/doctor.py",
        "secmon/production/deploy.py",
        "secmon/production/risingwave.py",
    } <= with_sql
    assert any(module.startswith("secmon/decisions/") for module in with_sql)
    assert [found for location, sql in statements.items() for found in rules.embedded_violations(location, sql)] == []


def test_the_request_grain_models_keep_no_state_on_risingwave(risingwave_target):
    """A materialized view keeps every row it returns: the classified models, which return requests,
    are plain views that each detection inlines."""
    nodes = json.loads((risingwave_target / "manifest.json").read_text())["nodes"].values()
    materialized = {node["name"]: node["config"]["materialized"] for node in nodes if node["resource_type"] == "model"}
    for path in (PROJECT_DIR / "models" / "classified").glob("*.sql"):
        assert materialized[path.stem] == "view", path.stem
    assert materialized["website_requests"] == "view"


# The previous main's two statements that RisingWave refuses (issue 37), restored.
PREVIOUS_ALERTS_DDL = (GOLDEN / "security_alerts.risingwave.sql").read_text().replace("append only\n", "")
PREVIOUS_ENRICH_QUERY = (
    "select distinct alerts.entity from x.x as alerts where alerts.entity_type = 'ip' "
    "and not exists (select from x as known where known.ip_address = alerts.entity) limit 1"
)


def test_the_rules_fail_on_the_previous_mains_two_refused_statements():
    assert PREVIOUS_ALERTS_DDL != (GOLDEN / "security_alerts.risingwave.sql").read_text()
    refused = rules.statement_violations("security_alerts", PREVIOUS_ALERTS_DDL, {}, set())
    assert len(refused) == 1 and "retention_seconds on a table that is not APPEND ONLY" in refused[0]
    refused = rules.embedded_violations("secmon/enrich.py", PREVIOUS_ENRICH_QUERY)
    assert len(refused) == 1 and "a SELECT with no select item" in refused[0]


@pytest.mark.parametrize(
    ("shape", "refusal"),
    [
        # exploit_probing before it became one OR filter
        (
            "with requests as (select * from TUMBLE(src, request_timestamp, INTERVAL '1 minute') as windowed),"
            " in_url as (select * from requests where position('X' in url) > 0),"
            " in_agent as (select * from requests where position('X' in user_agent) > 0),"
            " both_ as (select * from in_url union all select * from in_agent)"
            " select window_start, window_end, ip_address, count(*) from both_ group by 1, 2, 3\nEMIT ON WINDOW CLOSE",
            "a set operation",
        ),
        (
            "select window_start, ip_address, count(*)"
            " from TUMBLE(per_minute, request_timestamp, INTERVAL '5 minutes') group by 1, 2\nEMIT ON WINDOW CLOSE",
            "which has window_start",
        ),
        (
            "with requests as (select case when window_start > '2026-01-01' then window_start end as window_start"
            " from TUMBLE(src, request_timestamp, INTERVAL '1 minute') as windowed)"
            " select window_start, count(*) from requests group by 1\nEMIT ON WINDOW CLOSE",
            "redefines a window column",
        ),
        (
            "select window_start, count(*) from HOP(src, request_timestamp + INTERVAL '1 second',"
            " INTERVAL '5 seconds', INTERVAL '10 seconds') group by 1\nEMIT ON WINDOW CLOSE",
            "over an expression",
        ),
        (
            "select ip_address, window_start, count(*) from HOP(src, request_timestamp, INTERVAL '5 seconds',"
            " INTERVAL '10 seconds') group by ip_address, window_start\nEMIT ON WINDOW CLOSE",
            "the window is not first",
        ),
        (
            "select window_start, count(*) from TUMBLE(src, request_timestamp, INTERVAL '1 minute')"
            " where window_end > now() - INTERVAL '604800 seconds' group by 1",
            "pushed below the aggregation",
        ),
        (
            "select window_start, count(*) from TUMBLE(src, request_timestamp, INTERVAL '1 minute')"
            " group by 1 having max(window_end) > now() - INTERVAL '7 days'",
            "not in seconds",
        ),
        (
            "select window_start, count(*) from TUMBLE(src, request_timestamp, INTERVAL '1 minute') group by 1",
            "no temporal filter",
        ),
        ("create table t (a int, primary key (a)) append only on conflict do update full", "ON CONFLICT"),
        ("create sink if not exists s into security_alerts from d", "not append-only"),
        ("select from t", "no select item"),
    ],
    ids=[
        "union",
        "tumble-over-window",
        "window-redefined",
        "hop-over-expression",
        "window-not-first",
        "filter-below-agg",
        "interval-in-days",
        "no-retention",
        "append-only-conflict",
        "sink-not-append-only",
        "empty-select",
    ],
)
def test_the_rules_refuse_what_risingwave_refuses(shape, refusal):
    models = {"src": "select 1", "per_minute": "select window_start from x"}
    refused = rules.statement_violations("shape", shape, models, {"security_alerts"})
    assert any(refusal in found for found in refused), refused


@pytest.mark.parametrize(
    "shape",
    [
        # eowc_window_column: window_start and request_timestamp carry watermarks of one group
        "select window_start, request_timestamp, count(*)"
        " from TUMBLE(src, request_timestamp, INTERVAL '1 minute') group by 1, 2\nEMIT ON WINDOW CLOSE",
        # a CASE reading a window column feeds no group key: the watermark on window_start is intact
        "with requests as (select *, case when window_start > '2026-01-01' then 1 else 0 end as late"
        " from TUMBLE(src, request_timestamp, INTERVAL '1 minute') as windowed)"
        " select window_start, sum(late) from requests group by 1\nEMIT ON WINDOW CLOSE",
    ],
    ids=["window-and-time-column", "case-reading-a-window-column"],
)
def test_the_rules_accept_what_risingwave_accepts(shape):
    assert rules.statement_violations("shape", shape, {"src": "select 1"}, set()) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("watermark_delay", "1 day"),
        ("watermark_delay", "1 month"),
        ("future_timestamp_tolerance", "2 weeks"),
        ("future_timestamp_tolerance", "3d"),
    ],
)
def test_a_watermark_interval_in_days_or_months_is_refused_in_one_line(tmp_path, monkeypatch, capfd, name, value):
    monkeypatch.setenv("SECMON_SOURCE_BOOTSTRAP_SERVERS", "message_queue:29092")
    assert compile_for_risingwave(tmp_path, "website_logs_source", variables=f"{{{name}: '{value}'}}") != 0
    assert f"var {name} = '{value}': RisingWave 2.7 never advances a watermark" in capfd.readouterr().out


def test_a_watermark_interval_in_hours_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SECMON_SOURCE_BOOTSTRAP_SERVERS", "message_queue:29092")
    assert compile_for_risingwave(tmp_path, "website_logs_source", variables="{watermark_delay: '2 hours'}") == 0
    assert "- INTERVAL '2 hours'" in next(tmp_path.rglob("website_logs_source.sql")).read_text()


def test_windowed_metric_views_keep_the_retention_and_detections_never_filter_on_now(risingwave_sql):
    """The metrics' aggregated windows go out of a temporal filter after `retention`, in whole
    seconds; a detection emits on window close, where RisingWave refuses a temporal filter
    (risingwave issue 22653)."""
    windowed_metrics = [
        path.stem
        for path in (PROJECT_DIR / "models" / "metrics").glob("*.sql")
        if "TUMBLE(" in risingwave_sql[path.stem]
    ]
    assert len(windowed_metrics) == 5
    for name in windowed_metrics:
        having = f"having max(window_end) > now() - INTERVAL '{settings.RETENTION_MS // 1000} seconds'"
        assert having in risingwave_sql[name], name
    for name in DETECTIONS:
        assert "now()" not in risingwave_sql[name].lower(), name
    assert f"retention_seconds = {settings.RETENTION_MS // 1000}" in risingwave_sql["security_alerts"]


def test_a_retention_that_is_not_a_whole_number_of_units_is_refused_in_one_line(tmp_path, capfd):
    assert compile_for_risingwave(tmp_path, "security_alerts", variables="{retention: '1.5 days'}") != 0
    assert "var retention = '1.5 days': write it as a whole number of" in capfd.readouterr().out


def test_every_detection_is_refreshed_window_by_window_whatever_macro_it_tumbles_through():
    """The local engine refreshes a windowed model window by window and prunes it by window_end; a
    detection written as one macro call (family_probing) tumbles through that macro."""
    models = manifest.models()
    assert [name for name, model in models.items() if model.is_detection and not model.windowed] == []
    assert {"sqli_probing", "webshell_probing", "brute_force"} <= {
        name for name, model in models.items() if model.windowed
    }


def test_the_events_own_tests_warn_with_a_count_instead_of_failing_the_build(risingwave_target):
    """One bad event in the topic must not skip every view in `dbt build`: the tests on the events
    warn (dbt prints how many rows failed); the views' and alerts' tests still fail the build."""
    nodes = json.loads((risingwave_target / "manifest.json").read_text())["nodes"].values()
    tests = [node for node in nodes if node["resource_type"] == "test"]
    on_events = {node["config"]["severity"].lower() for node in tests if node["fqn"][1] == "ingest"}
    elsewhere = {node["config"]["severity"].lower() for node in tests if node["fqn"][1] != "ingest"}
    assert (on_events, elsewhere) == ({"warn"}, {"error"})
