{#- True when the request's `tags` (what the classifier found, secmon/core/classify/tags.py) hold
    `tag`. Array containment, the same on both engines: no pattern is matched in SQL. A request
    without tags (not classified) holds none. -#}
{% macro has_tag(tag, tags='tags') -%}
    coalesce({{ tags }} @> cast(array['{{ tag }}'] as varchar[]), false)
{%- endmacro %}

{#- True when `tags` hold at least one of `tag_list`. -#}
{% macro has_any_tag(tag_list, tags='tags') -%}
    ({% for tag in tag_list %}{{ has_tag(tag, tags) }}{% if not loop.last %} or {% endif %}{% endfor %})
{%- endmacro %}

{#- `kind:name` for each of `names`: tags_of('family', ['sqli', 'xss']) == ['family:sqli', 'family:xss']. -#}
{% macro tags_of(kind, names) -%}
    {%- set found = [] -%}
    {%- for name in names %}{% do found.append(kind ~ ':' ~ name) %}{% endfor -%}
    {{ return(found) }}
{%- endmacro %}
