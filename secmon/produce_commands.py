"""`secmon produce` and `secmon scenarios`: the traffic generator's commands (the generator itself, secmon.producer,
knows nothing of the console). Registered by secmon.cli."""

from __future__ import annotations

import math
import time

import click

from secmon import console as render
from secmon.cli_options import parse_start, rate_option, sink_options
from secmon.console import console, styled


@click.command()
@sink_options
@rate_option
@click.option("--duration", default=60.0, show_default=True, help="Realtime: seconds to run; 0 runs until Ctrl-C.")
@click.option("--backfill", is_flag=True, help="Simulated clock, as fast as possible, instead of realtime.")
@click.option("--minutes", default=10.0, show_default=True, help="Backfill: simulated minutes.")
@click.option("--start", help="Backfill: first timestamp (ISO-8601; default: --minutes before now).")
@click.option("--seed", default=1, show_default=True, help="Same seed and options → byte-identical output.")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="Attack scenario to include (repeatable; default: all). See `secmon scenarios`.",
)
@click.option("--attacks", type=int, help="Attacks per scenario (default: one per 10 minutes; 0: none).")
@click.option("--users", type=int, help="Registered users (default: 20 per event/s of --rate).")
def produce(
    state_dir, bootstrap_servers, output, labels, rate, duration, backfill, minutes, start, seed, scenarios, attacks,
    users,
):  # fmt: skip
    """Generate website traffic with labelled attacks and publish it to `website_logs`.

    Realtime (timestamps = now, steady --rate) by default, for --duration seconds or, with
    --duration 0, until Ctrl-C; attacks are planned as the run goes, so memory stays flat however
    long it runs. --backfill simulates --minutes as fast as possible. Labels go to
    `website_logs_labels` and a JSONL file.

    Example: secmon produce --backfill --minutes 30 --start 2024-01-25T12:00:00Z --seed 7
    """
    from secmon.producer.attacks import SCENARIOS
    from secmon.producer.generate import Mix, plan
    from secmon.producer.publish import publish
    from secmon.replay import open_sink

    if backfill:
        duration_ms = int(minutes * 60_000)
        start_ms = parse_start(start) or int(time.time() * 1000) - duration_ms
    elif duration < 0:
        raise click.BadParameter("must be 0 (until Ctrl-C) or more", param_hint="--duration")
    else:
        duration_ms, start_ms = (duration * 1000 if duration else math.inf), int(time.time() * 1000)
    mix = Mix(rate, seed, tuple(scenarios) or tuple(SCENARIOS), attacks, users)
    try:
        traffic_plan = plan(mix, start_ms, duration_ms)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scenario/--attacks") from None
    sink, destination = open_sink(state_dir, bootstrap_servers, output, labels)
    expected = None if duration_ms == math.inf else int(rate * duration_ms / 1000)
    render.send_with_progress(
        lambda progress: publish(traffic_plan, sink, realtime=not backfill, progress=progress), expected, destination
    )


@click.command()
def scenarios():
    """List the attack scenarios the producer can generate.

    Example: secmon scenarios
    """
    from secmon.producer.attacks import SCENARIOS

    for name, fn in SCENARIOS.items():
        console.print(styled((name, "bold"), f": {fn.__doc__.strip().splitlines()[0]}"))
