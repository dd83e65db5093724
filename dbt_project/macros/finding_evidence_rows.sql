{#- The rows of one kind of finding for findings.sql's `flagged` relation: the mart rows `flag` marks, about
    `subject` (rows without one never pool into a finding), in time bucket `bucket`:
      'day'    the UTC day of the evidence's start (event findings);
      'burst'  the UTC day the burst the evidence belongs to started: set in findings.sql, which chains a kind's
               evidence about one subject into bursts (so a brute force across UTC midnight is one finding);
      'state'  the literal `state` (findings about an account's current state).
    `evidence` says where the evidence is and how it reads: {'mart', 'from' (its start), 'to' (its end; default
    the start: an instant), 'key' (the mart row's key)}; `occurrences` is how many events one row stands for.
    Every kind reads through here so that all of them produce the same columns in the same order. -#}
{% macro finding_evidence_rows(kind, subject, bucket, evidence, flag, occurrences='1') -%}
    {%- if bucket not in ('day', 'burst', 'state') -%}
        {{ exceptions.raise_compiler_error(
            "finding kind " ~ kind ~ ": bucket " ~ bucket
            ~ " is not one of day, burst, state (see macros/finding_evidence_rows.sql)"
        ) }}
    {%- endif -%}
    select
        '{{ kind }}' as kind,
        source_system,
        source_instance,
        {{ subject }} as subject,
        {%- if bucket == 'day' %}
        strftime({{ evidence['from'] }}, '%Y-%m-%d') as time_bucket,
        {%- else %}
        {{ "'state'" if bucket == 'state' else 'null' }} as time_bucket,
        {%- endif %}
        {{ 'true' if bucket == 'burst' else 'false' }} as in_bursts,
        {{ evidence['from'] }} as seen_from,
        {{ evidence.get('to', evidence['from']) }} as seen_to,
        {{ evidence['key'] }} as evidence_key,
        {{ occurrences }} as occurrences
    from {{ ref(evidence['mart']) }}
    where ({{ flag }}) and ({{ subject }}) is not null
{%- endmacro %}
