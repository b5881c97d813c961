{#- True when `expression` matches any pattern of a list (see pattern_lists.sql):
    how='contains' (case-sensitive), 'contains_ci' (case-insensitive), 'ends_with', 'path_in' (the
    URL's path, before any query string, is one of the patterns) or 'file_in' (the path's last
    segment is one of the patterns); the last two ignore case. With `already_upper`, a 'contains_ci'
    expression is upper-case already (computed once per row by the caller). Rendered
    as literals on both engines: RisingWave cannot stream a non-equi join against the seed table. -#}
{% macro matches_any(expression, list_name, how='contains', already_upper=false) -%}
    {%- set patterns = pattern_list(list_name) -%}
    {%- if how == 'path_in' -%}
    lower(split_part({{ expression }}, '?', 1)) in (
        {%- for pattern in patterns %}'{{ pattern | lower | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )
    {%- elif how == 'file_in' -%}
    (
    {%- for pattern in patterns %}
        {% if not loop.first %}or {% endif -%}
        right(lower(split_part({{ expression }}, '?', 1)), {{ pattern | length + 1 }}) = '/{{ pattern | lower | replace("'", "''") }}'
    {%- endfor %}
    )
    {%- else -%}
    {%- set subject = 'upper(' ~ expression ~ ')' if how == 'contains_ci' and not already_upper else expression -%}
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
    {%- endif -%}
{%- endmacro %}

{#- True when `expression` matches list `list_name` and none of `except_lists` (all matched by `how`). -#}
{% macro matches_list_only(expression, list_name, how, except_lists, already_upper=false) -%}
    {{ matches_any(expression, list_name, how, already_upper) }}
    {%- for excluded in except_lists %}
    and not {{ matches_any(expression, excluded, how, already_upper) }}
    {%- endfor %}
{%- endmacro %}
