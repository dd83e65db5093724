"""Dagster orchestration: ingest (dlt) and transform (dbt) assets, checks, schedules."""
