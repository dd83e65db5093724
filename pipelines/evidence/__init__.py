"""The evidence pack (`auditlake report`) and findings alerts (issue 14).

pack_sections (what each section shows, its controls and SQL) -> pack_queries (runs them on a read-only warehouse)
-> pack_charts (SVG) -> pack_html (index.html) / pack_pdf (evidence.pdf) -> pack_manifest (sums, provenance);
pack_builder ties them together. alert_config / alert_outbox / alert_webhook post new findings once.
"""
