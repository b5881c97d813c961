"""The terminal, for every command: what came from a log or a topic is data, never markup.

rich reads `[...]` in a string as markup, and in a table cell too: a URL such as `/x?a=[/x]` stopped
`secmon alerts` with a MarkupError, and a crafted one could restyle what the operator reads. So the
console has markup off; the few styles the commands want are given as `styled()` pieces.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

console = Console(markup=False)


def styled(*pieces: str | tuple[str, str]) -> Text:
    """`styled((severity, "bold"), " ", detection)`: plain strings and (text, style) pairs, none of it markup."""
    return Text.assemble(*pieces)
