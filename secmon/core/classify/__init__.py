"""Classification at the edge: what a request matched, computed once when its log line becomes an
event (follow, replay, the producer; the ingester for events that arrive without it).

    request.py   the request as rules read it (path, query, args, agent, referer, method)
    tags.py      the tag vocabulary the SQL models count
    crs.py       OWASP CRS v4 rules with their transformation chains, libinjection (vendored in owasp-crs/)
    crowdsec.py  CrowdSec AppSec/vpatch rules and scenario filters with CrowdSec's own zones and fields
    gate.py      the quality gate: rules that match the benign corpus may not ban (verdicts: gate_verdicts.py)
    seeds.py     the pattern lists and attack families of seeds/ (lists.py matches them)
    dbt_macro.py what the SQL models need of the classifier (families, hub buckets), as a generated macro
"""
