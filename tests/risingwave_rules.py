"""What RisingWave 2.7.4 refuses, or would keep as state without bound, found in SQL text offline.

sqlglot reads RisingWave SQL but is not its parser or planner: each rule here encodes one check of
RisingWave's own source (cited beside it, as read in risingwavelabs/risingwave) or a rule of this
project that keeps a view's state bounded. The tests run every rule over every statement that
`dbt compile -t risingwave` produces and over the SQL strings in secmon/ that run on RisingWave
(embedded_statements); tests/test_models.py shows each rule failing on a statement it refuses.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import sqlglot
from sqlglot import exp

from secmon.settings import PROJECT_DIR

# RisingWave clauses that sqlglot does not know: the statement is parsed without them.
UNKNOWN_TO_SQLGLOT = re.compile(
    r"\s*(EMIT ON WINDOW CLOSE\s*$|\bappend only\b|\bon conflict do (nothing|update full|update if not null)\b)",
    re.IGNORECASE,
)
EOWC = re.compile(r"\s*EMIT ON WINDOW CLOSE\s*$")
WINDOW_COLUMNS = ("window_start", "window_end")
WINDOW_FUNCTIONS = {"TUMBLE", "HOP"}
# The modules whose SQL strings run on RisingWave (on the local PostgreSQL too, for some); a
# decisions module that imports sqlite3 keeps the server's own state in SQLite instead.
EMBEDDED_SQL_MODULES = [
    "secmon/enrich.py",
    "secmon/production/doctor.py",
    "secmon/production/deploy.py",
    "secmon/production/risingwave.py",
    *sorted(
        str(path.relative_to(PROJECT_DIR))
        for path in (PROJECT_DIR / "secmon" / "decisions").glob("*.py")
        if "sqlite3" not in path.read_text()
    ),
]
SQL_START = re.compile(r"^\s*(select|insert|create|drop|alter|grant|delete|update|with)\s", re.IGNORECASE)

# Where each rule comes from. "read" ones were read in risingwavelabs/risingwave's source (2025
# versions of the files, the same checks as v2.7.4's); the others are issue 37's review of v2.7.4,
# not re-read here, and are what the gated live test's EXPLAINs settle.
CITES = {
    "retention": "read: src/frontend/src/handler/create_table.rs, gen_create_table_plan_without_source, "
    "'Defining retention seconds on table requires the table to be append only' (v2.7.4 ~l.784-805)",
    "append_only_conflict": "read: src/frontend/src/handler/create_table.rs, the table plan's conflict "
    "behaviour, 'When PRIMARY KEY constraint applied to an APPEND ONLY table, the ON CONFLICT behavior "
    "must be DO NOTHING'",
    "sink_into_append_only": "read: src/frontend/src/optimizer/plan_node/stream_sink.rs, StreamSink::create, "
    "'Only append-only sinks can sink to a append only table'",
    "empty_select": "issue 37: src/sqlparser/src/parser.rs parse_select needs a select item "
    "(e2e test `statement error SELECT FROM (SELECT 42) v1`)",
    "eowc_watermark_group": "read: the frontend's generic Agg::eowc_window_column, 'Emit-On-Window-Close mode "
    "requires a watermark column in GROUP BY' and '… watermark columns in GROUP BY are derived from the "
    "same upstream column' (a set operation gives each input's watermark a group of its own)",
    "watermark_passthrough": "read: src/frontend/src/optimizer/property/monotonicity.rs, analyze_monotonicity: "
    "`ExprImpl::InputRef(inner) => FollowingInput(inner.index())` but `ExprType::Cast`/`ExprType::Case` => "
    "`Inherent(Unknown)`; stream_project.rs and stream_project_set.rs (StreamProjectSet::new) keep an input's "
    "watermark column only for `FollowingInput` (watermark_derivations), so the time column a window reads "
    "carries the source's watermark only when every view in between passes it on as a plain column",
    "eowc_now": "read: risingwave issue 22653, a temporal filter in an EMIT ON WINDOW CLOSE view loses the "
    "watermark ('requires a watermark column in GROUP BY')",
    "window_over_window": "DESIGN.md: TUMBLE() over a relation that has window_start/window_end is refused",
    "window_key_first": "issue 37: an aggregation's state is cleaned behind the watermark only when the "
    "window is the first column of its group key (state table primary key order)",
    "temporal_filter_above_agg": "issue 37: a predicate on a group-key column is pushed below the "
    "aggregation; docs.risingwave.com/processing/sql/temporal-filters (read): rows leaving the range are "
    "deleted from storage",
    "interval_in_seconds": "issue 37: now() - interval is monotonic only in UTC when the interval has days "
    "or months; seconds are the same instant in every zone",
}


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(UNKNOWN_TO_SQLGLOT.sub("", sql), read="risingwave")


def found(rule: str, name: str, what: str) -> str:
    return f"{name}: {what} ({CITES[rule]})"


def ddl_violations(name: str, sql: str, append_only_tables: set[str]) -> list[str]:
    """CREATE TABLE and CREATE SINK … INTO: what RisingWave's DDL handlers refuse."""
    problems = []
    if re.match(r"\s*create\s+table\b", sql, re.IGNORECASE):
        append_only = re.search(r"\)\s*append\s+only\b", sql, re.IGNORECASE)
        conflict = re.search(r"\bon\s+conflict\s+(do\s+\w+(\s+\w+)*?)\s*(with\b|$)", sql, re.IGNORECASE)
        if re.search(r"\bretention_seconds\b", sql, re.IGNORECASE) and not append_only:
            problems.append(found("retention", name, "retention_seconds on a table that is not APPEND ONLY"))
        if append_only and "primary key" in sql.lower() and conflict and conflict[1].lower() != "do nothing":
            problems.append(found("append_only_conflict", name, f"an APPEND ONLY table with ON CONFLICT {conflict[1]}"))
    sink = re.match(r"\s*create\s+sink\s+(?:if\s+not\s+exists\s+)?\S+\s+into\s+(\S+)", sql, re.IGNORECASE)
    if sink and sink[1].split(".")[-1].strip('"') in append_only_tables:
        if not re.search(r"type\s*=\s*'append-only'|force_append_only\s*=\s*'true'", sql, re.IGNORECASE):
            problems.append(found("sink_into_append_only", name, f"a sink into {sink[1]} that is not append-only"))
    return problems


