-- Records the thoughtspot source could not parse, kept verbatim (never dropped), with the window they came in.
select
    'thoughtspot' as source_system,
    source_instance,
    record_hash,
    record,
    reason,
    window_start,
    window_end,
    quarantined_at
from {{ raw_source('raw_thoughtspot', 'quarantined_records') }}
