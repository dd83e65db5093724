"""dlt sources: one folder per vendor (dlt verified-sources layout)."""
