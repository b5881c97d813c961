"""A request as the rule engines read it: the parts of an access-log event a rule may target.

Each engine derives its own variables from these (OWASP CRS: REQUEST_URI, REQUEST_FILENAME, ARGS,
ARGS_NAMES, QUERY_STRING, REQUEST_HEADERS:User-Agent/Referer, REQUEST_METHOD, REQUEST_PROTOCOL;
CrowdSec: URI, ARGS, ARGS_NAMES, HEADERS, METHOD and the http-logs fields). The derived parts are
computed once per request and cached on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote_plus

# The caches kept across requests (the classifier's, CRS's memo, replay's) keep only requests up to this
# many characters of URL, User-Agent and Referer: a flood of distinct long requests must not grow memory
# past entries x this. Real requests that repeat are far shorter.
MEMOIZABLE_CHARS = 2048


def memoizable(url: str, user_agent: str | None, referer: str | None) -> bool:
    return len(url) + len(user_agent or "") + len(referer or "") <= MEMOIZABLE_CHARS


@dataclass(frozen=True)
class Request:
    method: str
    url: str  # the request target as logged: path and query, still percent-encoded
    user_agent: str | None = None
    referer: str | None = None
    status: int = 200
    protocol: str = "HTTP/1.1"  # events do not carry it; access logs almost always show HTTP/1.1

    @cached_property
    def memoizable(self) -> bool:
        return memoizable(self.url, self.user_agent, self.referer)

    @cached_property
    def path(self) -> str:
        """The path, still encoded (no query, no fragment)."""
        return self.url.split("?", 1)[0].split("#", 1)[0]

    @cached_property
    def query(self) -> str:
        """The query string, still encoded ('' when there is none)."""
        _, _, query = self.url.partition("?")
        return query.split("#", 1)[0]

    @cached_property
    def args(self) -> tuple[tuple[str, str], ...]:
        """The query's arguments (name, value), each decoded once (`+` is a space), in order."""
        pairs = []
        for part in self.query.split("&"):
            if not part:
                continue
            name, _, value = part.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
        return tuple(pairs)
