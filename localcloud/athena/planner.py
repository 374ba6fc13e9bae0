"""Turn one parsed statement into a result: resolve catalog tables and views, run DDL against Glue.

The talking-to-S3-and-Glue half (PyAthena's cursor side): it finds what a
query reads (TableSource per table, views inlined from their Presto text),
hands the engine what it needs, and performs CREATE/DROP VIEW, CREATE
EXTERNAL TABLE, DROP TABLE, SHOW and DESCRIBE through the Glue API.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from localcloud.athena import sql as athena_sql
from localcloud.athena.decimals import exact_decimal_division, schema_of
from localcloud.athena.engine import duckdb_type
from localcloud.athena.catalog import GlueCatalog, decode_presto_view, is_view, view_table_input
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import Lake, TableSource, split_s3_url
from localcloud.athena.results import ResultSet
from localcloud.athena.types import ATHENA_TO_HIVE, column_info

DEFAULT_CATALOG = "awsdatacatalog"
_MAX_VIEW_DEPTH = 16


@dataclass
class QueryPlan:
    """A query ready for the engine: DuckDB SQL plus the table snapshots it reads."""

    duckdb_sql: str
    sources: list[TableSource] = field(default_factory=list)

    @property
    def bytes_scanned(self) -> int:
        return sum(s.bytes_scanned for s in self.sources)


class Planner:
    def __init__(self, catalog: GlueCatalog, lake: Lake, evaluate: Any = None):
        self.catalog = catalog
        self.lake = lake
        # evaluate(duckdb_sql) -> rows; enables partition pruning when given.
        self.evaluate = evaluate

    # -- queries ---------------------------------------------------------------
    def plan_query(self, statement: athena_sql.Statement, database: str, snapshot_name: Any) -> QueryPlan:
        sources: dict[str, TableSource] = {}
        tree = name_unnamed_columns(statement.tree.copy())
        tree = self._resolve(tree, statement.text, database, sources, snapshot_name, depth=0)
        tree = exact_decimal_division(tree, schema_of(list(sources.values()), snapshot_name, duckdb_type))
        return QueryPlan(tree.sql(dialect=athena_sql.WRITE_DIALECT), list(sources.values()))

    def _resolve(self, tree: exp.Expression, text: str, database: str, sources: dict[str, TableSource],
                 snapshot_name: Any, depth: int) -> exp.Expression:
        if depth > _MAX_VIEW_DEPTH:
            raise QueryFailed("VIEW_IS_RECURSIVE", "View is recursive")
        athena_sql.police(tree, text)
        tree = athena_sql.translate(tree, text)
        replacements: dict[int, exp.Expression] = {}
        for table in athena_sql.catalog_tables(tree):
            line, col = athena_sql.node_position(table, text)
            catalog_name = (table.catalog or DEFAULT_CATALOG).lower()
            db = (table.db or database or "default").lower()
            name = table.name.lower()
            if catalog_name != DEFAULT_CATALOG:
                raise QueryFailed("CATALOG_NOT_FOUND", f"Catalog '{catalog_name}' does not exist", line, col)
            glue_table = self.catalog.get_table(db, name)
            if glue_table is None:
                if self.catalog.get_database(db) is None:
                    raise QueryFailed("SCHEMA_NOT_FOUND", f"Schema '{db}' does not exist", line, col)
                raise QueryFailed("TABLE_NOT_FOUND", f"Table '{catalog_name}.{db}.{name}' does not exist", line, col)
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
            if is_view(glue_table):
                try:
                    view = decode_presto_view(glue_table.get("ViewOriginalText") or "")
                except ValueError:
                    raise QueryFailed("NOT_SUPPORTED", f"View '{db}.{name}' is not a Presto/Athena view", line,
                                      col) from None
                inner = athena_sql.parse(view["originalSql"])
                if inner.kind != "query":
                    raise QueryFailed("INVALID_VIEW", f"View '{db}.{name}' does not hold a query", line, col)
                resolved = self._resolve(inner.tree, inner.text, view.get("schema") or db, sources,
                                         snapshot_name, depth + 1)
                replacements[id(table)] = exp.Subquery(this=resolved, alias=alias.copy())
            else:
                source = self.lake.table_source(glue_table, self.catalog)
                self._prune(table, alias.name, source)
                sources[f"{db}.{name}"] = source
                replacements[id(table)] = exp.Table(this=exp.to_identifier(snapshot_name(source)),
                                                    alias=alias.copy())

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and id(node) in replacements:
                return replacements[id(node)]
            if isinstance(node, exp.Column) and node.args.get("db") is not None:
                # `db.table.column`: the table is now known by its alias alone.
                node = node.copy()
                node.set("db", None)
                node.set("catalog", None)
            return node

        return tree.transform(swap, copy=False)

    def _prune(self, table: exp.Table, alias: str, source: TableSource) -> None:
        """Drop objects of partitions the query's WHERE rules out, as Athena does (and bills).

        Only conjuncts of the WHERE of the SELECT that reads `table` whose every
        column is one of its partition keys take part (unqualified columns only
        when that SELECT reads this one table); each is evaluated in DuckDB
        against the candidate partition values. Rows of pruned partitions would
        have been filtered out by the same conjunct, so answers do not change.
        """
        if self.evaluate is None or not source.partition_keys or not source.objects:
            return
        select = table.parent_select
        where = select.args.get("where") if select is not None else None
        if where is None:
            return
        keys = {k for k, _ in source.partition_keys}
        single = len(list(select.find_all(exp.Table))) == 1 and not select.args.get("joins")
        kept = []
        for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            columns = list(conjunct.find_all(exp.Column))
            if not columns or conjunct.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window):
                continue
            if all(c.name.lower() in keys and (c.table.lower() == alias.lower() if c.table else single)
                   for c in columns):
                kept.append(conjunct)
        if not kept:
            return
        types = dict(source.partition_keys)
        candidates = sorted({o.partition for o in source.objects})
        predicate = exp.and_(*[c.copy() for c in kept]).transform(
            lambda n: exp.column(n.name.lower(), table="p") if isinstance(n, exp.Column) else n)
        values = exp.Values(
            expressions=[exp.Tuple(expressions=[
                exp.cast(exp.Literal.string(dict(part)[k]), exp.DataType.build(types[k], dialect="hive"))
                for k in keys_in_order(source)]) for part in candidates],
            alias=exp.TableAlias(this=exp.to_identifier("p"),
                                 columns=[exp.to_identifier(k) for k in keys_in_order(source)]),
        )
        sql = (f"SELECT {', '.join(keys_in_order(source))} FROM {values.sql(athena_sql.WRITE_DIALECT)} "
               f"WHERE {predicate.sql(athena_sql.WRITE_DIALECT)}")
        try:
            rows = self.evaluate(sql)
        except Exception:  # pruning is an optimisation: when in doubt, read everything
            return
        wanted = {tuple(zip(keys_in_order(source), (str(v) for v in row))) for row in rows}
        source.objects = [o for o in source.objects if tuple((k, v) for k, v in o.partition) in wanted]

    # -- DDL and utility statements ---------------------------------------------
    def run_ddl(self, statement: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
        handler = getattr(self, f"_ddl_{statement.kind}")
        return handler(statement, (database or "default").lower(), describe_query)

    def _names(self, table: exp.Expression | None, database: str) -> tuple[str, str]:
        if table is None:
            raise QueryFailed("SYNTAX_ERROR", "a table name is required")
        return (table.db or database).lower(), table.name.lower()

    def _require_db(self, db: str) -> None:
        if self.catalog.get_database(db) is None:
            raise QueryFailed("SCHEMA_NOT_FOUND", f"Schema '{db}' does not exist")

    def _ddl_create_view(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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

    def _ddl_drop_view(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
        db, name = self._names(_drop_target(st.tree), database)
        existing = self.catalog.get_table(db, name)
        if existing is None or not is_view(existing):
            if st.tree.args.get("exists"):
                return ResultSet.utility([], [])
            raise QueryFailed("TABLE_NOT_FOUND", f"View '{DEFAULT_CATALOG}.{db}.{name}' does not exist")
        self.catalog.delete_table(db, name)
        return ResultSet.utility([], [])

    def _ddl_drop_table(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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

    def _ddl_create_table(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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

    def _ddl_create_database(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
        name = st.tree.this.name.lower()
        if self.catalog.get_database(name) is not None:
            if st.tree.args.get("exists"):
                return ResultSet.utility([], [])
            raise QueryFailed("ALREADY_EXISTS", f"Schema '{name}' already exists")
        self.catalog.create_database(name)
        return ResultSet.utility([], [])

    def _ddl_drop_database(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
        name = self._names(_drop_target(st.tree), database)[1]
        if self.catalog.get_database(name) is None:
            if st.tree.args.get("exists"):
                return ResultSet.utility([], [])
            raise QueryFailed("SCHEMA_NOT_FOUND", f"Schema '{name}' does not exist")
        if self.catalog.list_tables(name) and not st.tree.args.get("cascade"):
            raise QueryFailed("SCHEMA_NOT_EMPTY", f"Schema '{name}' is not empty")
        self.catalog.delete_database(name)
        return ResultSet.utility([], [])

    def _ddl_show_databases(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
        pattern = st.args["groups"][0]
        names = sorted(n for n in self.catalog.list_databases() if _like(n, pattern))
        return ResultSet.utility(["database_name"], [[n] for n in names])

    def _ddl_show_tables(self, st: athena_sql.Statement, database: str, describe_query: Any,
                         views_only: bool = False) -> ResultSet:
        db, pattern = st.args["groups"]
        db = db or database
        self._require_db(db)
        tables = self.catalog.list_tables(db)
        names = sorted(t["Name"] for t in tables if _like(t["Name"], pattern) and (not views_only or is_view(t)))
        return ResultSet.utility(["tab_name"], [[n] for n in names])

    def _ddl_show_views(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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

    def _ddl_describe(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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

    def _ddl_show_columns(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
        db, name, table = self._table(st.args["groups"], database)
        cols = ((table.get("StorageDescriptor") or {}).get("Columns") or []) + (table.get("PartitionKeys") or [])
        return ResultSet.utility(["field"], [[c["Name"]] for c in cols])

    def _ddl_show_partitions(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
        db, name, table = self._table(st.args["groups"], database)
        keys = [k["Name"] for k in table.get("PartitionKeys") or []]
        if not keys:
            raise QueryFailed("NOT_SUPPORTED", f"Table {name} is not partitioned")
        # Athena lists registered partitions only, even for a table with partition projection.
        parts = self.catalog.get_partitions(db, name)
        rows = sorted("/".join(f"{k}={v}" for k, v in zip(keys, p["Values"])) for p in parts)
        return ResultSet.utility(["partition"], [[r] for r in rows])

    def _ddl_show_create_table(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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

    def _ddl_alter_add_partition(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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

    def _ddl_alter_drop_partition(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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

    def _ddl_msck(self, st: athena_sql.Statement, database: str, describe_query: Any) -> ResultSet:
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


def keys_in_order(source: TableSource) -> list[str]:
    return [k for k, _ in source.partition_keys]


def _drop_target(tree: exp.Drop) -> exp.Expression | None:
    """The table/view a DROP names (sqlglot keeps DROP TABLE's in `tables`)."""
    tables = tree.args.get("tables") or []
    if len(tables) > 1:
        raise QueryFailed("SYNTAX_ERROR", "DROP takes one table at a time")
    return tables[0] if tables else tree.this


def name_unnamed_columns(tree: exp.Expression) -> exp.Expression:
    """Athena names an unnamed result column `_col<position>` (DuckDB would use the expression text)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.left
    if isinstance(select, exp.Subquery):
        select = select.unnest()
    if isinstance(select, exp.Select):
        for i, projection in enumerate(select.expressions):
            if not isinstance(projection, (exp.Alias, exp.Column, exp.Star)) and not projection.is_star:
                projection.replace(exp.alias_(projection.copy(), f"_col{i}", quoted=True))
    return tree


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
