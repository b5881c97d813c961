"""How far the local engine's watermark may go: events move it, heartbeats only as far as every
publisher has promised.

The rule. A heartbeat (`secmon.core.events.Heartbeat`) is its publisher's promise: every line it
publishes from now on is dated at or after the heartbeat's time. `secmon follow` promises the moment
of its last poll that found every log read to the end and every line read published, less
`--log-delay` (how long after its time stamp a line may reach the log: the longest request where
the log stamps a request's start, as Apache's %t does; a buffered log's flush interval), or nothing
(1970) before its first such poll; it repeats its promise every `--heartbeat` seconds, busy or
quiet. The engine keeps each publisher's newest promise and, as the time every heartbeat allows,
the oldest promise of the publishers heard from within `PUBLISHER_TIMEOUT_SECONDS`: one follower's
clock never closes a window that another follower's lines, stalled or in flight, still fall in.
The event time every partition has reached is then the later of the newest event and that time,
held back, as ever, to the newest event of each partition with messages still waiting. A heartbeat
therefore closes no window that an event dated then would not close, and only once every live
publisher has promised to send nothing older.

A publisher silent for longer than the timeout (a follower stopped, or gone) no longer holds the
watermark back: a follower stalled longer than that may see its next lines come in late.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PUBLISHER_TIMEOUT_SECONDS = 60.0


class Promises:
    """Each publisher's newest promise and when it was last heard from."""

    def __init__(
        self, timeout_seconds: float = PUBLISHER_TIMEOUT_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timeout_seconds, self.clock = timeout_seconds, clock
        self.promised: dict[str, int] = {}  # publisher → epoch ms
        self.heard_at: dict[str, float] = {}  # publisher → clock()

    def heard(self, publisher: str, epoch_ms: int) -> None:
        self.promised[publisher] = max(self.promised.get(publisher, epoch_ms), epoch_ms)
        self.heard_at[publisher] = self.clock()

    def kept(self) -> int | None:
        """The oldest promise of the publishers heard from recently (None when there is none); the
        others are forgotten."""
        oldest_heard = self.clock() - self.timeout_seconds
        for publisher in [name for name, heard_at in self.heard_at.items() if heard_at < oldest_heard]:
            del self.promised[publisher], self.heard_at[publisher]
        return min(self.promised.values(), default=None)
