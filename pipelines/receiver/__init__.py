"""The push receiver: ThoughtSpot's SIEM output (Splunk HEC or generic HTTP) -> durable spool -> raw_thoughtspot.

tokens.py           which push token belongs to which ThoughtSpot instance (the one place to extend for tenants)
spool_segments.py   the append-only, checksummed, fsync'd spool every acknowledged body is in before the 200
receiver_app.py     the Starlette app: HEC and plain routes, auth, limits, status codes
push_records.py     body framing and record shapes -> the logs API's {date, log} records
push_drain.py       spool segments -> dlt -> raw_thoughtspot.security_audit_events (merge on source_instance, id)
"""
