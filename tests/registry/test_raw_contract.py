"""The raw-table contract is written once, in pipelines/sources/raw_tables.py; dbt's copy is generated from it."""

from __future__ import annotations

from pipelines import settings
from pipelines.sources import raw_tables


def test_dbt_contract_macro_is_generated_from_raw_tables() -> None:
    committed = (settings.PROJECT_ROOT / raw_tables.DBT_CONTRACT_MACRO).read_text()
    assert committed == raw_tables.render_dbt_contract_macro(), (
        "dbt_project/macros/raw_table_columns.sql is stale: run `.venv/bin/python -m pipelines.sources.raw_tables`"
    )
