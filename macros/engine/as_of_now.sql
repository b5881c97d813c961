{#- After a seed in a join: RisingWave looks the seed up as it is when each event arrives (a
    process-time temporal join), which keeps no state per event and never rewrites past rows when
    the seed changes; a regular streaming join would keep every event and retract all of history
    on each seed reload. The stream side must be append-only: join events before aggregating.
    PostgreSQL's tables are recomputed, so a plain join is the same there. -#}
{% macro as_of_now() -%}
    {{ return(adapter.dispatch('as_of_now')()) }}
{%- endmacro %}

{% macro risingwave__as_of_now() -%}
FOR SYSTEM_TIME AS OF PROCTIME()
{%- endmacro %}

{% macro postgres__as_of_now() -%}
{%- endmacro %}
