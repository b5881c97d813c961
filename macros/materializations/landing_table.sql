{#- Runs the model's DDL (`create table if not exists …`): never drops, never truncates, so a
    `dbt run` keeps every ingested event. -#}
{% materialization landing_table, adapter='postgres' %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {{ run_hooks(pre_hooks) }}
    {% call statement('main') -%}
        {{ sql }}
    {%- endcall %}
    {{ run_hooks(post_hooks) }}
    {{ adapter.commit() }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
