-- Records the mode source could not parse, kept verbatim (never dropped), with the window they came in.
select
    'mode' as source_system,
    source_instance,
    record_hash,
    record,
    reason,
    window_start,
    window_end,
    quarantined_at
from {{ raw_source('raw_mode', 'quarantined_records') }}
