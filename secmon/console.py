"""The terminal, for every command: what came from a log or a topic is data, never markup.

rich reads `[...]` in a string as markup, and in a table cell too: a URL such as `/x?a=[/x]` stopped
`secmon alerts` with a MarkupError, and a crafted one could restyle what the operator reads. So the
console has markup off; the few styles the commands want are given as `styled()` pieces.

Every command's tables and lines are drawn here, from what the library returns.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from secmon.errors import SecmonError

console = Console(markup=False)


def styled(*pieces: str | tuple[str, str]) -> Text:
    """`styled((severity, "bold"), " ", detection)`: plain strings and (text, style) pairs, none of it markup."""
    return Text.assemble(*pieces)


def status_table(rows, title: str) -> Table:
    """The stack's components (stack.ComponentStatus), as `up` and `status` show them."""
    table = Table(title=title)
    for column in ("component", "address", "pid", "health", "mode", "clients authenticate"):
        table.add_column(column, overflow="fold")
    for row in rows:
        health = styled(("ok", "green")) if row.healthy else styled(("down", "red"))
        mode = row.action or ("embedded" if row.managed else "external")
        table.add_row(row.component, row.address, str(row.pid or "-"), health, mode, row.auth)
    return table


def _process_header(name: str, status: dict) -> str:
    """`follow (pid 12, running, updated 1 s ago)`, from a status file's pid and time."""
    import psutil

    alive = psutil.pid_exists(status["pid"])
    return (
        f"{name} (pid {status['pid']}, {'running' if alive else 'stopped'}, "
        f"updated {time.time() - status['updated_at']:.0f} s ago)"
    )


def print_follow_status(status: dict) -> None:
    """A running `secmon follow`'s status file (secmon.follow.FollowStatus), in one line."""
    console.print(
        f"{_process_header('follow', status)}: "
        f"{', '.join(status['files'])}: {status['lines']:,} lines, {status['published']:,} published, "
        f"{status['rejected']:,} rejected, {status['lines_per_second']:,.0f} lines/s, "
        f"lag {status['lag_seconds']:.1f} s"
    )


def print_stream_status(status: dict) -> None:
    """A running `secmon stream`'s status file (secmon.engine.stream.StreamStatus): a line, then its lag."""
    console.print(
        f"{_process_header('stream', status)}: "
        f"{status['ingested']:,} events ingested, {status['rejected']:,} rejected, "
        f"{status['batches']:,} batches, last refresh {status['last_refresh_seconds'] * 1000:.0f} ms; "
        f"lag {status.get('lag_events', 0):,} events, {status.get('lag_seconds', 0.0):.1f} s"
    )
    table = Table(title="consumer lag")
    for column in ("partition", "position", "high watermark", "lag"):
        table.add_column(column, justify="right")
    for partition, offsets in sorted(status["partitions"].items(), key=lambda item: int(item[0])):
        highwater = offsets["highwater"]
        lag = "-" if highwater is None else f"{highwater - offsets['position']:,}"
        table.add_row(partition, f"{offsets['position']:,}", "-" if highwater is None else f"{highwater:,}", lag)
    console.print(table)


