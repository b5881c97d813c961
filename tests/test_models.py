"""The dbt project rendered for RisingWave, offline: it compiles, parses, and uses TUMBLE."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from secmon import manifest, settings
from secmon.core.events import SQL_TYPES
from secmon.dbt_runner import run_dbt
from secmon.settings import PROJECT_DIR

GOLDEN = Path(__file__).parent / "golden"
WINDOWED_MODELS = {path.stem for path in (PROJECT_DIR / "models").rglob("*.sql") if "tumble(" in path.read_text()}
EOWC = re.compile(r"\s*EMIT ON WINDOW CLOSE\s*$")
# RisingWave clauses that sqlglot does not know: the statement is parsed without them.
UNKNOWN_TO_SQLGLOT = re.compile(r"\s*(EMIT ON WINDOW CLOSE\s*$|on conflict do nothing\b)")
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
def risingwave_sql(tmp_path_factory, monkeypatch_module) -> dict[str, str]:
    """Every model compiled for the risingwave target without a server: name → SQL."""
    target = tmp_path_factory.mktemp("rw-target")
    monkeypatch_module.setenv("SECMON_SOURCE_BOOTSTRAP_SERVERS", "message_queue:29092")
    assert compile_for_risingwave(target) == 0
    compiled = (target / "compiled" / "secmon" / "models").rglob("*.sql")
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
    from secmon.patterns import MACRO_PATH, render_macro

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
    columns = re.findall(r"^\s+(\w+) ([A-Z]+),$", risingwave_sql["website_logs_source"], re.MULTILINE)
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
    """What the detections look for (the macro's literals) is text each upstream entry matches, for
    regex lists too: `Black\\ Hole` must become `Black Hole`, which position() finds in an agent."""
    from secmon.core import pattern_seeds
    from secmon.patterns import LISTS

    for name in LISTS:
        for entry, literal in zip(pattern_seeds.seed_entries(name), pattern_seeds.load(name), strict=True):
            text = f"Mozilla/5.0 ({literal}) x"
            assert "\\ " not in literal, f"{name}: {entry!r} keeps a regex escape no request contains"
            if name in pattern_seeds.REGEX_LISTS:
                assert re.search(entry, text), f"{name}: {entry!r} does not match the text {literal!r}"
            else:
                assert literal == entry, f"{name}: {entry!r} is literal text"
    assert "Black Hole" in pattern_seeds.load("bad_user_agents")


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


# RisingWave's planner rules for EMIT ON WINDOW CLOSE that its binder enforces only at CREATE time
# (no RisingWave runs here; read from v2.7.4's source and e2e tests).
WINDOW_COLUMNS = {"window_start", "window_end"}
TIME_COLUMNS = {"request_timestamp", "ingested_at"}


def group_key(select: exp.Select, key: exp.Expression) -> exp.Expression:
    """A GROUP BY entry, with an ordinal (`group by 1`) resolved to its projection."""
    return select.expressions[int(key.name) - 1] if isinstance(key, exp.Literal) else key


def output_columns(compiled: str) -> set[str]:
    """The columns a model's query returns; a `*` counts as every column it names anywhere."""
    query = sqlglot.parse_one(UNKNOWN_TO_SQLGLOT.sub("", compiled), read="risingwave")
    names = set(query.named_selects) if isinstance(query, exp.Query) else {"*"}
    return names if "*" not in names else set(re.findall(r"\w+", compiled))


def planner_rule_violations(name: str, compiled: str, models: dict[str, str]) -> list[str]:
    """What RisingWave would refuse in the model `name`, or why its watermark would stop."""
    if not EOWC.search(compiled):
        return []
    query = sqlglot.parse_one(UNKNOWN_TO_SQLGLOT.sub("", compiled), read="risingwave")
    found = []
    if any(query.find_all(exp.Union, exp.Except, exp.Intersect)):
        found.append(f"{name}: a set operation puts each input's watermark in its own group; use one OR filter")
    tumbles = [call for call in query.find_all(exp.Anonymous) if call.name.upper() == "TUMBLE"]
    if len(tumbles) > 1:
        found.append(f"{name}: {len(tumbles)} TUMBLEs; an EOWC aggregation groups on one watermark column")
    for call in tumbles:
        relation = call.expressions[0]
        upstream = models.get(relation.name) if isinstance(relation, exp.Column | exp.Table) else None
        if upstream is not None and "window_start" in output_columns(upstream):
            found.append(f"{name}: TUMBLE over {relation.name}, which already has window_start")
        if not isinstance(call.expressions[1], exp.Column):
            found.append(f"{name}: TUMBLE over an expression; only a plain column keeps its watermark")
    for select in query.find_all(exp.Select):
        group = select.args.get("group")
        if group is not None:
            keys = {group_key(select, key).alias_or_name for key in group.expressions}
            if keys & WINDOW_COLUMNS and keys & TIME_COLUMNS:
                found.append(f"{name}: groups on window columns and {sorted(keys & TIME_COLUMNS)}")
        if select is query:
            continue  # the outermost projection comes after the windows have closed
        for node in select.expressions:
            for derived in node.find_all(exp.Case, exp.Cast, exp.If):
                if derived.find_ancestor(exp.AggFunc):
                    continue  # an aggregated value, not a time column a window is built on
                # Columns read inside an aggregate are values, not the time the window is built on.
                columns = {c.name for c in derived.find_all(exp.Column) if not c.find_ancestor(exp.AggFunc, exp.Filter)}
                if columns & (WINDOW_COLUMNS | TIME_COLUMNS):
                    found.append(f"{name}: {derived.sql()[:60]} drops the watermark before the window closes")
    return found


def test_every_model_keeps_risingwaves_planner_rules(risingwave_sql):
    models = models_only(risingwave_sql)
    assert [found for name, sql in models.items() for found in planner_rule_violations(name, sql, models)] == []


@pytest.mark.parametrize(
    "shape",
    [
        # exploit_probing before it became one OR filter
        "with requests as (select * from TUMBLE(src, request_timestamp, INTERVAL '1 minute') as windowed),"
        " in_url as (select * from requests where position('X' in url) > 0),"
        " in_agent as (select * from requests where position('X' in user_agent) > 0),"
        " both_ as (select * from in_url union all select * from in_agent)"
        " select ip_address, window_start, window_end, count(*) from both_ group by 1, 2, 3",
        "select ip_address, window_start, count(*)"
        " from TUMBLE(per_minute, request_timestamp, INTERVAL '5 minutes') group by 1, 2",
        "with requests as (select *, case when window_start > now() then 1 else 0 end as late"
        " from TUMBLE(src, request_timestamp, INTERVAL '1 minute') as windowed)"
        " select window_start, count(*) from requests group by 1",
        "select window_start, request_timestamp, count(*)"
        " from TUMBLE(src, request_timestamp, INTERVAL '1 minute') group by 1, 2",
    ],
    ids=["union", "tumble-over-window", "case-on-window", "two-time-columns"],
)
def test_the_planner_rules_refuse_what_risingwave_refuses(shape):
    models = {"src": "select 1", "per_minute": "select window_start from x"}
    assert planner_rule_violations("shape", f"{shape}\nEMIT ON WINDOW CLOSE", models)


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
    """The metrics' output rows go out of a temporal filter after `retention`; a detection emits on
    window close, where RisingWave refuses a temporal filter (risingwave issue 22653)."""
    retention = settings.dbt_vars()["retention"]
    windowed_metrics = [
        path.stem
        for path in (PROJECT_DIR / "models" / "metrics").glob("*.sql")
        if "TUMBLE(" in risingwave_sql[path.stem]
    ]
    assert len(windowed_metrics) == 5
    for name in windowed_metrics:
        assert f"window_end > now() - INTERVAL '{retention}'" in risingwave_sql[name], name
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
