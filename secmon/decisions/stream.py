"""CrowdSec's stream semantics: what each bouncer is sent, from a ledger of bans in the state dir.

Modelled on crowdsecurity/crowdsec pkg/apiserver/controllers/v1/decisions.go (StreamDecision,
StreamDecisionNonChunked) and pkg/database/decisions.go:
- each decision is a row with the time it was made and the time it ends (`until`, which a deletion
  sets to now: CrowdSec's soft delete). A pull without `startup` answers the decisions made since the
  bouncer's last pull that are still running (`new`), and those that ended since (`deleted`);
- the last pull is a cursor per (bouncer, client address) (CrowdSec keeps one per bouncer row, and
  a bouncer row per key and IP), taken when the request starts and stored only once the reply is
  written ("Only update the last pull time if no error occurred when sending the decisions");
- the window reaches back OVERLAP before the cursor (CrowdSec's `LastPull.Add(-2 * time.Second)`
  for the expired ones), for the new ones as well: a bouncer that is re-sent an extension's old
  decision in `deleted` must be re-sent its new one too, or the firewall bouncer (which deletes, then
  adds) drops the address;
- `startup=true` answers every running decision in `new` and the ended ones kept in `deleted`;
- HEAD answers nothing and moves nothing (the server does not call this module for it).

The ledger is SQLite (the reader role may not write to PostgreSQL) and lives in the state dir, so a
restart neither re-sends nor forgets: it holds each ban the server has seen, the lifts made by
`secmon decisions delete`, and the cursors.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from secmon.decisions.policy import Decision

OVERLAP = timedelta(seconds=2)
# How long an ended decision is kept to be listed at startup: the longest ban, a day.
KEEP_ENDED = timedelta(days=1)

SCHEMA = """
create table if not exists decisions (
    id integer primary key, value text not null, detection text not null, until real not null,
    created_at real not null, ended_at real, reason text
);
create index if not exists decisions_end on decisions (coalesce(ended_at, until));
create table if not exists cursors (
    bouncer text not null, client text not null, pulled_at real not null, primary key (bouncer, client)
);
create table if not exists lifts (value text primary key, lifted_at real not null, reason text not null);
"""


def ledger_path(state_dir: Path) -> Path:
    return state_dir / "decisions.sqlite"


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Sent:
    """One decision as a pull answers it: the ban, and when it ends (its `until`, or its deletion)."""

    decision: Decision
    ends: datetime

    def to_json(self, now: datetime) -> dict:
        return self.decision.to_json(now, self.ends)


class Ledger:
    """The bans each pull has seen, the lifts and the bouncers' cursors, in one SQLite file (0600)."""

    def __init__(self, state_dir: Path) -> None:
        path = ledger_path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600))
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def sync(self, current: Mapping[str, Decision], now: datetime) -> None:
        """Record the bans in force now: a new one is made now; a running one that is no longer in
        force (lifted, allowlisted, or replaced by a longer one) ends now."""
        wanted = {decision.id: decision for decision in current.values()}
        with self.lock, self.db:
            self.db.execute("begin immediate")
            running = self.db.execute(
                "select id, value from decisions where ended_at is null and until > ?", (_ts(now),)
            ).fetchall()
            for row_id, value in running:
                if row_id not in wanted:
                    reason = "replaced" if value in current else "lifted"
                    self.db.execute(
                        "update decisions set ended_at = ?, reason = ? where id = ?", (_ts(now), reason, row_id)
                    )
            self.db.executemany(
                "insert into decisions (id, value, detection, until, created_at) values (?, ?, ?, ?, ?) "
                "on conflict (id) do update set created_at = excluded.created_at, ended_at = null, reason = null "
                "where ended_at is not null",
                [(d.id, d.value, d.detection, _ts(d.until), _ts(now)) for d in wanted.values()],
            )
            self.db.execute("delete from decisions where coalesce(ended_at, until) < ?", (_ts(now - KEEP_ENDED),))

    def _rows(self, where: str, parameters: tuple) -> list[Sent]:
        with self.lock:
            rows = self.db.execute(
                f"select value, detection, until, coalesce(ended_at, until) from decisions where {where} order by id",
                parameters,
            ).fetchall()
        return [Sent(Decision(value, detection, _dt(until)), _dt(ends)) for value, detection, until, ends in rows]

    def delta(self, since: datetime | None, now: datetime) -> tuple[list[Sent], list[Sent]]:
        """(new, deleted) since the cursor `since`, reaching back OVERLAP; everything when None."""
        start = _ts(since - OVERLAP) if since is not None else float("-inf")
        new = self._rows("created_at > ? and coalesce(ended_at, until) > ?", (start, _ts(now)))
        deleted = self._rows("coalesce(ended_at, until) > ? and coalesce(ended_at, until) <= ?", (start, _ts(now)))
        return new, deleted

    def startup(self, now: datetime) -> tuple[list[Sent], list[Sent]]:
        """Every running decision, and the ended ones still kept (CrowdSec's startup lists expired ones)."""
        new = self._rows("coalesce(ended_at, until) > ?", (_ts(now),))
        return new, self._rows("coalesce(ended_at, until) <= ?", (_ts(now),))

    def cursor(self, bouncer: str, client: str) -> datetime | None:
        with self.lock:
            row = self.db.execute(
                "select pulled_at from cursors where bouncer = ? and client = ?", (bouncer, client)
            ).fetchone()
        return _dt(row[0]) if row else None

    def commit(self, bouncer: str, client: str, pulled_at: datetime) -> None:
        """Move the cursor, once the reply is written."""
        with self.lock, self.db:
            self.db.execute(
                "insert into cursors values (?, ?, ?) on conflict (bouncer, client) do update set pulled_at = "
                "max(pulled_at, excluded.pulled_at)",
                (bouncer, client, _ts(pulled_at)),
            )

    def pulls(self) -> dict[str, list[tuple[str, datetime]]]:
        """Each bouncer's clients and their last pull."""
        with self.lock:
            rows = self.db.execute("select bouncer, client, pulled_at from cursors order by bouncer, client").fetchall()
        found: dict[str, list[tuple[str, datetime]]] = {}
        for bouncer, client, pulled_at in rows:
            found.setdefault(bouncer, []).append((client, _dt(pulled_at)))
        return found

    def forget(self, bouncer: str) -> None:
        with self.lock, self.db:
            self.db.execute("delete from cursors where bouncer = ?", (bouncer,))

    def lift(self, value: str, now: datetime, reason: str) -> None:
        """Lift the ban of `value` for every alert that started before now (`decisions delete`)."""
        with self.lock, self.db:
            self.db.execute(
                "insert into lifts values (?, ?, ?) on conflict (value) do update set lifted_at = excluded.lifted_at, "
                "reason = excluded.reason",
                (value, _ts(now), reason),
            )

    def lifts(self) -> dict[str, datetime]:
        with self.lock:
            rows = self.db.execute("select value, lifted_at from lifts").fetchall()
        return {value: _dt(lifted_at) for value, lifted_at in rows}
