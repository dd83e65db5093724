-- One row per request window the mode source fetched: auditlake's own bookkeeping of what it
-- asked the vendor for and what came back (the evidence of completeness and of our own log reads).
select
    'mode' as source_system,
    source_instance,
    window_start,
    window_end,
    fetched,
    new_events,
    duplicates,
    quarantined,
    fetched_at
from {{ raw_source('raw_mode', 'ingest_windows') }}
