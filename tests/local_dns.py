"""A real DNS server for the crawler tests: dnslib answers PTR/A/AAAA records from a dict on 127.0.0.1
(a port of PORTS), and a dnspython resolver pointed at it asks it as it would ask the site's resolver."""

from __future__ import annotations

import random
import socket
from collections import Counter
from contextlib import contextmanager

import dns.resolver
from dnslib import QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer

PORTS = range(29200, 29300)  # the crawler tests' DNS servers listen here
SERVFAIL = "SERVFAIL"  # a record set that answers SERVFAIL


class Zone(BaseResolver):
    """Answers from `records` ({(name., type): [rdata] or SERVFAIL}); a name with no record of the type
    asked is NOERROR and empty, a name with none at all NXDOMAIN. Counts the questions it is asked."""

    def __init__(self, records: dict) -> None:
        self.records, self.questions = records, Counter()

    def resolve(self, request, handler):
        reply = request.reply()
        name, kind = str(request.q.qname).lower(), QTYPE[request.q.qtype]
        self.questions[(name, kind)] += 1
        answers = self.records.get((name, kind))
        if answers == SERVFAIL:
            reply.header.rcode = RCODE.SERVFAIL
        elif answers is not None:
            for rdata in answers:
                reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=60))
        elif not any(known == name for known, _ in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def bound_udp_socket() -> tuple[socket.socket, int]:
    for port in random.sample(PORTS, len(PORTS)):  # other sessions on this machine use the range too
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        return sock, port
    raise RuntimeError("no free port in 29200-29299")


@contextmanager
def serving(records: dict):
    """(the Zone, its port) while a DNS server answers `records` on 127.0.0.1."""
    probe, port = bound_udp_socket()
    probe.close()  # dnslib binds the port itself, just after
    zone = Zone(records)
    server = DNSServer(zone, address="127.0.0.1", port=port, logger=DNSLogger(logf=lambda _: None))
    server.start_thread()
    try:
        yield zone, port
    finally:
        server.stop()


def resolver_at(port: int) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], port
    return resolver
