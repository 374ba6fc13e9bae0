"""`orders_current` semantics, checked by running the view's SQL (transpiled like the local Athena does) in DuckDB."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot

from salescdc.infra.views import orders_current_select_sql, orders_current_sql
from salescdc.settings import Settings


def _run(rows: list[tuple]) -> list[tuple]:
    settings = Settings()
    con = duckdb.connect()
    con.execute(f"CREATE SCHEMA {settings.glue_database}")
    con.execute(
        f"""CREATE TABLE {settings.glue_database}.{settings.glue_table} (
            orderid VARCHAR, product_name VARCHAR, quantity INTEGER, price DECIMAL(10,2),
            updated_at TIMESTAMP, op VARCHAR, is_deleted BOOLEAN, event_id VARCHAR,
            sequence_number VARCHAR, event_time TIMESTAMP, arrival_time TIMESTAMP, extra VARCHAR, dt VARCHAR)"""
    )
    for row in rows:
        orderid, product, qty, op, event_id, seq, arrival = row
        con.execute(
            f"INSERT INTO {settings.glue_database}.{settings.glue_table} VALUES "
            "(?, ?, ?, 10.50, NULL, ?, ?, ?, ?, TIMESTAMP '2025-01-01 00:00:00', ?, '{}', '2025-01-01')",
            [orderid, product, qty, op, op == "REMOVE", event_id, seq, arrival],
        )
    duck_sql = sqlglot.transpile(orders_current_select_sql(settings), read="trino", write="duckdb")[0]
    return con.execute(f"SELECT orderid, product_name, quantity FROM ({duck_sql}) ORDER BY orderid").fetchall()


T0 = "2025-01-01 00:00:01"
T1 = "2025-01-01 00:00:02"


def test_latest_event_by_sequence_number_wins_even_when_lengths_differ() -> None:
    # 21 digits vs 40 digits: as strings "9..." > "1...", as numbers the 40-digit one is later.
    short = "9" * 21
    long = "1" + "0" * 39
    rows = [
        ("1", "Phone", 1, "INSERT", "e1", short, T0),
        ("1", "Phone", 4, "MODIFY", "e2", long, T0),
    ]
    assert _run(rows) == [("1", "Phone", 4)]


def test_deleted_orders_are_left_out() -> None:
    rows = [
        ("1", "Laptop", 1, "INSERT", "e1", "100000000000000000001", T0),
        ("1", "Laptop", 1, "REMOVE", "e2", "100000000000000000002", T0),
        ("2", "Tablet", 2, "INSERT", "e3", "100000000000000000003", T0),
    ]
    assert _run(rows) == [("2", "Tablet", 2)]


def test_reinserted_order_after_delete_is_live() -> None:
    rows = [
        ("1", "Laptop", 1, "INSERT", "e1", "100000000000000000001", T0),
        ("1", "Laptop", 1, "REMOVE", "e2", "100000000000000000002", T0),
        ("1", "Phone", 3, "INSERT", "e3", "100000000000000000003", T0),
    ]
    assert _run(rows) == [("1", "Phone", 3)]


def test_duplicate_deliveries_count_once() -> None:
    row = ("1", "Phone", 2, "INSERT", "e1", "100000000000000000001", T0)
    duplicate = row[:-1] + (T1,)
    assert _run([row, duplicate, ("2", "Tablet", 1, "INSERT", "e2", "100000000000000000002", T0)]) == [
        ("1", "Phone", 2),
        ("2", "Tablet", 1),
    ]


@pytest.mark.parametrize("dialect", ["duckdb"])
def test_create_statement_transpiles(dialect: str) -> None:
    sql = orders_current_sql(Settings())
    assert sql.startswith('CREATE OR REPLACE VIEW "orders_current" AS')
    out = sqlglot.transpile(sql, read="trino", write=dialect)[0]
    assert "LPAD(sequence_number, 40, '0')" in out
