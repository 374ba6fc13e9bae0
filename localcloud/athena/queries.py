"""Plan a query: resolve its catalog tables and views, prune partitions, translate it for the engine.

The talking-to-Glue-and-S3 half of a SELECT: it finds what a query reads (a
TableSource per table, views inlined from their Presto text), keeps only the
partitions the WHERE can match, and hands the engine DuckDB SQL plus the
table snapshots that SQL reads. DDL lives in ddl.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from localcloud.athena import iceberg_scan, information_schema
from localcloud.athena import sql as athena_sql
from localcloud.caches import BoundedCache
from localcloud.athena.catalog import GlueCatalog, PlanCatalog, decode_presto_view, is_view
from localcloud.athena.column_lengths import hive_types_of, result_lengths
from localcloud.athena.decimals import exact_decimal_division, schema_of
from localcloud.athena.engine import duckdb_type
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import Lake, TableSource
from localcloud.athena.typed import trino_typed_semantics

DEFAULT_CATALOG = "awsdatacatalog"
_MAX_VIEW_DEPTH = 16


@dataclass
class QueryPlan:
    """A query ready for the engine: DuckDB SQL plus the table snapshots it reads."""

    duckdb_sql: str
    sources: list[TableSource] = field(default_factory=list)
    # Per result column, its declared varchar(n) length (ColumnInfo's Precision), or None; None when unknown.
    column_lengths: list[int | None] | None = None
    # Arrow relations the SQL reads by name (Iceberg metadata tables), loaded into the engine with the sources.
    relations: dict[str, Any] = field(default_factory=dict)

    @property
    def bytes_scanned(self) -> int:
        return sum(s.bytes_scanned for s in self.sources)


# TRANSLATED: the DuckDB SQL (and the names it reads) of queries already planned, by everything it depends on.
#
# Once a query's tables are resolved, its translation depends only on its text,
# its database, the view texts inlined and the table snapshots read — each known
# by its fingerprint (schema and every object's ETag, or an Iceberg snapshot's data
# files). A new commit, object or view definition is a new key, so a hit is always
# the translation a fresh plan would make; a dashboard re-running its queries on
# unchanged tables skips the typing passes and SQL generation (most of a plan).
# Queries reading information_schema or `$` metadata tables are not kept (their
# rows are inlined at planning time). Bounded: the least recently used go first. Values:
# (DuckDB SQL, the columns it reads, each result column's declared varchar length).
TRANSLATED = BoundedCache()
# KEPT_PARTITIONS: the projected partitions a literal-only partition filter keeps (QueryPlanner._kept).
KEPT_PARTITIONS = BoundedCache()
# POLICED: a statement's tree after athena_sql.police and athena_sql.translate, by its text and parsed tree.
#
# Both depend on those two only (the text for positions in errors and for what the
# tree forgets, such as a DECIMAL keyword before a literal) and are most of the CPU
# a plan costs when TRANSLATED then hits: a dashboard's merge-on-read queries spend
# about 5 ms each in them. The tree is compared by structure (sqlglot's own hash and
# equality), so a CTAS's inner query, which carries the CTAS text, is a key of its own.
# A refusal raises and is not kept, so it is raised again on every run.
POLICED = BoundedCache()


def policed_translation(tree: exp.Expression, text: str) -> exp.Expression:
    """athena_sql.police then athena_sql.translate of `tree` (parsed from `text`); a copy of a kept one if known."""
    hash(tree)  # computed here, not under the cache's lock
    known = POLICED.get((text, tree))
    if known is not None:
        return known.copy()
    key = (text, tree.copy())  # the caller goes on to change `tree`: the key must not change with it
    athena_sql.police(tree, text)
    translated = athena_sql.translate(tree, text)
    POLICED.put(key, translated.copy())
    return translated


class QueryPlanner:
    """Turns a parsed SELECT into a QueryPlan against one region's catalog and lake."""

    def __init__(self, catalog: GlueCatalog | None, lake: Lake | None, evaluate: Any = None, iceberg: Any = None,
                 load: Any = None):
        self.catalog = PlanCatalog(catalog) if catalog is not None else None
        self.lake = lake
        self.iceberg = iceberg  # IcebergTables of the region: Iceberg tables resolve through iceberg_scan
        self.relations: dict[str, Any] = {}
        # evaluate(duckdb_sql) -> rows; enables partition pruning when given.
        self.evaluate = evaluate
        # load(sources) puts table snapshots in the engine; with evaluate, enables dynamic partition pruning.
        self.load = load
        # What a query's translation depends on beyond its text and tables (see TRANSLATED).
        self._inlined_views: list[tuple[str, str]] = []
        self._inlines_rows = False

    def plan_query(self, statement: athena_sql.Statement, database: str, snapshot_name: Any) -> QueryPlan:
        if isinstance(self.catalog, PlanCatalog):
            with self.catalog.planning():
                return self._plan_query(statement, database, snapshot_name)
        return self._plan_query(statement, database, snapshot_name)

    def _plan_query(self, statement: athena_sql.Statement, database: str, snapshot_name: Any) -> QueryPlan:
        sources: dict[str, TableSource] = {}
        self._inlined_views, self._inlines_rows = [], False
        tree = name_unnamed_columns(statement.tree.copy())
        tree = self._resolve(tree, statement.text, database, sources, snapshot_name, depth=0)
        key = None
        if not self._inlines_rows and not self.relations:
            key = (statement.text, database, tuple(self._inlined_views),
                   tuple((name, snapshot_name(source)) for name, source in sources.items()))
            known = TRANSLATED.get(key)
            if known is not None:
                duckdb_sql, needed, lengths = known
                for source in sources.values():
                    source.needed_columns = needed
                return QueryPlan(duckdb_sql, list(sources.values()), relations={}, column_lengths=lengths)
        schema = schema_of(list(sources.values()), snapshot_name, duckdb_type)
        tree = trino_typed_semantics(tree, schema)
        tree = exact_decimal_division(tree, schema)
        needed = referenced_names(tree)
        for source in sources.values():
            source.needed_columns = needed  # decode only these (a superset: every name the query uses)
            _refuse_char_columns(source)
        try:
            # sqlglot drops what DuckDB cannot express (strpos's instance, array_sort's comparator, …)
            # with only a warning: that would be a different answer, so it is refused instead.
            duckdb_sql = tree.sql(dialect=athena_sql.WRITE_DIALECT, unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError as exc:
            raise QueryFailed("NOT_SUPPORTED", f"{str(exc).strip()} (not supported by the local Athena "
                              "engine)") from None
        lengths = result_lengths(tree, schema, hive_types_of(list(sources.values()), snapshot_name))
        if key is not None:
            TRANSLATED.put(key, (duckdb_sql, needed, lengths))
        return QueryPlan(duckdb_sql, list(sources.values()), relations=dict(self.relations), column_lengths=lengths)

    def _resolve(self, tree: exp.Expression, text: str, database: str, sources: dict[str, TableSource],
                 snapshot_name: Any, depth: int) -> exp.Expression:
        if depth > _MAX_VIEW_DEPTH:
            raise QueryFailed("VIEW_IS_RECURSIVE", "View is recursive")
        tree = policed_translation(tree, text)
        replacements: dict[int, exp.Expression] = {}
        if isinstance(self.catalog, PlanCatalog):
            wanted: dict[str, set[str]] = {}
            for table in athena_sql.catalog_tables(tree):
                if (table.catalog or DEFAULT_CATALOG).lower() == DEFAULT_CATALOG and "$" not in table.name:
                    wanted.setdefault((table.db or database or "default").lower(), set()).add(table.name.lower())
            for db, names in wanted.items():
                if db != information_schema.SCHEMA:
                    self.catalog.prefetch(db, names)
        # Lake tables whose WHERE bounds a partition key by a scalar subquery: named once that is evaluated.
        dynamic: list[tuple[exp.Table, exp.TableAlias, str, TableSource, list[exp.Expression]]] = []
        for table in athena_sql.catalog_tables(tree):
            line, col = athena_sql.node_position(table, text)
            catalog_name = (table.catalog or DEFAULT_CATALOG).lower()
            db = (table.db or database or "default").lower()
            name = table.name.lower()
            if catalog_name != DEFAULT_CATALOG:
                raise QueryFailed("CATALOG_NOT_FOUND", f"Catalog '{catalog_name}' does not exist", line, col)
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
            if db == information_schema.SCHEMA:
                if name not in information_schema.COLUMNS:
                    raise QueryFailed("TABLE_NOT_FOUND", f"Table '{catalog_name}.{db}.{name}' does not exist",
                                      line, col)
                replacements[id(table)] = information_schema.relation(self.catalog, name, alias)
                self._inlines_rows = True  # the catalog's rows are in the tree itself
                continue
            glue_table = self.catalog.get_table(db, name)
            if self.iceberg is not None:
                iceberg_relation = iceberg_scan.resolve(self, table, db, name, glue_table, alias, (line, col),
                                                        sources, snapshot_name)
                if iceberg_relation is not None:
                    replacements[id(table)] = iceberg_relation
                    continue
            if glue_table is None:
                if self.catalog.get_database(db) is None:
                    raise QueryFailed("SCHEMA_NOT_FOUND", f"Schema '{db}' does not exist", line, col)
                raise QueryFailed("TABLE_NOT_FOUND", f"Table '{catalog_name}.{db}.{name}' does not exist", line, col)
            if is_view(glue_table):
                try:
                    view = decode_presto_view(glue_table.get("ViewOriginalText") or "")
                except ValueError:
                    raise QueryFailed("NOT_SUPPORTED", f"View '{db}.{name}' is not a Presto/Athena view", line,
                                      col) from None
                self._inlined_views.append((f"{db}.{name}", glue_table.get("ViewOriginalText") or ""))
                inner = athena_sql.parse(view["originalSql"])
                if inner.kind != "query":
                    raise QueryFailed("INVALID_VIEW", f"View '{db}.{name}' does not hold a query", line, col)
                resolved = self._resolve(inner.tree, inner.text, view.get("schema") or db, sources,
                                         snapshot_name, depth + 1)
                replacements[id(table)] = exp.Subquery(this=resolved, alias=alias.copy())
            else:
                source = self.lake.table_source(
                    glue_table, self.catalog,
                    keep=lambda src, candidates, t=table, a=alias.name: self._kept(t, a, src, candidates))
                self._prune(table, alias.name, source)
                bounds = self._scalar_bounds(table, alias.name, source)
                if bounds:
                    dynamic.append((table, alias, f"{db}.{name}", source, bounds))
                    continue
                sources[f"{db}.{name}"] = source
                replacements[id(table)] = exp.Table(this=exp.to_identifier(snapshot_name(source)),
                                                    alias=alias.copy())
        for table, alias, key, source, bounds in dynamic:
            self._prune_dynamically(source, bounds, replacements, sources, snapshot_name)
            sources[key] = source
            replacements[id(table)] = exp.Table(this=exp.to_identifier(snapshot_name(source)), alias=alias.copy())

        return tree.transform(_swapper(replacements), copy=False)

    def _scalar_bounds(self, table: exp.Table, alias: str, source: TableSource) -> list[exp.Expression]:
        """Conjuncts of the WHERE reading `table` that compare its partition keys with uncorrelated scalar
        subqueries (`dt >= (SELECT … FROM other_table)`): Trino prunes these partitions at run time
        (dynamic filtering), so Athena neither reads nor bills them."""
        if self.evaluate is None or self.load is None or not source.partition_keys or not source.objects:
            return []
        select = table.parent_select
        where = select.args.get("where") if select is not None else None
        if where is None:
            return []
        keys = {k for k, _ in source.partition_keys}
        outer = select.args.get("from") or select.args.get("from_")
        single = (outer is not None and isinstance(outer.this, exp.Table) and not select.args.get("joins"))
        bounds = []
        for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            if not isinstance(conjunct, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
                continue
            sides = [conjunct.this, conjunct.expression]
            subqueries = [side for side in sides if isinstance(side, exp.Subquery)]
            if len(subqueries) != 1:
                continue
            (other,) = [side for side in sides if side is not subqueries[0]]
            columns = list(other.find_all(exp.Column))
            if (not columns or other.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window)
                    or not _uncorrelated(subqueries[0])):
                continue
            if all(c.name.lower() in keys and (c.table.lower() == alias.lower() if c.table else single)
                   for c in columns):
                bounds.append(conjunct)
        return bounds

    def _prune_dynamically(self, source: TableSource, bounds: list[exp.Expression],
                           replacements: dict[int, exp.Expression], sources: dict[str, TableSource],
                           snapshot_name: Any) -> None:
        """Evaluate each bound's scalar subquery over the snapshots it reads, then prune by its value.

        A subquery reading a table not resolved yet, a value of another kind, or any failure
        leaves every partition in: pruning is an optimisation, never a different answer.
        """
        by_name = {snapshot_name(s): s for s in sources.values()}
        for conjunct in bounds:
            subquery = next(side for side in (conjunct.this, conjunct.expression) if isinstance(side, exp.Subquery))
            # In place: the final swap would put the same relations there.
            resolved = subquery.transform(_swapper(replacements), copy=False)
            tables = [t.name for t in resolved.find_all(exp.Table)]
            if any(name not in by_name for name in tables):
                continue
            try:
                self.load([by_name[name] for name in dict.fromkeys(tables)])
                rows = self.evaluate(f"SELECT {resolved.sql(dialect=athena_sql.WRITE_DIALECT)}")
            except Exception:  # pruning is an optimisation: when in doubt, read everything
                continue
            literal = _literal(rows[0][0] if rows else None)
            if literal is None:
                continue
            bound = conjunct.copy()
            for side in (bound.this, bound.expression):
                if isinstance(side, exp.Subquery):
                    side.replace(literal)
            self._prune_by(source, bound)

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
        condition = self._partition_condition(table, alias, source)
        if condition is not None:
            self._prune_by(source, condition)

    def _kept(self, table: exp.Table, alias: str, source: TableSource,
              candidates: list[tuple[tuple[str, str], ...]]) -> list[tuple[tuple[str, str], ...]] | None:
        """Of a projected table's partitions, those the query's WHERE keeps (None: no filter, or in doubt)."""
        if self.evaluate is None:
            return None
        condition = self._partition_condition(table, alias, source)
        if condition is None:
            return None
        # A filter of literals only (the dashboard's `dt >= '2026-12-06'`) keeps the same partitions
        # of the same candidates every time: remembered. Anything that may vary (current_date, …) is not.
        key = None
        if not any(isinstance(node, exp.Func) and not isinstance(node, (exp.Cast, exp.TryCast))
                   for node in condition.walk()):
            key = (condition.sql(athena_sql.WRITE_DIALECT), tuple(source.partition_keys), tuple(candidates))
            known = KEPT_PARTITIONS.get(key)
            if known is not None:
                return list(known)
        wanted = self._surviving(source, condition, candidates)
        if wanted is None:
            return None
        kept = [c for c in candidates if c in wanted]
        if key is not None:
            KEPT_PARTITIONS.put(key, tuple(kept))
        return kept

    def _partition_condition(self, table: exp.Table, alias: str, source: TableSource) -> exp.Expression | None:
        """The WHERE conjuncts over `table`'s partition keys only, ANDed (see _prune); None if there are none."""
        select = table.parent_select
        where = select.args.get("where") if select is not None else None
        if where is None:
            return None
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
            return None
        return exp.and_(*[c.copy() for c in kept])

    def _prune_by(self, source: TableSource, condition: exp.Expression) -> None:
        """Keep only `source`'s objects in partitions for which `condition` (over partition keys) holds."""
        wanted = self._surviving(source, condition, sorted({o.partition for o in source.objects}))
        if wanted is not None:
            source.objects = [o for o in source.objects if tuple((k, v) for k, v in o.partition) in wanted]

    def _surviving(self, source: TableSource, condition: exp.Expression,
                   candidates: list[tuple[tuple[str, str], ...]]) -> set[tuple[tuple[str, str], ...]] | None:
        """The partitions among `candidates` for which `condition` holds; None if it cannot be evaluated."""
        if not candidates:
            return set()
        types = dict(source.partition_keys)
        predicate = condition.transform(
            lambda n: exp.column(n.name.lower(), table="p") if isinstance(n, exp.Column) else n)
        # Each row also carries its candidate's position, so a value that reads back in another
        # spelling (an integer key "01") still names its partition. Handed over as Arrow: a
        # projection can have a thousand partitions, and this runs for every query.
        keys = keys_in_order(source)
        candidate_table = pa.table({**{f"raw_{i}": [dict(part)[k] for part in candidates] for i, k in enumerate(keys)},
                                    "__candidate": list(range(len(candidates)))})
        typed = ", ".join(
            f"CAST(raw_{i} AS {exp.DataType.build(types[k], dialect='hive').sql(athena_sql.WRITE_DIALECT)}) AS "
            f"{exp.to_identifier(k).sql(athena_sql.WRITE_DIALECT)}" for i, k in enumerate(keys))
        sql = (f"SELECT __candidate FROM (SELECT {typed}, __candidate FROM __partition_candidates) AS p "
               f"WHERE {predicate.sql(athena_sql.WRITE_DIALECT)}")
        try:
            rows = self.evaluate(sql, {"__partition_candidates": candidate_table})
        except Exception:  # pruning is an optimisation: when in doubt, read everything
            return None
        return {tuple(candidates[int(row[0])]) for row in rows}


def _refuse_char_columns(source: TableSource) -> None:
    """A char(n) column the query reads: NOT_SUPPORTED (Trino pads its values and compares them padded)."""
    for name, hive_type in source.columns + source.partition_keys:
        if hive_type.split("(", 1)[0].strip() == "char" and (
                source.needed_columns is None or name in source.needed_columns):
            raise QueryFailed("NOT_SUPPORTED", f"Column '{name}' of type {hive_type}, whose values Athena pads with "
                              "spaces, is not supported by the local Athena engine")


def _swapper(replacements: dict[int, exp.Expression]) -> Any:
    """The transform putting resolved relations in place of the catalog tables they replace."""
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and id(node) in replacements:
            return replacements[id(node)]
        if isinstance(node, exp.Column) and node.args.get("db") is not None:
            # `db.table.column`: the table is now known by its alias alone.
            node = node.copy()
            node.set("db", None)
            node.set("catalog", None)
        return node
    return swap


def _uncorrelated(subquery: exp.Subquery) -> bool:
    """A subquery whose every qualified column names one of its own tables or aliases (a scalar subquery
    over its own FROM); unqualified columns are taken as its own, as Trino resolves them innermost first."""
    own = {t.alias_or_name.lower() for t in subquery.find_all(exp.Table)}
    own |= {s.alias.lower() for s in subquery.find_all(exp.Subquery) if s.alias}
    return all(not c.table or c.table.lower() in own for c in subquery.find_all(exp.Column))


def _literal(value: Any) -> exp.Expression | None:
    """A scalar subquery's value as a literal to prune with; None for NULL or a kind not handled here."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    return None


def referenced_names(tree: exp.Expression) -> frozenset[str] | None:
    """Every name the query uses (lower case), as a superset of the columns it reads; None for `*`.

    Any identifier counts, whatever it names (a column of another table, an alias, a
    struct field), so a column is never left out; `count(*)` reads no column, any other
    star (`SELECT *`, `t.*`) reads them all.
    """
    for star in tree.find_all(exp.Star):
        if not isinstance(star.parent, exp.Count):
            return None
    names = {node.name.lower() for node in tree.find_all(exp.Identifier, exp.Var)}
    return frozenset(names)


def keys_in_order(source: TableSource) -> list[str]:
    return [k for k, _ in source.partition_keys]


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
