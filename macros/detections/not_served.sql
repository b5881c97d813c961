{#- True when the site did not serve the request (not a 2xx): a file matched by its name alone counts
    against the client only then (issue 40's ban policy; see listed_requests and attack_requests). -#}
{% macro not_served(status='status_code') -%}
    not ({{ status }} between 200 and 299)
{%- endmacro %}
