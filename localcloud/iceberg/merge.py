"""MERGE INTO planned over DuckDB: which target rows a MERGE updates or deletes and which rows it inserts.

Input is a parsed `exp.Merge` (Trino SQL read by sqlglot), the target's rows
(with `cow.ROW_ID`) and the source's rows, both Arrow. DuckDB evaluates the ON
condition and the WHEN clauses over the two Arrow tables; the caller commits
the result copy-on-write as one snapshot (`cow.commit_row_changes`).

Trino's MERGE semantics, which Athena has:
- the WHEN clauses are tried in order; the first whose condition holds acts,
  and a row no clause applies to is left as it is;
- a target row that more than one matching source row acts on fails the
  statement with MERGE_TARGET_ROW_MULTIPLE_MATCHES, "One MERGE target table
  row matched more than one source row" (so does one matched several times
  that no clause acts on, as older Trino versions fail it);
- UPDATE SET names target columns unqualified; an INSERT without a column list
  gives values in the table's column order; unlisted columns become NULL;
- `WHEN NOT MATCHED BY SOURCE` is not Trino syntax and is refused.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from localcloud.iceberg.cow import FILE_INDEX, ROW_ID, RowChanges
from localcloud.iceberg.exceptions import IcebergError, not_supported
from localcloud.iceberg.schema import duckdb_type

TARGET_VIEW = "__iceberg_merge_target"
SOURCE_VIEW = "__iceberg_merge_source"
ACTION = "__iceberg_merge_action"
ACTED_VIEW = "__iceberg_merge_acted"

Translate = Callable[[exp.Expression], str]


def trino_to_duckdb(expression: exp.Expression) -> str:
    """Default translation of one Trino expression to DuckDB SQL (sqlglot's dialects)."""
    return expression.sql(dialect="duckdb")


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose session time zone is UTC, as Athena's is (timestamp casts depend on it)."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    # Expressions come from users' statements: no file, network or setting is reachable from them.
    connection.execute("SET enable_external_access=false")
    connection.execute("SET lock_configuration=true")
    return connection


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def relation_alias(relation: exp.Expression) -> str:
    """The name a MERGE's target or source is referred to by: its alias, else its table name."""
    alias = relation.alias
    if alias:
        return alias
    if isinstance(relation, exp.Table):
        return relation.name
    raise not_supported("MERGE source subquery needs an alias")


def duckdb_error(exc: duckdb.Error) -> IcebergError:
    """DuckDB's message is an engine's text; name the column the way Trino does where we can."""
    text = str(exc)
    if "Referenced column" in text and "not found" in text:
        column = text.split('"')[1] if '"' in text else "?"
        return IcebergError("COLUMN_NOT_FOUND", f"Column '{column}' cannot be resolved")
    return IcebergError("GENERIC_USER_ERROR", text.splitlines()[0])


def unknown_merge_column(name: str) -> IcebergError:
    # Trino's wording for a MERGE column the target lacks, as for INSERT's
    # "Insert column name does not exist in target table: %s".
    return IcebergError("COLUMN_NOT_FOUND", f"Merge column name does not exist in target table: {name}")


def plan_merge(merge: exp.Merge, target: pa.Table, source: pa.Table,
               translate: Translate = trino_to_duckdb) -> RowChanges:
    """Evaluate `merge` over Arrow `target` (with ROW_ID) and `source`; nothing is written."""
    columns = [name for name in target.schema.names if name not in (ROW_ID, FILE_INDEX)]
    types = {name: duckdb_type(target.schema.field(name).type) for name in columns}
    target_alias = quote(relation_alias(merge.this))
    source_alias = quote(relation_alias(merge.args["using"]))
    on = translate(merge.args["on"])
    whens = merge.args["whens"].expressions if merge.args.get("whens") else []
    matched = [when for when in whens if when.args.get("matched")]
    not_matched = [when for when in whens if not when.args.get("matched")]
    for when in whens:
        if when.args.get("source"):
            raise not_supported("WHEN NOT MATCHED BY SOURCE is not supported")

    def condition(when: exp.When) -> str:
        cond = when.args.get("condition")
        return f"({translate(cond)})" if cond is not None else "TRUE"

    # Target rows a WHEN MATCHED clause acts on.
    action_cases, value_cases = [], {name: [] for name in columns}
    for when in matched:
        then = when.args["then"]
        if isinstance(then, exp.Update):
            assignments = {}
            for assignment in then.expressions:
                name = assignment.this.name.lower()
                if name not in types:
                    raise unknown_merge_column(name)
                assignments[name] = translate(assignment.expression)
            action_cases.append(f"WHEN {condition(when)} THEN 'U'")
            for name in columns:
                value = assignments.get(name, f"{target_alias}.{quote(name)}")
                value_cases[name].append(f"WHEN {condition(when)} THEN CAST({value} AS {types[name]})")
        elif isinstance(then, exp.Var) and then.name.upper() == "DELETE":
            action_cases.append(f"WHEN {condition(when)} THEN 'D'")
            for name in columns:
                value_cases[name].append(f"WHEN {condition(when)} THEN {target_alias}.{quote(name)}")
        else:
            raise not_supported(f"MERGE WHEN MATCHED THEN {then.sql(dialect='trino')} is not supported")

    # Source rows a WHEN NOT MATCHED clause inserts.
    insert_cases, insert_values = [], {name: [] for name in columns}
    for when in not_matched:
        then = when.args["then"]
        if not isinstance(then, exp.Insert):
            raise not_supported("WHEN NOT MATCHED supports only INSERT")
        names = [column.name.lower() for column in then.this.expressions] if then.this is not None else columns
        values = then.expression.expressions
        if len(names) != len(values):
            raise IcebergError("SYNTAX_ERROR", "MERGE INSERT column count does not match the VALUES count")
        for name in names:
            if name not in types:
                raise unknown_merge_column(name)
        given = dict(zip(names, (translate(value) for value in values)))
        insert_cases.append(f"WHEN {condition(when)} THEN 'I'")
        for name in columns:
            insert_values[name].append(
                f"WHEN {condition(when)} THEN CAST({given.get(name, 'NULL')} AS {types[name]})")

    connection = connect()
    try:
        connection.register(TARGET_VIEW, target)
        connection.register(SOURCE_VIEW, source)
        join = (f"FROM {TARGET_VIEW} AS {target_alias} JOIN {SOURCE_VIEW} AS {source_alias} ON ({on})")
        try:
            # Every (target row, matching source row) pair with the clause it falls under.
            select = ", ".join(
                [f"{target_alias}.{ROW_ID} AS {ROW_ID}",
                 f"CASE {' '.join(action_cases)} ELSE 'N' END AS {ACTION}" if action_cases else f"'N' AS {ACTION}"]
                + [f"CASE {' '.join(value_cases[name])} ELSE {target_alias}.{quote(name)} END AS {quote(name)}"
                   if value_cases[name] else f"{target_alias}.{quote(name)} AS {quote(name)}" for name in columns])
            acted = connection.sql(f"SELECT {select} {join}").to_arrow_table()
            connection.register(ACTED_VIEW, acted)
            # Trino fails a target row that two source rows act on. When several source rows match
            # but none acts, Trino versions differ (older ones fail too): that is refused as well,
            # so no answer differs from Athena's. Exactly one acting match is fine in every version.
            ambiguous = connection.execute(
                f"SELECT {ROW_ID} FROM {ACTED_VIEW} GROUP BY {ROW_ID} HAVING count(*) > 1 "
                f"AND count(*) FILTER (WHERE {ACTION} <> 'N') <> 1 LIMIT 1").fetchall()
            if ambiguous:
                raise IcebergError("MERGE_TARGET_ROW_MULTIPLE_MATCHES",
                                   "One MERGE target table row matched more than one source row")
            updated = acted.filter(pc.equal(acted.column(ACTION), "U")).drop_columns([ACTION])
            deleted_ids = pc.filter(acted.column(ROW_ID), pc.equal(acted.column(ACTION), "D")).combine_chunks()
            inserted = _empty_changes(target, columns).drop_columns([ROW_ID])
            if not_matched:
                select = ", ".join(
                    [f"CASE {' '.join(insert_cases)} ELSE 'N' END AS {ACTION}"]
                    + [f"CASE {' '.join(insert_values[name])} END AS {quote(name)}" for name in columns])
                unmatched = (f"FROM {SOURCE_VIEW} AS {source_alias} WHERE NOT EXISTS "
                             f"(SELECT 1 FROM {TARGET_VIEW} AS {target_alias} WHERE ({on}))")
                candidates = connection.sql(f"SELECT {select} {unmatched}").to_arrow_table()
                inserted = candidates.filter(pc.equal(candidates.column(ACTION), "I")).drop_columns([ACTION])
        except duckdb.Error as exc:
            raise duckdb_error(exc) from exc
    finally:
        connection.close()
    return RowChanges(updated=updated, deleted_ids=deleted_ids, inserted=inserted)


def _empty_changes(target: pa.Table, columns: list[str]) -> pa.Table:
    return target.select([ROW_ID, *columns]).slice(0, 0)


def evaluate_source(merge: exp.Merge, relations: dict[str, pa.Table],
                    translate: Translate = trino_to_duckdb) -> pa.Table:
    """The rows of a MERGE's USING relation, with each table it names bound to an Arrow table.

    `relations` maps a table name as written (`db.table` or `table`, lower
    case) to its rows. This is what the local Athena does with its own engine
    before calling `IcebergTables.merge`; the CDC apply uses it directly.
    """
    using = merge.args["using"].copy()
    relation = using.this if isinstance(using, exp.Subquery) else using
    if isinstance(relation, exp.Table):
        relation = exp.select("*").from_(relation.copy())
    views = {}
    connection = connect()
    try:
        for index, table in enumerate(relation.find_all(exp.Table)):
            written = ".".join(part for part in (table.db, table.name) if part).lower()
            if written not in relations:
                raise IcebergError("TABLE_NOT_FOUND", f"Table 'awsdatacatalog.{written}' does not exist")
            view = views.setdefault(written, f"__iceberg_source_{index}")
            connection.register(view, relations[written])
            alias = table.alias or table.name
            table.replace(exp.alias_(exp.to_table(view), alias, table=True))
        try:
            return connection.sql(translate(relation)).to_arrow_table()
        except duckdb.Error as exc:
            raise duckdb_error(exc) from exc
    finally:
        connection.close()
