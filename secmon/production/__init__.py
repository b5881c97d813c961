"""Production: secmon on RisingWave, Kafka (WarpStream or any broker) and Grafana.

- `risingwave`: the connection to RisingWave, its version check and the Kafka connection's DDL;
- `deploy`: `secmon deploy --target risingwave` (topics, the models, the Grafana reader, dashboards, alert rules);
- `doctor`: `secmon doctor`, one independent check per line of a deployed stack.

Nothing here imports the local engine (secmon.engine) or the embedded stack (secmon.stack).
"""
