{#- The interval literal of the var `name`, for the source's watermark. RisingWave 2.7 accepts a
    watermark interval in days, weeks, months or years and then never advances the watermark (fixed
    in 3.0, risingwave PR 25175), so such a value is refused on both targets: a setting that works
    on a laptop works in production. -#}
{% macro watermark_interval(name) -%}
    {%- set value = var(name) | string -%}
    {%- if modules.re.search('(?i)(day|week|mon|year|\\d\\s*[dwy]\\b)', value) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " = '" ~ value ~ "': RisingWave 2.7 never advances a watermark whose interval is in "
            ~ "days, weeks, months or years (risingwave PR 25175); write it in hours, minutes or seconds") }}
    {%- endif -%}
    INTERVAL '{{ value }}'
{%- endmacro %}
