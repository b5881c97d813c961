"""Client addresses, in the one form the rest of the system may act on.

An access log's client field is written by the server, but X-Forwarded-For is written by whoever
sent the request, and every alert entity can become a firewall rule. So an address is an address
only if it parses as one, with no IPv6 zone id (`1::1%x;}` is a valid `ipaddress` but no firewall's
address), and it is kept in one canonical form: lower case, compressed, an IPv4-mapped IPv6 address
written as the IPv4 address it is (a dual-stack proxy logs `::ffff:10.0.0.5` for `10.0.0.5`).

A server with `HostnameLookups On` (Apache) logs host names instead. Such a client is kept, since its
requests are evidence, but it is not an address: it can raise alerts and never becomes a decision
(`is_ip` tells the two apart wherever something would be enforced).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

# RFC 1123 labels: bounded repetitions, one way to match.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
MAX_HOSTNAME = 253


class BadAddress(ValueError):
    """Not an IP address (nor, where allowed, a host name): the message says what was found."""


@lru_cache(maxsize=65_536)  # a log repeats its clients: parse each once
def canonical_ip(text: str) -> str | None:
    """`text` as a canonical IP address, or None if it is not exactly one (a zone id is refused)."""
    if "%" in text or len(text) > 45:
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def is_ip(text: str) -> bool:
    return canonical_ip(text) == text


def is_hostname(text: str) -> bool:
    """A DNS name with at least one letter (`1.2.3` is a broken address, not a name)."""
    return len(text) <= MAX_HOSTNAME and HOSTNAME.fullmatch(text) is not None and not text.replace(".", "").isdigit()


def client_address(text: str) -> str:
    """A logged client: its canonical IP address, or the host name as logged (lower case)."""
    if (ip := canonical_ip(text)) is not None:
        return ip
    if is_hostname(text):
        return text.lower().rstrip(".")
    raise BadAddress(f"{text[:60]!r} is not an IP address or host name")


def strip_port(address: str) -> str:
    """`10.0.0.1:4711` or `[2001:db8::1]:443` → the address alone; an address without port as it is."""
    if address.startswith("["):
        return address[1 : address.index("]")] if "]" in address else address
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    return address


def ip_with_port(text: str) -> str:
    """An address as proxies write it in X-Forwarded-For (`1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`,
    `2001:db8::1`) → its canonical IP; anything else is a BadAddress."""
    address = strip_port(text.strip())
    if (ip := canonical_ip(address)) is None:
        raise BadAddress(f"{address[:60]!r} is not an IP address")
    return ip
