{#- Every non-null value of the column matches the POSIX regular expression `pattern` (`~` on both
    PostgreSQL and RisingWave). -#}
{% test matches_regex(model, column_name, pattern) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null and not ({{ column_name }} ~ '{{ pattern | replace("'", "''") }}')
{% endtest %}
