{#- The detection contract on one detection's rows (attached in its yml: `data_tests: [detection_contract]`;
    tests/dbt/detection_contract.sql checks that every detection has it, and the meta it reads):
    - every row's window is var <detection>_window long (when the var is set in dbt_project.yml, not
      only as a default in the model's var() call);
    - every row carries config.meta.severity and config.meta.entity (as entity_type);
    - no two rows of one window share its grain: entity, target_username and meta.grain's columns.
    A row returned is a breach: what is wrong, and one offending entity and window. -#}
{% test detection_contract(model) %}
{%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model.identifier, {}) if execute else {} -%}
{%- set meta = node.get('config', {}).get('meta', {}) -%}
{%- set window_var = model.identifier ~ '_window' -%}
{%- set grain = (['entity', 'target_username'] + (meta.get('grain') or [])) | unique | list %}
select breach, entity, window_start from (
    select
        case
            {%- if var.has_var(window_var) %}
            when window_end <> window_start + INTERVAL '{{ var(window_var) }}'
                then 'its window is not var {{ window_var }} ({{ var(window_var) }}) long'
            {%- endif %}
            when coalesce(severity, '') <> '{{ meta.get('severity') }}' then 'severity is not config.meta.severity'
            when coalesce(entity_type, '') <> '{{ meta.get('entity') }}' then 'entity_type is not config.meta.entity'
        end as breach,
        entity,
        window_start
    from {{ model }}
) as checked
where breach is not null
union all
select
    'two rows of a window share its grain ({{ grain | join(', ') }})' as breach,
    max(entity) as entity,
    window_start
from {{ model }}
group by {{ grain | join(', ') }}, window_start
having count(*) > 1
{% endtest %}
