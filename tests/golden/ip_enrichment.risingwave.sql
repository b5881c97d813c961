create table if not exists "dev"."public"."ip_enrichment" (
    ip_address varchar,
    country_code varchar,
    country_name varchar,
    as_name varchar,
    as_network varchar,
    looked_up_at timestamptz,
    primary key (ip_address)
)
on conflict do nothing
