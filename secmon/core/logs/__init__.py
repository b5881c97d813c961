"""Access logs: their formats (parsing) and following them as they grow (tailing)."""
