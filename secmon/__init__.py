"""secmon: real-time website security monitoring as code."""
