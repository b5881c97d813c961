{#- The columns a request-grain model keeps of each request, each followed by a comma; on the local
    engine also landed_id, the order rows landed in, by which request_rows() adds only new rows. -#}
{% macro request_columns() -%}
    request_timestamp,
    ip_address,
    url,
    http_method,
    status_code,
    user_agent,
    {%- if target.type != 'risingwave' %}
    landed_id,
    {%- endif %}
{%- endmacro %}