def send_with_progress(send, expected: int | None, destination: str):
    """`send(advance)` under a progress bar (on a terminal), then what it sent as a table; its Summary.
    Raises if any message was not delivered."""
    columns = [
        TextColumn("[bold]publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>9,.0f} events/s"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("events", total=expected, rate=0.0)

        def advance(count: int) -> None:
            bar.advance(task, count)
            elapsed = bar.tasks[task].elapsed or 0
            bar.update(task, rate=bar.tasks[task].completed / elapsed if elapsed else 0.0)

        summary = send(advance)
    _print_sent(summary, destination)
    if summary.undelivered:
        raise SecmonError(
            f"{summary.undelivered} of {summary.events + summary.labels} messages "
            f"could not be delivered to {destination}"
        )
    return summary


def _print_sent(summary, destination: str) -> None:
    table = Table(title=f"sent to {destination}")
    for column in ("events", "MB", "seconds", "events/s", "labels"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{summary.events:,}",
        f"{summary.bytes / 1e6:,.1f}",
        f"{summary.seconds:,.1f}",
        f"{summary.rate:,.0f}",
        str(summary.labels),
    )
    console.print(table)
    if summary.per_scenario:
        console.print(
            "events per scenario: "
            + ", ".join(f"{name} {count:,}" for name, count in summary.per_scenario.most_common())
        )


def print_formats(entries) -> None:
    """The registered log formats (secmon.core.logs.formats.REGISTRY's values)."""
    table = Table(title="log formats (recognised line by line unless --format or --log-format names one)")
    table.add_column("name")
    table.add_column("what writes it", overflow="fold")
    for entry in entries:
        table.add_row(entry.name, entry.description + ("" if entry.auto else " (only with --format)"))
    console.print(table)
    console.print("yours: --log-format with nginx's `log_format …` or Apache's `LogFormat …` line")


def print_format_check(check, shown: int) -> None:
    """A secmon.replay.FormatCheck: the counts, then the first `shown` unmatched lines and why."""
    failed = check.failed
    console.print(
        f"{check.total:,} lines: {check.total - len(failed):,} parsed ({check.summary}), "
        f"{len(failed):,} matched no format"
    )
    for number, reason, text in failed[:shown]:
        console.print(f"  line {number}: {reason}\n    {text}", highlight=False, soft_wrap=True)


def print_replay(name: str, format_summary: str, stats, kept_rejects: bool) -> None:
    """What `secmon replay` read (a ReplayStats): its formats, counts and first rejects."""
    console.print(f"{name}: format {format_summary}")
    console.print(f"lines read {stats.lines:,}, published {stats.parsed:,}, rejected {stats.rejected:,}")
    for description in stats.first_rejects:
        console.print(f"  rejected {description}")
    if stats.rejected > len(stats.first_rejects):
        console.print(
            f"  … and {stats.rejected - len(stats.first_rejects):,} more"
            + ("" if kept_rejects else " (keep them with --rejects FILE)")
        )


def print_scores(result: dict, labels_path) -> None:
    """secmon.evaluate.score's result: precision and recall per scenario."""
    table = Table(title=f"detections against {labels_path}")
    for column in ("scenario", "labels", "alerts", "precision", "recall"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for row in result["scenarios"]:
        table.add_row(
            row["scenario"],
            str(row["labels"]),
            str(row["alerts"]),
            *("-" if row[key] is None else f"{row[key]:.2f}" for key in ("precision", "recall")),
        )
    console.print(table)
    console.print(f"alerts on normal traffic: {result['alerts_on_normal_traffic']}")


def alert_line(alert: dict, origin: str | None) -> Text:
    """One alert as `secmon alerts` prints it: its example URL and entity are the attacker's text, shown as data."""
    target = f" → {alert['target_username']}" if alert["target_username"] else ""
    where = f" [{origin}]" if origin else ""
    return styled(
        f"{alert['window_start'][:19]}  ",
        (f"{alert['severity']:<8}", "bold"),
        f" {alert['detection']:<24} {alert['entity']}{where}{target}  ({alert['event_count']} requests, "
        f"{alert['distinct_count']} distinct; e.g. {alert['example']})",
    )


def ingest_totals_line(totals) -> str:
    """An Ingester's drain totals."""
    return (
        f"ingested {totals.ingested:,} events, rejected {totals.rejected:,}, "
        f"in {totals.batches} batches, {totals.seconds:.1f} s "
        f"({totals.ingested / max(totals.seconds, 1e-9):,.0f} events/s)"
    )


def batch_line(batch) -> str:
    """One `secmon stream` cycle (a BatchReport)."""
    return (
        f"{batch.ingested:>7,} events, {batch.rejected} rejected | ingest "
        f"{batch.ingest_seconds * 1000:>5.0f} ms, refresh {batch.refresh_seconds * 1000:>5.0f} ms | "
        f"freshness p50 {batch.freshness_p50:.2f} s, max {batch.freshness_max:.2f} s | "
        f"lag {batch.lag_events:,} events, {batch.lag_seconds:.1f} s"
    )


def grafana_changes_table(changes, grafana_url: str) -> Table:
    """What `dashboards push` did (secmon.grafana.client's changes)."""
    table = Table(title=f"Grafana at {grafana_url}")
    for column in ("kind", "name", "action", "url"):
        table.add_column(column)
    for change in changes:
        table.add_row(change.kind, change.name, change.action, change.url)
    return table


def preview_line(page) -> str:
    """One rendered preview page: how many of its panels have data, and its errors."""
    errors = f", errors: {'; '.join(page.errors)}" if page.errors else ""
    return f"{page.path}: {page.panels_with_data}/{page.panels} panels with data{errors}"
