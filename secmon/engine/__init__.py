"""The local streaming engine: ingest from the broker, refresh the views, publish the alerts."""
