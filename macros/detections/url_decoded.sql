{#- The URL as the server decoded it, for the payload families: `+` as a space and percent-escapes of
    ASCII undone, twice (double encoding, `%2527`), then lowercased. Neither engine has a
    URL-decoding function, so this is `replace()` over every ASCII escape (both hex cases), with
    `%25` last in each pass as one `unquote_plus` pass leaves it; escapes of non-ASCII bytes stay as
    written. tests/test_url_decoding.py checks it against Python's unquote_plus, twice.

    The replaces are split into layers of at most DECODE_LAYER_SIZE, each a subquery adding a column
    (decoded_1, decoded_2, …): one expression of ~270 nested calls is too deep for SQL parsers
    (sqlglot's, and RisingWave's guards recursion too). `with_decoded_url(relation, column)` is a FROM
    item: every column of `relation` (a relation's name or a parenthesized query) and, last,
    `decoded_url()`, from its column `column`. Each layer names the one before once: a planner that
    merges the layers gets one expression of linear size (a layer naming it twice would double it).
    On the local engine, decoded_values() sends only the URLs that hold a `%` or `+` through it. -#}
{% macro with_decoded_url(relation, column) -%}
    {%- set steps = decode_steps() -%}
    {%- set layer_size = decode_layer_size() | int -%}
    {%- set layers = decode_layers() | int -%}
    {%- set ns = namespace(sql='(select source.*, source.' ~ column ~ ' as decoded_0 from ' ~ relation ~ ' as source)') -%}
    {%- for layer in range(layers) -%}
        {%- set previous = 'decoded_' ~ layer -%}
        {%- set ns.expression = previous -%}
        {%- for old, new in steps[layer * layer_size:(layer + 1) * layer_size] -%}
            {%- set ns.expression = "replace(" ~ ns.expression ~ ", " ~ old ~ ", " ~ new ~ ")" -%}
        {%- endfor -%}
        {%- if layer == layers - 1 -%}{%- set ns.expression = "lower(" ~ ns.expression ~ ")" -%}{%- endif -%}
        {%- set ns.sql = '(select layer_' ~ layer ~ '.*, ' ~ ns.expression ~ ' as decoded_' ~ (layer + 1)
            ~ ' from ' ~ ns.sql ~ ' as layer_' ~ layer ~ ')' -%}
    {%- endfor -%}
    {{ ns.sql }}
{%- endmacro %}

{#- The column with_decoded_url adds last: the decoded, lowercased URL. -#}
{% macro decoded_url() -%}
    decoded_{{ decode_layers() }}
{%- endmacro %}

{#- How many replace() calls one layer nests, and how many layers the two passes take. -#}
{% macro decode_layer_size() -%}30{%- endmacro %}

{% macro decode_layers() -%}
    {{ ((decode_steps() | length) + (decode_layer_size() | int) - 1) // (decode_layer_size() | int) }}
{%- endmacro %}

{#- The replace() steps of two decoding passes, as (old, new) SQL literals: `+` then every escape. -#}
{% macro decode_steps() -%}
    {%- set steps = [] -%}
    {%- for _ in range(2) -%}
        {%- do steps.append(("'+'", "' '")) -%}
        {%- for code, literal in url_escapes() -%}{%- do steps.append(("'%" ~ code ~ "'", literal)) -%}{%- endfor -%}
    {%- endfor -%}
    {{ return(steps) }}
{%- endmacro %}

{#- (hex code, SQL literal of its character) for tab, LF, CR and printable ASCII, both hex cases,
    `%25` (the percent sign) last. -#}
{% macro url_escapes() -%}
    {%- set escapes = [] -%}
    {%- for number in [9, 10, 13] + range(32, 127) | list if number != 37 -%}
        {%- set code = '%02X' | format(number) -%}
        {%- set literal = "chr(" ~ number ~ ")" if number < 32 or number == 39 else "'" ~ ('%c' | format(number)) ~ "'" -%}
        {%- do escapes.append((code, literal)) -%}
        {%- if code != code | lower -%}{%- do escapes.append((code | lower, literal)) -%}{%- endif -%}
    {%- endfor -%}
    {%- do escapes.append(('25', "'%'")) -%}
    {{ return(escapes) }}
{%- endmacro %}

{#- For the local engine, which decodes each distinct URL of a window: `values_sql` (a query with one
    column `value`) with `decoded`, only the values holding a `%` or `+` going through the replaces. -#}
{% macro decoded_values(values_sql) -%}
    select all_values.value, coalesce(encoded.{{ decoded_url() }}, lower(all_values.value)) as decoded
    from ({{ values_sql }}) as all_values
    left join {{ with_decoded_url(
        '(select value from (' ~ values_sql ~ ') as candidates '
        ~ "where position('%' in value) > 0 or position('+' in value) > 0)", 'value') }} as encoded
        on encoded.value = all_values.value
{%- endmacro %}

