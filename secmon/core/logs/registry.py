"""The registry of access-log formats by name. The built-in formats (`builtin.py`) add themselves
here and the parsing side (`formats.py`) reads it: builtin imports this module, not formats, so that
registering makes no import circle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from secmon.core.events import Event
from secmon.core.logs.fields import Networks


@dataclass(frozen=True)
class LogFormat:
    name: str
    description: str
    recognise: Callable[[str], bool]
    parse: Callable[[str, Networks], Event | None]
    auto: bool = True  # tried by recognition (a stricter twin of another format is not)


REGISTRY: dict[str, LogFormat] = {}


def register(name: str, description: str, recognise: Callable[[str], bool], auto: bool = True):
    """Decorator: `parse(line, trusted) -> Event | None` becomes the format `name`."""

    def add(parse):
        if name in REGISTRY:
            raise ValueError(f"log format {name!r} is registered twice")
        REGISTRY[name] = LogFormat(name, description, recognise, parse, auto)
        return parse

    return add
