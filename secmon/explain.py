"""`secmon explain ALERT_ID`: the requests behind an alert, what each matched, and why the alert did or
did not ban. Operators judge false positives from it; the dashboard links to it (explain_alert's data).

The requests are the rows of `website_requests` for the alert's entity (its address, or its account
for an alert on a username) within the alert's window, read-only and bounded (REQUEST_LIMIT rows, a
statement timeout). What each matched: its `tags` (the classification at the edge, when the table has
the column), whether it is the alert's example, and what its agent claims (a search engine's crawler,
checked by DNS; a server's self-request, which is never evidence: secmon.core.own_addresses).
Why it bans or not is the decisions' own reasoning (secmon.decisions.policy): the policy, then the
allowlist and the site's own addresses, a lift, a verified crawler, and whether the ban is over.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from psycopg2 import sql
from rich.table import Table

from secmon import settings
from secmon.console import console, styled
from secmon.core.own_addresses import is_self_request_agent
from secmon.decisions.crawlers import CrawlerGate, claimed_engine
from secmon.decisions.policy import Allowlist, BanPolicy, canonical_entity, spared_reason
from secmon.errors import SecmonError

REQUEST_LIMIT = 200  # rows shown; the count says how many the window holds
STATEMENT_TIMEOUT = "5s"
ALERT_COLUMNS = (
    "alert_id", "detection", "severity", "entity_type", "entity", "target_username", "event_count",
    "distinct_count", "example", "window_start", "window_end",
)  # fmt: skip
SHOWN_LENGTH = 160  # a URL or agent is cut to this for the terminal (the data keeps it whole)


@dataclass(frozen=True)
class ExplainedRequest:
    time: datetime
    method: str | None
    url: str | None
    status: int | None
    user_agent: str | None
    tags: list[str] | None  # None when website_requests has no `tags` column
    matched: list[str]  # what this request matched, in words


@dataclass(frozen=True)
class Explanation:
    alert: dict
    requests: list[ExplainedRequest]
    requests_in_window: int
    bans: bool
    until: datetime | None  # the ban's end, when the policy bans
    reasons: list[str]  # why it bans or not, in order
    crawler_claims: list[dict] = field(default_factory=list)  # {agent, verdict}

    def to_json(self) -> dict:
        """JSON-ready (times as ISO 8601), for the dashboard and `--json`."""

        def plain(value):
            if isinstance(value, datetime):
                return value.astimezone(UTC).isoformat()
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            if isinstance(value, list):
                return [plain(item) for item in value]
            return value

        return plain(asdict(self))


def read_alert(conn, schema: str, alert_id: str) -> dict:
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("select {} from {}.{} where alert_id = %s").format(
                sql.SQL(", ").join(map(sql.Identifier, ALERT_COLUMNS)),
                sql.Identifier(schema),
                sql.Identifier(settings.ALERTS_TABLE),
            ),
            (alert_id,),
        )
        row = cur.fetchone()
    conn.rollback()
    if row is None:
        raise SecmonError(
            f"no alert {alert_id!r} in {schema}.{settings.ALERTS_TABLE} (alerts are kept for var retention)"
        )
    return dict(zip(ALERT_COLUMNS, row, strict=True))


def read_requests(conn, schema: str, alert: dict) -> tuple[list[tuple], int, bool]:
    """(rows of (time, method, url, status, agent, tags or None), rows in the window, whether `tags` exists)."""
    column = "username" if alert["entity_type"] == "username" else "ip_address"
    table = sql.SQL("{}.website_requests").format(sql.Identifier(schema))
    where = sql.SQL("where {} = %s and request_timestamp >= %s and request_timestamp < %s").format(
        sql.Identifier(column)
    )
    parameters = (alert["entity"], alert["window_start"], alert["window_end"])
    with conn.cursor() as cur:
        cur.execute("set local statement_timeout = %s", (STATEMENT_TIMEOUT,))
        cur.execute(sql.SQL("select * from {} where false").format(table))
        has_tags = "tags" in {description.name for description in cur.description}
        tags = sql.SQL("tags") if has_tags else sql.SQL("null")
        cur.execute(
            sql.SQL(
                "select request_timestamp, http_method, url, status_code, user_agent, {} from {} {} "
                "order by request_timestamp limit %s"
            ).format(tags, table, where),
            (*parameters, REQUEST_LIMIT),
        )
        rows = cur.fetchall()
        cur.execute(sql.SQL("select count(*) from {} {}").format(table, where), parameters)
        (count,) = cur.fetchone()
    conn.rollback()
    return rows, count, has_tags


def request_matches(row: tuple, alert: dict, verdicts: dict[str, str]) -> list[str]:
    _, _, url, _, agent, tags = row
    matched = list(tags or [])
    if alert["example"] is not None and alert["example"] in (url, agent):
        matched.append("the alert's example")
    if agent in verdicts:
        matched.append(f"agent claims a crawler: {verdicts[agent]}")
    elif (engine := claimed_engine(agent)) is not None:
        matched.append(f"agent claims {engine.name}'s crawler")
    if is_self_request_agent(agent):
        matched.append("agent claims a self-request (not evidence: any client can send it)")
    return matched


def ban_reasoning(
    alert: dict, policy: BanPolicy, allowlist: Allowlist, lifts: dict, crawlers: CrawlerGate | None, now: datetime
) -> tuple[bool, datetime | None, list[str]]:
    """(bans now, the ban's end, why) for one alert, by the rules `secmon decisions` applies."""
    if alert["entity_type"] != "ip":
        return False, None, [f"its entity is a {alert['entity_type']}, not an address: it bans nothing"]
    reasons = [f"policy: {policy.why(alert['detection'], alert['severity'])}"]
    duration = policy.duration(alert["detection"], alert["severity"])
    if duration is None:
        return False, None, reasons
    try:
        value = canonical_entity(alert["entity"])
    except ValueError as exc:
        return False, None, [*reasons, f"refused: {exc}"]
    until = alert["window_end"] + duration
    reasons.append(f"a ban of {duration} from the window's end, until {until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    window = (alert["window_start"], alert["window_end"])
    spared = spared_reason(value, alert["detection"], *window, allowlist, lifts, crawlers)
    if spared is not None:
        return False, until, [*reasons, f"not banned: {spared}"]
    if until <= now:
        return False, until, [*reasons, "the ban is over"]
    return True, until, [*reasons, "banned"]


def explain_alert(
    conn,
    schema: str,
    alert_id: str,
    *,
    policy: BanPolicy,
    allowlist: Allowlist,
    lifts: dict,
    crawlers: CrawlerGate | None,
    now: datetime,
) -> Explanation:
    """The alert `alert_id` explained, as data. `crawlers` checks the window's crawler claims by DNS."""
    alert = read_alert(conn, schema, alert_id)
    rows, count, _ = read_requests(conn, schema, alert)
    claims = []
    if crawlers is not None and alert["entity_type"] == "ip":
        claims = crawlers.verdicts(alert["entity"], alert["window_start"], alert["window_end"])
    verdicts = {agent: str(verdict) for agent, verdict in claims}
    requests = [ExplainedRequest(*row, matched=request_matches(row, alert, verdicts)) for row in rows]
    bans, until, reasons = ban_reasoning(alert, policy, allowlist, lifts, crawlers, now)
    return Explanation(
        alert, requests, count, bans, until, reasons, [{"agent": a, "verdict": v} for a, v in verdicts.items()]
    )


def _cut(text: str | None) -> str:
    if text is None:
        return "-"
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH] + "…"


def print_explanation(explanation: Explanation) -> None:
    """The explanation on the terminal, through the console with markup off: URLs and agents are the sender's."""
    alert = explanation.alert
    target = f" → {alert['target_username']}" if alert["target_username"] else ""
    console.print(
        styled(
            ("alert ", "bold"),
            f"{alert['alert_id']}: ",
            (f"{alert['detection']} ({alert['severity']})", "bold"),
            f" on {alert['entity_type']} {alert['entity']}{target}, {alert['window_start']:%Y-%m-%d %H:%M:%S}"
            f" → {alert['window_end']:%H:%M:%S}; {alert['event_count']} requests, {alert['distinct_count']} distinct;"
            f" e.g. {_cut(alert['example'])}",
        ),
        highlight=False,
    )
    table = Table(title=f"{len(explanation.requests)} of {explanation.requests_in_window} requests in the window")
    for column in ("time", "method", "status", "url", "agent", "matched"):
        table.add_column(column, overflow="fold")
    for request in explanation.requests:
        table.add_row(
            f"{request.time:%H:%M:%S}",
            _cut(request.method),
            str(request.status),
            _cut(request.url),
            _cut(request.user_agent),
            "; ".join(request.matched) or "-",
        )
    console.print(table, highlight=False)
    verdict = "bans" if explanation.bans else "does not ban"
    console.print(styled(("why it ", "bold"), (verdict, "bold"), ":"), highlight=False)
    for reason in explanation.reasons:
        console.print(f"  - {reason}", highlight=False)
