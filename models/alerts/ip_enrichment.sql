{#- The country and network of each address an alert names, looked up once in an offline database
    (secmon/enrich.py: geoip2fast's GeoLite2 data, or the user's own MaxMind/DB-IP file) by the local
    stream or `secmon enrich`; the dashboards join it on the address. Unknown stays NULL. -#}
create table if not exists {{ this }} (
    ip_address varchar,
    country_code varchar,
    country_name varchar,
    as_name varchar,
    as_network varchar,
    looked_up_at timestamptz,
    primary key (ip_address)
)
{%- if target.type == 'risingwave' %}
on conflict do nothing
{%- endif %}
