"""secmon: real-time website security monitoring as code."""

__version__ = "0.1.0"
