"""Parsing speed of declared formats against the built-in combined parser, in the same run: the same
1M combined lines parsed by `clf` (built-in), by nginx's `combined` and `main` declared as log_format,
and by Apache's combined LogFormat; and GoAccess (Debian's `goaccess`, if installed) on the same file.

    python benchmarks/formats.py [--lines 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from secmon.core.logs.declared import compile_apache, compile_nginx
from secmon.core.logs.formats import LineParser

AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36"
NGINX_COMBINED = (
    """log_format combined '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent """
    """"$http_referer" "$http_user_agent"';"""
)
APACHE_COMBINED = r'LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" combined'


def lines(count: int) -> list[str]:
    return [
        f"198.51.{n % 250}.{n % 200 + 1} - - [01/Feb/2024:09:{n // 60 % 60:02d}:{n % 60:02d} +0000] "
        f'"GET /products/{n % 5000}?page={n % 7} HTTP/1.1" {200 + (n % 3) * 100} {n % 9000} '
        f'"https://shop.example/" "{AGENT}"'
        for n in range(count)
    ]


def rate(parse, sample: list[str]) -> float:
    started = time.perf_counter()
    for line in sample:
        parse(line)
    return len(sample) / (time.perf_counter() - started)


def best_rates(parsers: dict, sample: list[str], rounds: int = 3) -> dict[str, float]:
    """Each parser's best of `rounds`, the parsers taking turns: a machine's noise (another process, a
    frequency change) then touches them all alike instead of whichever ran during it."""
    best = dict.fromkeys(parsers, 0.0)
    for _ in range(rounds):
        for name, parse in parsers.items():
            best[name] = max(best[name], rate(parse, sample))
    return best


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--lines", type=int, default=1_000_000)
    args = options.parse_args()
    sample = lines(args.lines)
    rates = best_rates(
        {
            "built-in clf (combined)": LineParser("clf").parse,
            "nginx combined, declared": compile_nginx(NGINX_COMBINED).parse,
            "Apache combined, declared": compile_apache(APACHE_COMBINED).parse,
            "auto-recognised": LineParser("auto").parse,
        },
        sample,
    )
    builtin = rates.pop("built-in clf (combined)")
    print(f"built-in clf (combined): {builtin:,.0f} lines/s (best of 3, the parsers taking turns)")
    for name, measured in rates.items():
        print(f"{name}: {measured:,.0f} lines/s = {measured / builtin:.2f} x built-in")
    goaccess = shutil.which("goaccess")
    if goaccess is None:
        print("goaccess: not installed (Debian package goaccess): no comparison")
        return
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "access.log"
        log.write_text("\n".join(sample) + "\n")
        started = time.perf_counter()
        subprocess.run(
            [goaccess, str(log), "--log-format=COMBINED", "-o", str(Path(tmp) / "report.json")],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
    print(
        f"goaccess (COMBINED, JSON report): {len(sample) / seconds:,.0f} lines/s; secmon's built-in is "
        f"{builtin * seconds / len(sample):.2f} x GoAccess (GoAccess also aggregates its report per line)"
    )


if __name__ == "__main__":
    main()
