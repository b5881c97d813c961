{#- Runs the model's DDL (`create table if not exists …`): never drops, never truncates. The local
    landing table keeps every ingested event across `dbt run`s; security_alerts keeps the rows the
    detections sank into it. -#}
{% materialization create_if_missing, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {{ run_hooks(pre_hooks) }}
    {% call statement('main') -%}
        {{ sql }}
    {%- endcall %}
    {{ run_hooks(post_hooks) }}
    {{ adapter.commit() }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
