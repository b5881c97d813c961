"""Processes that end with their parent, however it ends.

- A forked helper (the producer's generator, `secmon follow`'s parser) asks the kernel for SIGKILL
  when its parent dies (Linux `PR_SET_PDEATHSIG`): a parent killed with `kill -9` cannot clean up,
  so the child must not depend on it doing so.
- A long-running command treats SIGTERM (`timeout`, systemd, `secmon demo` stopping its producer)
  as Ctrl-C: its `finally` blocks run, and it stops its children itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a child: it is killed when `parent_pid` (its parent at fork) dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the request was in place
        os._exit(1)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """From now on SIGTERM stops this process as Ctrl-C does, unless something else handles it."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
