{#- The rows of `relation` (requests) that raise at least one of `flags`: its `columns` and one
    is_<flag> column per flag. A flag's condition reads the request's own columns (status, method,
    user) and the conditions of `url_conditions`, which read only the URL (`url`, or `url__upper`
    for the case-insensitive lists), and of `agent_conditions`, which read only the agent
    (`user_agent`, `user_agent__upper`; false for a request without one), each by its name.
    RisingWave evaluates them per row as it streams in, upper-casing once per row. The local engine
    reads a batch of rows at a time, so it evaluates the URL and agent conditions once per distinct
    URL and agent and joins them back: values repeat far more than patterns do. -#}
{% macro flagged_requests(relation, columns, url_conditions, agent_conditions, flags) -%}
    select * from (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            {%- if target.type != 'risingwave' %}
            landed_id,
            {%- endif %}
            {%- for name, condition in flags.items() %}
            ({{ condition }}) as is_{{ name }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from ({{ adapter.dispatch('conditions_per_request')(relation, url_conditions, agent_conditions) }}) as classified
    ) as flagged
    where {% for name in flags %}is_{{ name }}{% if not loop.last %} or {% endif %}{% endfor %}
{%- endmacro %}

{% macro risingwave__conditions_per_request(relation, url_conditions, agent_conditions) -%}
    select
        normalised.*
        {%- for name, condition in url_conditions.items() %},
        ({{ condition }}) as {{ name }}
        {%- endfor %}
        {%- for name, condition in agent_conditions.items() %},
        coalesce(({{ condition }}), false) as {{ name }}
        {%- endfor %}
    from (
        select {{ relation }}.*, upper(url) as url__upper, upper(user_agent) as user_agent__upper
        from {{ relation }}
    ) as normalised
{%- endmacro %}

{% macro postgres__conditions_per_request(relation, url_conditions, agent_conditions) -%}
    select
        {{ relation }}.*
        {%- for name in url_conditions %},
        urls.{{ name }}
        {%- endfor %}
        {%- for name in agent_conditions %},
        coalesce(agents.{{ name }}, false) as {{ name }}
        {%- endfor %}
    from {{ relation }}
    inner join ({{ conditions_per_value(relation, 'url', url_conditions) }}) as urls
        on urls.url = {{ relation }}.url
    left join ({{ conditions_per_value(relation, 'user_agent', agent_conditions) }}) as agents
        on agents.user_agent = {{ relation }}.user_agent
{%- endmacro %}

{#- Each distinct non-null value of `column` in `relation` once, with `conditions` evaluated on it
    (`<column>__upper` is the value upper-cased). OFFSET 0 keeps PostgreSQL from flattening the
    DISTINCT into the join, or the conditions above it (they would then run once per request). -#}
{% macro conditions_per_value(relation, column, conditions) -%}
    select
        {{ column }}
        {%- for name, condition in conditions.items() %},
        ({{ condition }}) as {{ name }}
        {%- endfor %}
    from (
        select {{ column }}, upper({{ column }}) as {{ column }}__upper
        from (select distinct {{ column }} from {{ relation }} where {{ column }} is not null offset 0) as distinct_values
    ) as normalised
    offset 0
{%- endmacro %}
