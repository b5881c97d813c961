{#- How serious a server's answer to a payload is: 3 a 5xx (the payload reached the code), 2 a 2xx
    (served), 1 a redirect, 0 refused (4xx). -#}
{% macro answered_rank(status) -%}
    case when {{ status }} >= 500 then 3 when {{ status }} < 300 then 2 when {{ status }} < 400 then 1 else 0 end
{%- endmacro %}
