{#- The requests every view reads: the source's rows less
    - heartbeats (secmon/core/events.py, HEARTBEAT): the log shippers publish a record with only a
      timestamp to every partition while the log is quiet, so that the watermark, and each window's
      close, advance on a silent site; they are not requests. Real events always name an address.
    - forged or skewed future rows: RisingWave's watermark ignores them, but they would still open
      far-future windows that never close and sit atop newest_events. The local ingester rejects
      them already; the filter is here too, so that both engines read the same rows.
    A plain view: RisingWave inlines it into each materialized view, and filters keep the source's
    watermark on request_timestamp. -#}
{{ config(materialized='view') }}
select *
from {{ ref('website_logs_source') }}
where ip_address is not null
  and request_timestamp <= ingested_at + {{ watermark_interval('future_timestamp_tolerance') }}