def select_list_violations(name: str, sql: str) -> list[str]:
    if re.search(r"\bselect\s+(distinct\s+)?from\b", sql, re.IGNORECASE):
        return [found("empty_select", name, "a SELECT with no select item")]
    return []


def windows(query: exp.Expression) -> list[exp.Anonymous]:
    return [call for call in query.find_all(exp.Anonymous) if call.name.upper() in WINDOW_FUNCTIONS]


def group_keys(select: exp.Select) -> list[exp.Expression]:
    """A GROUP BY's entries, with an ordinal (`group by 1`) resolved to its projection."""
    group = select.args.get("group")
    keys = group.expressions if group is not None else []
    return [select.expressions[int(key.name) - 1] if isinstance(key, exp.Literal) else key for key in keys]


def output_columns(compiled: str) -> set[str]:
    """The columns a model's query returns; a `*` counts as every column it names anywhere."""
    query = parse(compiled)
    names = set(query.named_selects) if isinstance(query, exp.Query) else {"*"}
    return names if "*" not in names else set(re.findall(r"\w+", compiled))


def window_violations(name: str, sql: str, models: dict[str, str]) -> list[str]:
    """TUMBLE and HOP views: the window first in each group key, windows over plain columns of a
    relation without window columns; EMIT ON WINDOW CLOSE ones also keep their watermark."""
    query = parse(sql)
    calls = windows(query)
    if not calls:
        return []
    problems = []
    for call in calls:
        relation, time_column = call.expressions[0], call.expressions[1]
        upstream = models.get(relation.name) if isinstance(relation, exp.Column | exp.Table) else None
        if upstream is not None and "window_start" in output_columns(upstream):
            problems.append(
                found("window_over_window", name, f"{call.name} over {relation.name}, which has window_start")
            )
        if not isinstance(time_column, exp.Column):
            problems.append(
                found("eowc_watermark_group", name, f"{call.name} over an expression, which has no watermark")
            )
    for select in query.find_all(exp.Select):
        keys = [key.alias_or_name for key in group_keys(select)]
        windowed = [position for position, key in enumerate(keys) if key in WINDOW_COLUMNS]
        if windowed and windowed[0] != 0:
            problems.append(found("window_key_first", name, f"GROUP BY {', '.join(keys)}: the window is not first"))
    if EOWC.search(sql):
        problems += eowc_violations(name, query, calls, models)
    return problems


def time_column_rewrites(
    relation: str, column: str, models: dict[str, str], seen: frozenset[str] = frozenset()
) -> list[str]:
    """Where a model a window reads (or one it reads, as far as the models go) projects the window's
    time column as an expression: a cast, CASE or any call there loses the source's watermark."""
    if relation not in models or relation in seen:
        return []
    try:
        query = parse(models[relation])
    except sqlglot.errors.ParseError:
        return []
    if not isinstance(query, exp.Query):
        return []  # the source's DDL: the watermark is defined there
    rewrites = [
        f"{relation} projects {projection.sql()[:60]}"
        for select in query.find_all(exp.Select)
        for projection in select.expressions
        if projection.alias_or_name == column and not isinstance(projection.unalias(), exp.Column)
    ]
    for table in query.find_all(exp.Table):
        rewrites += time_column_rewrites(table.name, column, models, seen | {relation})
    return rewrites


