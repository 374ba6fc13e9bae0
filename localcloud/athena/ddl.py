"""DDL and utility statements against the Glue catalog, one handler per statement kind.

CREATE/DROP VIEW, CREATE EXTERNAL TABLE, DROP TABLE, CREATE/DROP DATABASE,
SHOW (databases, tables, views, columns, partitions, create table), DESCRIBE,
ALTER TABLE ADD/DROP PARTITION and MSCK REPAIR TABLE. `DdlRunner.run`
dispatches through the explicit `HANDLERS` table (statement kind -> method),
so a reader sees every supported statement in one place.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from localcloud.athena import sql as athena_sql
from localcloud.athena.catalog import GlueCatalog, decode_presto_view, is_view, view_table_input
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import Lake, split_s3_url
from localcloud.athena.queries import DEFAULT_CATALOG
from localcloud.athena.results import ResultSet
from localcloud.athena.types import ATHENA_TO_HIVE, column_info

# describe_query(statement, database) -> (column names, DuckDB types) of a query, checking it resolves.
DescribeQuery = Callable[[athena_sql.Statement, str], tuple[list[str], list[Any]]]


class DdlRunner:
    """Runs one DDL/utility statement against a region's catalog (and lake, for MSCK)."""

    def __init__(self, catalog: GlueCatalog, lake: Lake):
        self.catalog = catalog
        self.lake = lake

    def run(self, statement: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        handler = HANDLERS.get(statement.kind)
        if handler is None:
            raise QueryFailed("NOT_SUPPORTED", f"{statement.kind} statements are not supported by the local "
                              "Athena engine")
        return handler(self, statement, (database or "default").lower(), describe_query)

    def _names(self, table: exp.Expression | None, database: str) -> tuple[str, str]:
        if table is None:
            raise QueryFailed("SYNTAX_ERROR", "a table name is required")
        return (table.db or database).lower(), table.name.lower()

    def _require_db(self, db: str) -> None:
        if self.catalog.get_database(db) is None:
            raise QueryFailed("SCHEMA_NOT_FOUND", f"Schema '{db}' does not exist")

    def _ddl_create_view(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        tree = st.tree
        target = tree.this if isinstance(tree.this, exp.Table) else tree.this.this
        db, name = self._names(target, database)
        self._require_db(db)
        query = tree.expression
        # The view's own text, as written, is what Athena stores (originalSql).
        original = _view_body_text(st.text) or query.sql(dialect=athena_sql.READ_DIALECT)
        existing = self.catalog.get_table(db, name)
        replace = bool(tree.args.get("replace"))
        if existing is not None and not replace:
            raise QueryFailed("ALREADY_EXISTS", f"View '{DEFAULT_CATALOG}.{db}.{name}' already exists")
        if existing is not None and not is_view(existing):
            raise QueryFailed("TABLE_ALREADY_EXISTS", f"Table '{DEFAULT_CATALOG}.{db}.{name}' already exists")
        # Athena analyses the view (every table and column must resolve) and records its column types.
        names, types = describe_query(athena_sql.parse(original), db)
        columns = []
        for n, t in zip(names, types):
            info = column_info(n, t)
            athena_type = info["Type"]
            if athena_type == "decimal":
                athena_type = f"decimal({info['Precision']},{info['Scale']})"
            base = athena_type.split("(", 1)[0]
            hive = ATHENA_TO_HIVE.get(base, base) + athena_type[len(base):]
            columns.append((n, athena_type, hive))
        self.catalog.put_table(db, view_table_input(name, db, original, columns), replace=True)
        return ResultSet.utility([], [])

    def _ddl_drop_view(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        db, name = self._names(_drop_target(st.tree), database)
        existing = self.catalog.get_table(db, name)
        if existing is None or not is_view(existing):
            if st.tree.args.get("exists"):
                return ResultSet.utility([], [])
            raise QueryFailed("TABLE_NOT_FOUND", f"View '{DEFAULT_CATALOG}.{db}.{name}' does not exist")
        self.catalog.delete_table(db, name)
        return ResultSet.utility([], [])

    def _ddl_drop_table(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        db, name = self._names(_drop_target(st.tree), database)
        existing = self.catalog.get_table(db, name)
        if existing is None:
            if st.tree.args.get("exists"):
                return ResultSet.utility([], [])
            raise QueryFailed("TABLE_NOT_FOUND", f"Table '{DEFAULT_CATALOG}.{db}.{name}' does not exist")
        if is_view(existing):
            raise QueryFailed("NOT_SUPPORTED", f"'{db}.{name}' is a view; use DROP VIEW")
        self.catalog.delete_table(db, name)  # external table: the data stays in S3, as on Athena
        return ResultSet.utility([], [])

    def _ddl_create_table(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        tree = st.tree
        schema = tree.this
        db, name = self._names(schema.this, database)
        self._require_db(db)
        if self.catalog.get_table(db, name) is not None:
            if tree.args.get("exists"):
                return ResultSet.utility([], [])
            raise QueryFailed("ALREADY_EXISTS", f"Table '{DEFAULT_CATALOG}.{db}.{name}' already exists")
        columns = [_column(c) for c in schema.expressions if isinstance(c, exp.ColumnDef)]
        partitions: list[dict[str, str]] = []
        serde, serde_params, location = "", {}, ""
        input_format = output_format = ""
        table_params: dict[str, str] = {"EXTERNAL": "TRUE"}
        comment = None
        for prop in (tree.args.get("properties") or exp.Properties(expressions=[])).expressions:
            if isinstance(prop, exp.PartitionedByProperty):
                partitions = [_column(c) for c in prop.this.expressions if isinstance(c, exp.ColumnDef)]
            elif isinstance(prop, exp.RowFormatSerdeProperty):
                serde = prop.this.name
                props = prop.args.get("serde_properties")
                for p in (props.expressions if props else []):
                    serde_params[p.this.name if isinstance(p.this, exp.Literal) else p.name] = p.args["value"].name
            elif isinstance(prop, exp.FileFormatProperty):
                fmt = prop.this
                if isinstance(fmt, exp.InputOutputFormat):
                    input_format = fmt.args["input_format"].name
                    output_format = fmt.args["output_format"].name
                else:
                    stored = fmt.name.upper()
                    if stored == "PARQUET":
                        serde = serde or "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        input_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
                        output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
                    elif stored in ("TEXTFILE", "JSON"):
                        input_format = "org.apache.hadoop.mapred.TextInputFormat"
                        output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
                    else:
                        raise QueryFailed("NOT_SUPPORTED", f"STORED AS {stored} is not supported by the local "
                                          "Athena engine")
            elif isinstance(prop, exp.LocationProperty):
                location = prop.this.name
            elif isinstance(prop, exp.SchemaCommentProperty):
                comment = prop.this.name
            elif type(prop) is exp.Property:  # TBLPROPERTIES; subclasses are the clauses above
                table_params[prop.this.name if isinstance(prop.this, exp.Literal) else prop.name] = \
                    prop.args["value"].name
        if not location:
            raise QueryFailed("SYNTAX_ERROR", "External location must be specified (LOCATION 's3://…')")
        try:
            split_s3_url(location)
        except ValueError as exc:
            raise QueryFailed("INVALID_TABLE_PROPERTY", str(exc)) from None
        table_input: dict[str, Any] = {
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": table_params,
            "PartitionKeys": partitions,
            "StorageDescriptor": {
                "Columns": columns,
                "Location": location,
                "InputFormat": input_format or "org.apache.hadoop.mapred.TextInputFormat",
                "OutputFormat": output_format or "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "SerdeInfo": {"SerializationLibrary": serde or "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                              "Parameters": serde_params},
                "Compressed": False,
                "NumberOfBuckets": -1,
                "StoredAsSubDirectories": False,
            },
        }
        if comment:
            table_input["Description"] = comment
        self.catalog.put_table(db, table_input, replace=False)
        return ResultSet.utility([], [])

    def _ddl_create_database(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        name = st.tree.this.name.lower()
        if self.catalog.get_database(name) is not None:
            if st.tree.args.get("exists"):
                return ResultSet.utility([], [])
            raise QueryFailed("ALREADY_EXISTS", f"Schema '{name}' already exists")
        self.catalog.create_database(name)
        return ResultSet.utility([], [])

    def _ddl_drop_database(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        name = self._names(_drop_target(st.tree), database)[1]
        if self.catalog.get_database(name) is None:
            if st.tree.args.get("exists"):
                return ResultSet.utility([], [])
            raise QueryFailed("SCHEMA_NOT_FOUND", f"Schema '{name}' does not exist")
        if self.catalog.list_tables(name) and not st.tree.args.get("cascade"):
            raise QueryFailed("SCHEMA_NOT_EMPTY", f"Schema '{name}' is not empty")
        self.catalog.delete_database(name)
        return ResultSet.utility([], [])

    def _ddl_show_databases(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        pattern = st.args["groups"][0]
        names = sorted(n for n in self.catalog.list_databases() if _like(n, pattern))
        return ResultSet.utility(["database_name"], [[n] for n in names])

    def _ddl_show_tables(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery,
                         views_only: bool = False) -> ResultSet:
        db, pattern = st.args["groups"]
        db = db or database
        self._require_db(db)
        tables = self.catalog.list_tables(db)
        names = sorted(t["Name"] for t in tables if _like(t["Name"], pattern) and (not views_only or is_view(t)))
        return ResultSet.utility(["tab_name"], [[n] for n in names])

    def _ddl_show_views(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        result = self._ddl_show_tables(st, database, describe_query, views_only=True)
        result.columns[0]["Name"] = result.columns[0]["Label"] = "views"
        return result

    def _table(self, groups: list[str | None], database: str) -> tuple[str, str, dict[str, Any]]:
        first, second = groups[0], groups[1]
        db, name = (first, second) if second else (database, first)
        table = self.catalog.get_table(db, name)
        if table is None:
            self._require_db(db)
            raise QueryFailed("TABLE_NOT_FOUND", f"Table '{DEFAULT_CATALOG}.{db}.{name}' does not exist")
        return db, name, table

    def _ddl_describe(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        if st.tree is not None:
            target = st.tree.this
            groups = [target.db or None, target.name] if target.db else [target.name, None]
            groups = [g.lower() if g else g for g in groups]
        else:
            groups = st.args["groups"]
        db, name, table = self._table(groups, database)
        cols = (table.get("StorageDescriptor") or {}).get("Columns") or []
        parts = table.get("PartitionKeys") or []
        rows = [[f"{c['Name']:<24}\t{c['Type']:<24}\t{c.get('Comment', '')}"] for c in cols + parts]
        if parts:
            rows += [[""], ["# Partition Information"], [f"{'# col_name':<24}\t{'data_type':<24}\tcomment"], [""]]
            rows += [[f"{c['Name']:<24}\t{c['Type']:<24}\t{c.get('Comment', '')}"] for c in parts]
        return ResultSet.utility(["col_name"], rows)

    def _ddl_show_columns(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        db, name, table = self._table(st.args["groups"], database)
        cols = ((table.get("StorageDescriptor") or {}).get("Columns") or []) + (table.get("PartitionKeys") or [])
        return ResultSet.utility(["field"], [[c["Name"]] for c in cols])

    def _ddl_show_partitions(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        db, name, table = self._table(st.args["groups"], database)
        keys = [k["Name"] for k in table.get("PartitionKeys") or []]
        if not keys:
            raise QueryFailed("NOT_SUPPORTED", f"Table {name} is not partitioned")
        # Athena lists registered partitions only, even for a table with partition projection.
        parts = self.catalog.get_partitions(db, name)
        rows = sorted("/".join(f"{k}={v}" for k, v in zip(keys, p["Values"])) for p in parts)
        return ResultSet.utility(["partition"], [[r] for r in rows])

    def _ddl_show_create_table(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        db, name, table = self._table(st.args["groups"], database)
        if is_view(table):
            view = decode_presto_view(table.get("ViewOriginalText") or "")
            text = f'CREATE VIEW "{db}"."{name}" AS\n{view["originalSql"]}'
            return ResultSet.utility(["createtab_stmt"], [[line] for line in text.splitlines()])
        sd = table.get("StorageDescriptor") or {}
        lines = [f"CREATE EXTERNAL TABLE `{db}`.`{name}`("]
        cols = sd.get("Columns") or []
        lines += [f"  `{c['Name']}` {c['Type']}" + ("," if i < len(cols) - 1 else ")") for i, c in enumerate(cols)]
        if table.get("PartitionKeys"):
            lines.append("PARTITIONED BY ( ")
            pk = table["PartitionKeys"]
            lines += [f"  `{c['Name']}` {c['Type']}" + ("," if i < len(pk) - 1 else ")") for i, c in enumerate(pk)]
        serde = sd.get("SerdeInfo") or {}
        lines += ["ROW FORMAT SERDE ", f"  '{serde.get('SerializationLibrary', '')}' "]
        if serde.get("Parameters"):
            lines.append("WITH SERDEPROPERTIES ( ")
            items = list(serde["Parameters"].items())
            lines += [f"  '{k}'='{v}'" + ("," if i < len(items) - 1 else ") ") for i, (k, v) in enumerate(items)]
        lines += ["STORED AS INPUTFORMAT ", f"  '{sd.get('InputFormat', '')}' ", "OUTPUTFORMAT ",
                  f"  '{sd.get('OutputFormat', '')}'", "LOCATION", f"  '{sd.get('Location', '')}'"]
        params = table.get("Parameters") or {}
        if params:
            lines.append("TBLPROPERTIES (")
            items = sorted(params.items())
            lines += [f"  '{k}'='{v}'" + ("," if i < len(items) - 1 else ")") for i, (k, v) in enumerate(items)]
        return ResultSet.utility(["createtab_stmt"], [[line] for line in lines])

    def _ddl_alter_add_partition(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        db, name, table = self._table(st.args["groups"], database)
        keys = [k["Name"].lower() for k in table.get("PartitionKeys") or []]
        sd = table.get("StorageDescriptor") or {}
        existing = {tuple(p["Values"]) for p in self.catalog.get_partitions(db, name)}
        new = []
        for spec, location in st.args["specs"]:
            if sorted(spec) != sorted(keys):
                raise QueryFailed("INVALID_PARTITION_VALUE" if keys else "NOT_SUPPORTED",
                                  f"Partition spec {spec} does not match the partition keys {keys} of {name}")
            values = [spec[k] for k in keys]
            if tuple(values) in existing:
                if st.args["if"]:
                    continue
                raise QueryFailed("ALREADY_EXISTS", f"Partition already exists: {name}:" +
                                  "/".join(f"{k}={v}" for k, v in zip(keys, values)))
            location = location or (sd.get("Location", "").rstrip("/") + "/" +
                                    "/".join(f"{k}={v}" for k, v in zip(keys, values)) + "/")
            new.append({"Values": values, "StorageDescriptor": {**sd, "Location": location}})
        if new:
            self.catalog.add_partitions(db, name, new)
        return ResultSet.utility([], [])

    def _ddl_alter_drop_partition(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        db, name, table = self._table(st.args["groups"], database)
        keys = [k["Name"].lower() for k in table.get("PartitionKeys") or []]
        existing = {tuple(p["Values"]) for p in self.catalog.get_partitions(db, name)}
        doomed = []
        for spec, _ in st.args["specs"]:
            values = [spec.get(k) for k in keys]
            if tuple(values) not in existing:
                if st.args["if"]:
                    continue
                raise QueryFailed("PARTITION_NOT_FOUND", f"Partition not found: {name}:" +
                                  "/".join(f"{k}={v}" for k, v in spec.items()))
            doomed.append({"Values": values})
        if doomed:
            self.catalog.delete_partitions(db, name, doomed)
        return ResultSet.utility([], [])

    def _ddl_msck(self, st: athena_sql.Statement, database: str, describe_query: DescribeQuery) -> ResultSet:
        """MSCK REPAIR TABLE: register the `key=value/` folders found under the table's location."""
        db, name, table = self._table(st.args["groups"], database)
        keys = [k["Name"] for k in table.get("PartitionKeys") or []]
        sd = table.get("StorageDescriptor") or {}
        if not keys:
            return ResultSet.utility([], [])
        location = sd.get("Location", "").rstrip("/") + "/"
        existing = {tuple(p["Values"]) for p in self.catalog.get_partitions(db, name)}
        pattern = re.compile("/".join(f"{re.escape(k)}=([^/]+)" for k in keys) + "/")
        found: dict[tuple[str, ...], str] = {}
        bucket, prefix = split_s3_url(location)
        for obj in self.lake._list(location):
            m = pattern.match(obj.key[len(prefix):])
            if m and m.groups() not in existing:
                found[m.groups()] = location + m.group(0)
        new = [
            {"Values": list(values), "StorageDescriptor": {**sd, "Location": loc}}
            for values, loc in sorted(found.items())
        ]
        if new:
            self.catalog.add_partitions(db, name, new)
        rows = [[f"Partitions not in metastore:\t{name}:" + "/".join(f"{k}={v}" for k, v in zip(keys, p['Values']))]
                for p in new]
        rows += [[f"Repair: Added partition to metastore {name}:" +
                  "/".join(f"{k}={v}" for k, v in zip(keys, p['Values']))] for p in new]
        return ResultSet.utility(["result"], rows)


# Statement kind (sql.Statement.kind) -> its handler.
HANDLERS: dict[str, Callable[..., ResultSet]] = {
    "create_view": DdlRunner._ddl_create_view,
    "drop_view": DdlRunner._ddl_drop_view,
    "drop_table": DdlRunner._ddl_drop_table,
    "create_table": DdlRunner._ddl_create_table,
    "create_database": DdlRunner._ddl_create_database,
    "drop_database": DdlRunner._ddl_drop_database,
    "show_databases": DdlRunner._ddl_show_databases,
    "show_tables": DdlRunner._ddl_show_tables,
    "show_views": DdlRunner._ddl_show_views,
    "describe": DdlRunner._ddl_describe,
    "show_columns": DdlRunner._ddl_show_columns,
    "show_partitions": DdlRunner._ddl_show_partitions,
    "show_create_table": DdlRunner._ddl_show_create_table,
    "alter_add_partition": DdlRunner._ddl_alter_add_partition,
    "alter_drop_partition": DdlRunner._ddl_alter_drop_partition,
    "msck": DdlRunner._ddl_msck,
}


def _drop_target(tree: exp.Drop) -> exp.Expression | None:
    """The table/view a DROP names (sqlglot keeps DROP TABLE's in `tables`)."""
    tables = tree.args.get("tables") or []
    if len(tables) > 1:
        raise QueryFailed("SYNTAX_ERROR", "DROP takes one table at a time")
    return tables[0] if tables else tree.this


def _column(c: exp.ColumnDef) -> dict[str, str]:
    # Glue spells types compactly, as Athena writes them: decimal(10,2), struct<a:int,b:string>.
    hive_type = re.sub(r"\s*([,:<>()])\s*", r"\1", c.args["kind"].sql(dialect="hive").lower())
    col = {"Name": c.name.lower(), "Type": hive_type}
    comment = c.find(exp.CommentColumnConstraint)
    if comment is not None:
        col["Comment"] = comment.this.name
    return col


def _like(name: str, pattern: str | None) -> bool:
    """SHOW TABLES 'pattern': Hive's `*` wildcard and `|` alternatives, case-insensitive."""
    if not pattern:
        return True
    return any(fnmatch.fnmatch(name.lower(), alt.strip().lower()) for alt in pattern.split("|"))


_VIEW_BODY = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+\S+\s+AS\s+(.*)$", re.I | re.S)


def _view_body_text(text: str) -> str | None:
    m = _VIEW_BODY.match(text)
    return m.group(1).strip() if m else None
