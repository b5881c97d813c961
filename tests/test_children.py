"""No process of the project outlives the command that started it, however that command ends:
SIGTERM and SIGINT stop each long-running command cleanly, and `kill -9` of a parent takes its
children with it within 2 s."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from support import gone_within, processes_mentioning

SECMON = str(Path(sys.executable).with_name("secmon"))


def _wait_for_children(proc: subprocess.Popen, count: int = 1, timeout: float = 30) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited early with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
        children = psutil.Process(proc.pid).children(recursive=True)
        if len(children) >= count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"no child process within {timeout} s")


def _produce(state_dir: Path, *extra: str) -> list[str]:
    """A realtime producer writing to a file: the same forked generator as to Kafka, and no other test's topic."""
    return [
        SECMON,
        "produce",
        "--state-dir",
        str(state_dir),
        "--rate",
        "50",
        "--output",
        str(state_dir.with_suffix(".jsonl")),
        *extra,
    ]


def test_timeout_of_a_realtime_producer_leaves_no_process(tmp_path):
    marker = tmp_path / "producer-state"
    result = subprocess.run(
        ["timeout", "5", *_produce(marker, "--duration", "0")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode in (0, 124), result.stderr[-2000:]  # 124: timeout's own code for a stopped command
    assert gone_within(processes_mentioning(str(marker)), 2) == []


@pytest.mark.parametrize("command", ["produce", "follow"])
def test_kill_9_of_a_parent_takes_its_child_within_2_s(stack_env, tmp_path, command):
    """`follow` publishes to the session's broker, but only what its empty log holds: nothing."""
    marker = tmp_path / f"{command}-state"
    if command == "produce":
        argv = _produce(marker, "--duration", "0")
    else:
        log = tmp_path / "access.log"
        log.write_text("")
        argv = [SECMON, "follow", "--state-dir", str(marker), str(log)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        children = _wait_for_children(proc)
        proc.kill()
        proc.wait(10)
        assert gone_within(children, 2) == [], f"{command}'s children outlived kill -9 of their parent"
        assert gone_within(processes_mentioning(str(marker)), 2) == []
    finally:
        for leftover in processes_mentioning(str(marker)):
            leftover.kill()


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_demo_stopped_by_a_signal_leaves_only_its_stack(tmp_path, stack_options, stop):
    from secmon import stack

    options = stack_options()
    state_dir = tmp_path / "state"
    demo = subprocess.Popen(
        [
            SECMON,
            "demo",
            "--state-dir",
            str(state_dir),
            "--backfill-minutes",
            "0.5",
            "--rate",
            "20",
            "--kafka-port",
            str(options.kafka_port),
            "--pg-port",
            str(options.pg_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in demo.stdout:  # the live phase: its producer and the stream both run
            if line.startswith("live +"):
                break
        else:
            raise AssertionError(f"the demo ended before its live phase (code {demo.wait()})")
        stack_processes = {status.pid for status in stack.status(state_dir)}
        demo.send_signal(stop)
        demo.communicate(timeout=60)
        assert demo.returncode is not None
        left = [
            proc for proc in gone_within(processes_mentioning(str(state_dir)), 2) if proc.pid not in stack_processes
        ]
        assert left == [], [" ".join(proc.cmdline()) for proc in left]
    finally:
        if demo.poll() is None:
            demo.kill()
        stack.down(state_dir, purge=True)
