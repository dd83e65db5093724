"""What the sources share, one concern per module; nothing here knows about dbt, Dagster or the CLI.

errors          SourceError, SourceNotConfigured, WindowUnavailable, require_configuration
redaction       the secret registry and `scrub`
log_filters     install_log_filters(): secret scrubbing and dlt's expected warning, installed by entry points
url_safety      require_safe_url, is_loopback, host_with_port
windows         UTC parsing, window planning, run bounds (start / until / since)
json_decode     orjson decoding with the cyclic GC paused
http_session    dlt's retrying HTTP session with the source's timeout, one per thread
window_fetch    failing windows split in halves; several windows fetched at once, handed back in order
arrow_batches   Arrow columns: vendor timestamps, text columns, new-event masks
quarantine      records set aside verbatim with their reason
window_report   per-window counts: the ingest_windows row and the progress log line
cursor_state    the per-instance cursor and overlap ids in dlt state; one run over its windows
table_hints     which table each Arrow batch goes to and its keys / write disposition
reread_accounting  after a re-read's load: how many rows were new, from the load itself
"""
