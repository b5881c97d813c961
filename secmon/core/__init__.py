"""The core layer: what every other part of secmon shares, and nothing that depends on them.

- `events`: the access-log event contract (`event.schema.json`), parsing and encoding;
- `kafka_clients`: every Kafka client's settings, the producer factory and the admin helpers;
- `endpoints`: where the broker and PostgreSQL are, from options, the environment or the stack's state;
- `logs/`: access-log formats (parsing) and tailing;
- `classify/`: classification at the edge, with its data (the pattern lists of `seeds/`, CRS, the hub's rules);
- `files`, `children`: atomic JSON files, and child processes that die with their parent.

The engine, the embedded stack, the CLI and the traffic generator (`secmon.producer`) import this
package; it imports none of them (tests/test_layout.py checks the direction).
"""