def eowc_violations(name: str, query: exp.Expression, calls: list[exp.Anonymous], models: dict[str, str]) -> list[str]:
    """An EMIT ON WINDOW CLOSE aggregation groups on a column that carries the source's watermark:
    a window column that every query between the window and the group passes on as a plain column."""
    problems = []
    if any(query.find_all(exp.Union, exp.Except, exp.Intersect)):
        problems.append(found("eowc_watermark_group", name, "a set operation before the window-close group"))
    if len(calls) > 1:
        problems.append(found("eowc_watermark_group", name, f"{len(calls)} windows before one window-close group"))
    if calls_now(query):
        problems.append(found("eowc_now", name, "now() in an EMIT ON WINDOW CLOSE view"))
    for call in calls:
        relation, time_column = call.expressions[0], call.expressions[1]
        if isinstance(relation, exp.Column | exp.Table) and isinstance(time_column, exp.Column):
            problems += [
                found("watermark_passthrough", name, what)
                for what in time_column_rewrites(relation.name, time_column.name, models)
            ]
    for select in query.find_all(exp.Select):
        for projection in select.expressions:
            if projection.alias_or_name in WINDOW_COLUMNS and not isinstance(projection.unalias(), exp.Column):
                problems.append(
                    found("eowc_watermark_group", name, f"{projection.sql()[:60]} redefines a window column")
                )
    grouping = [select for select in query.find_all(exp.Select) if select.args.get("group") is not None]
    if not any({key.alias_or_name for key in group_keys(select)} & set(WINDOW_COLUMNS) for select in grouping):
        problems.append(found("eowc_watermark_group", name, "no window column in the window-close GROUP BY"))
    return problems


def retention_violations(name: str, sql: str) -> list[str]:
    """A windowed view that is not window-close keeps its windows for `retention`: a temporal filter on
    an aggregate (kept above the aggregation) against now() less whole seconds (any time zone)."""
    query = parse(sql)
    if not windows(query) or EOWC.search(sql):
        return []
    filters = [node for node in query.find_all(exp.Having, exp.Where) if calls_now(node)]
    if not filters:
        return [found("temporal_filter_above_agg", name, "no temporal filter: every window is kept for ever")]
    problems = []
    for node in filters:
        if not isinstance(node, exp.Having) or node.find(exp.AggFunc) is None:
            what = f"{node.sql()[:70]} is pushed below the aggregation"
            problems.append(found("temporal_filter_above_agg", name, what))
        if not all(in_seconds(interval) for interval in node.find_all(exp.Interval)):
            problems.append(found("interval_in_seconds", name, f"{node.sql()[:70]}: the interval is not in seconds"))
    return problems


def calls_now(node: exp.Expression) -> bool:
    return any(
        isinstance(call, exp.CurrentTimestamp) or call.name.lower() == "now"
        for call in node.find_all(exp.CurrentTimestamp, exp.Anonymous)
    )


def in_seconds(interval: exp.Interval) -> bool:
    """`INTERVAL 'n seconds'` (or `'n' SECOND`): no day or month, whose length the time zone decides."""
    text = f"{interval.this.name} {interval.unit.name if interval.unit else ''}"
    return re.fullmatch(r"\s*\d+\s+seconds?\s*", text, re.IGNORECASE) is not None


def statement_violations(name: str, sql: str, models: dict[str, str], append_only_tables: set[str]) -> list[str]:
    """Every rule, over one statement as RisingWave would run it (a view's SELECT, or DDL)."""
    problems = ddl_violations(name, sql, append_only_tables) + select_list_violations(name, sql)
    if SQL_START.match(sql) and re.match(r"\s*(select|with)\b", sql, re.IGNORECASE):
        problems += window_violations(name, sql, models) + retention_violations(name, sql)
    return problems


def _sql_text(node: ast.expr) -> str | None:
    """A string literal's text, an f-string's with each value as an identifier; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "x" for part in node.values)
    return None


def embedded_statements(modules: list[str] = EMBEDDED_SQL_MODULES) -> dict[str, str]:
    """Every SQL string in `modules` ("path:line" → SQL), placeholders filled as RisingWave would
    see them: psycopg2's `{}`/`{name}` as an identifier, `%s` as a value."""
    statements = {}
    for module in modules:
        tree = ast.parse((PROJECT_DIR / module).read_text())
        # Docstrings are prose, and an f-string's literal parts are read with the f-string.
        skipped = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body
            if isinstance(node.body[0], ast.Expr)
        }
        skipped |= {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            text = _sql_text(node) if isinstance(node, ast.expr) and id(node) not in skipped else None
            if text and SQL_START.match(text):
                text = re.sub(r"\{\w*\}", "x", text).replace("values %s", "values (1)").replace("%s", "1")
                statements[f"{module}:{node.lineno}"] = text
    return statements


def embedded_violations(location: str, sql: str) -> list[str]:
    """An embedded statement parses as RisingWave SQL and keeps the rules that apply to it."""
    try:
        parsed = parse(sql)
    except sqlglot.errors.ParseError as error:
        return [f"{location}: does not parse ({str(error).splitlines()[0]})"]
    problems = select_list_violations(location, sql)
    if isinstance(parsed, exp.Command) and not re.match(r"\s*(grant|alter|create)\b", sql, re.IGNORECASE):
        problems.append(f"{location}: sqlglot reads it only as a generic command")
    return problems


def path_of(location: str) -> Path:
    return PROJECT_DIR / location.split(":")[0]
