{#- The detection contract, stated once for every detection (a model tagged `detection`, read from
    dbt's graph when the test runs; the graph is empty while dbt parses). Its yml beside its SQL
    declares config.meta.severity, one of var severities, and config.meta.entity (ip, username or
    url), and attaches the generic test detection_contract (`data_tests: [detection_contract]`,
    macros/tests/detection_contract.sql), which checks its rows: each window as long as var
    <detection>_window, the severity and entity type of its meta, one row per grain and window.
    The rows are checked there, per detection, and not here: dbt orders a test after the models it
    ref()s while parsing, when the graph is still empty, so a test that finds the detections in the
    graph runs before `dbt build` has made them. A row returned is a breach: the detection and what
    is wrong. -#}
{%- set detections, contracted = [], [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and 'detection' in node.tags -%}
            {%- do detections.append(node) -%}
        {%- elif node.resource_type == 'test' and (node.test_metadata or {}).get('name') == 'detection_contract' -%}
            {%- do contracted.append(node.attached_node) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}
{%- set entity_types = ['ip', 'username', 'url'] %}
{%- set breaches = [] -%}
{%- for node in detections | sort(attribute='name') -%}
    {%- set meta = node.config.meta -%}
    {%- if meta.get('severity') not in var('severities') -%}
        {%- do breaches.append((node.name, 'config.meta.severity is not one of var severities (' ~ var('severities') | join(', ') ~ ')')) -%}
    {%- endif -%}
    {%- if meta.get('entity') not in entity_types -%}
        {%- do breaches.append((node.name, 'config.meta.entity is not one of ' ~ entity_types | join(', '))) -%}
    {%- endif -%}
    {%- if node.unique_id not in contracted -%}
        {%- do breaches.append((node.name, 'its yml does not attach the generic test: data_tests: [detection_contract]')) -%}
    {%- endif -%}
{%- endfor %}

select detection, breach
from (
    select cast(null as varchar) as detection, cast(null as varchar) as breach
    {%- for detection, breach in breaches %}
    union all
    select '{{ detection }}', '{{ breach | replace("'", "''") }}'
    {%- endfor %}
) as breaches
where detection is not null
