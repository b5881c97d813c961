"""Imported first by every benchmark script. Run as a script, a benchmark has this folder first on
sys.path, where benchmarks/producer.py would shadow the `producer` package."""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
