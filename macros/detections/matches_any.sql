{#- True when `expression` matches any pattern of a CrowdSec list (see crowdsec_patterns.sql):
    how='contains' (case-sensitive), 'contains_ci' (case-insensitive) or 'ends_with'. Rendered as
    literals on both engines: RisingWave cannot stream a non-equi join against the seed table. -#}
{% macro matches_any(expression, list_name, how='contains') -%}
    {%- set patterns = crowdsec_patterns(list_name) -%}
    {%- set subject = 'upper(' ~ expression ~ ')' if how == 'contains_ci' else expression -%}
    (
    {%- for pattern in patterns %}
        {% if not loop.first %}or {% endif -%}
        {%- set literal = (pattern | upper if how == 'contains_ci' else pattern) | replace("'", "''") -%}
        {%- if how == 'ends_with' -%}
        right({{ subject }}, {{ pattern | length }}) = '{{ literal }}'
        {%- else -%}
        position('{{ literal }}' in {{ subject }}) > 0
        {%- endif -%}
    {%- endfor %}
    )
{%- endmacro %}
