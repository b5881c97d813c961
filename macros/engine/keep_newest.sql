{#- RisingWave: keep only the newest `count` rows by `column`, a streaming top-N whose state is those
    rows. PostgreSQL: nothing; the model is a plain view there and the reader's own filter, ORDER BY
    and LIMIT reach the landing table's time index. -#}
{% macro keep_newest(column, count) -%}
    {{ return(adapter.dispatch('keep_newest')(column, count)) }}
{%- endmacro %}

{% macro risingwave__keep_newest(column, count) -%}
order by {{ column }} desc
limit {{ count }}
{%- endmacro %}

{% macro postgres__keep_newest(column, count) -%}
{%- endmacro %}
