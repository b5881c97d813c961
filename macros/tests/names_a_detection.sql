{#- Every value of the column is the name of a detection: a model tagged `detection`, read from
    dbt's graph when the test runs (the graph is empty while dbt parses). -#}
{% test names_a_detection(model, column_name) %}
{%- set detections = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and 'detection' in node.tags -%}
        {%- do detections.append(node.name) -%}
    {%- endfor -%}
{%- endif %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} not in ('{{ detections | join("', '") }}')
{% endtest %}
