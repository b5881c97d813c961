"""The vocabulary of what a request matched: one tag per rule or family, `<kind>:<name>`.

Tags travel with the event (its optional `tags` field) and the SQL models only count them, so a tag
is a contract between the classifier (Python, at the edge) and the detections (SQL, both engines).

    crs:942100                                  an OWASP CRS rule fired (at the configured paranoia level)
    family:sqli                                 the request is of an attack family (seeds/attack_families.csv)
    crowdsec:crowdsecurity/vpatch-CVE-2023-22515  a CrowdSec AppSec / virtual-patching rule or trigger scenario fired
    bucket:crowdsecurity/http-bf-wordpress_bf   the request pours into a CrowdSec leaky bucket (its filter holds)
    list:sensitive_files                        a custom pattern list matched (seeds/<list>.csv)

A rule that the quality gate caught matching benign requests keeps alerting but may not ban: its tag
is emitted with the `noban:` prefix (`noban:crowdsec:baudneo/zoneminder_cve-2022-39290`), and it adds
no `family:` tag.
"""

from __future__ import annotations

from secmon.core.events import MAX_TAGS, TAG_PATTERN  # the event schema holds the limits

CRS = "crs"
FAMILY = "family"
CROWDSEC = "crowdsec"
BUCKET = "bucket"
LIST = "list"
KINDS = (CRS, FAMILY, CROWDSEC, BUCKET, LIST)
NO_BAN = "noban:"

__all__ = ["BUCKET", "CROWDSEC", "CRS", "FAMILY", "KINDS", "LIST", "MAX_TAGS", "NO_BAN", "TAG_PATTERN", "no_ban", "tag"]


def tag(kind: str, name: str) -> str:
    """`kind:name`, e.g. tag(CRS, "942100") == "crs:942100"."""
    return f"{kind}:{name}"


def no_ban(text: str) -> str:
    """The tag of a rule that alerts but may not ban (demoted by the quality gate)."""
    return NO_BAN + text
