"""Country and network (autonomous system) of the addresses alerts name, from an offline database.

The default is geoip2fast's data file `geoip2fast-asn-ipv6.dat.gz` (the package's code is MIT; its data
is MaxMind's GeoLite2 Country and ASN CSV, under MaxMind's GeoLite2 End User License Agreement:
attribution, no resale; refreshed with each geoip2fast release). A user's own MaxMind GeoLite2/GeoIP2
or DB-IP `.mmdb` files (country and ASN) are read with maxminddb instead (`--mmdb`). Alerts are few,
so each alerting address is looked up once and stored in the ip_enrichment table, which the
dashboards join on. A private, reserved or unknown address stays NULL: never guessed.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import psycopg2
from psycopg2 import sql
from psycopg2.extras import execute_values

from secmon import settings

ENRICHMENT_TABLE = "ip_enrichment"  # models/alerts/ip_enrichment.sql
GEOIP2FAST_DATA = "geoip2fast-asn-ipv6.dat.gz"  # country and ASN, IPv4 and IPv6


class IpInfo(NamedTuple):
    country_code: str | None
    country_name: str | None
    as_name: str | None
    as_network: str | None


UNKNOWN = IpInfo(None, None, None, None)


class Geoip2fastLookup:
    def __init__(self) -> None:
        from geoip2fast import GeoIP2Fast

        self.database = GeoIP2Fast(geoip2fast_data_file=GEOIP2FAST_DATA)

    def __call__(self, address: str) -> IpInfo:
        found = self.database.lookup(address)
        # Its error codes ("--", "<not found in database>", private networks) sit in country_code.
        known = len(found.country_code or "") == 2 and found.country_code.isalpha() and not found.is_private
        if not known:
            return UNKNOWN
        return IpInfo(found.country_code, found.country_name or None, found.asn_name or None, found.asn_cidr or None)


class MmdbLookup:
    """The user's own country and ASN databases (GeoLite2-Country + GeoLite2-ASN, or DB-IP's)."""

    def __init__(self, country_file: Path, asn_file: Path | None) -> None:
        import maxminddb

        self.country = maxminddb.open_database(str(country_file))
        self.asn = maxminddb.open_database(str(asn_file)) if asn_file else None

    def __call__(self, address: str) -> IpInfo:
        country = (self.country.get(address) or {}).get("country") or {}
        asn, network = self.asn.get_with_prefix_len(address) if self.asn else (None, 0)
        return IpInfo(
            country.get("iso_code"),
            (country.get("names") or {}).get("en"),
            (asn or {}).get("autonomous_system_organization"),
            f"{address}/{network}" if asn else None,
        )


@functools.cache
def default_lookup() -> Geoip2fastLookup:
    """Loaded once per process (about 0.2 s)."""
    return Geoip2fastLookup()


def enrich_alerting_addresses(conn, lookup, schema: str | None = None, limit: int = 10_000) -> int:
    """Looks up the addresses of alerts not looked up yet and stores them; returns how many. A plain
    INSERT, which RisingWave takes too (its table keeps the first row of a key, `on conflict do
    nothing`); on PostgreSQL a concurrent `secmon enrich` that stored one first makes this a no-op."""
    schema = sql.Identifier(schema or settings.pg_schema())
    table = sql.SQL("{}.{}").format(schema, sql.Identifier(ENRICHMENT_TABLE))
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "select distinct alerts.entity from {}.{} as alerts where alerts.entity_type = 'ip' "
                    "and not exists (select 1 from {} as known where known.ip_address = alerts.entity) limit %s"
                ).format(schema, sql.Identifier(settings.ALERTS_TABLE), table),
                (limit,),
            )
            addresses = [row[0] for row in cur.fetchall()]
            now = datetime.now(UTC)
            if addresses:
                execute_values(
                    cur,
                    sql.SQL("insert into {} values %s").format(table).as_string(cur),
                    [(address, *_looked_up(lookup, address), now) for address in addresses],
                )
        conn.commit()
    except psycopg2.errors.UniqueViolation:
        conn.rollback()
        return 0
    return len(addresses)


def _looked_up(lookup, address: str) -> IpInfo:
    try:
        return lookup(address)
    except ValueError:  # not an address at all (a forged log line): unknown
        return UNKNOWN
