{#- Post-hook of a seed that views look up by `column`: RisingWave's temporal join needs the join
    condition to cover the lookup table's distribution key, which an index on the column gives
    (risingwave#24391); PostgreSQL runs the same statement. -#}
{% macro lookup_index(column) -%}
    create index if not exists {{ this.identifier }}__{{ column }} on {{ this }} ({{ column }})
{%- endmacro %}
