"""Which statements are Iceberg statements: classify them as `Statement`s before the generic rules refuse them.

Athena runs UPDATE, DELETE, MERGE INTO, OPTIMIZE, VACUUM, ALTER TABLE … SET
TBLPROPERTIES and CREATE TABLE … TBLPROPERTIES ('table_type'='ICEBERG') only
on Iceberg tables; sql.parse asks `iceberg_statement` first, so these reach
the Iceberg runner (iceberg_runner.py), which checks the target really is an
Iceberg table and refuses with Athena's error otherwise. VACUUM is also a
DuckDB keyword: it never reaches DuckDB, only `IcebergTables.vacuum`.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.sql import READ_DIALECT, Statement, unquote

_NAME = r"(`[^`]+`|\"[^\"]+\"|[\w$]+)"
_QNAME = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
_OPTIMIZE = re.compile(rf"^OPTIMIZE\s+{_QNAME}\s+REWRITE\s+DATA\s+USING\s+BIN_PACK(?:\s+WHERE\s+(.+))?$", re.I | re.S)
_VACUUM = re.compile(rf"^VACUUM\s+{_QNAME}$", re.I)

# Athena's StatementType / SubstatementType for each kind.
KINDS = {
    "create_iceberg_table": ("DDL", "CREATE_TABLE"),
    "alter_table_set_properties": ("DDL", "ALTER_TABLE_SET_PROPERTIES"),
    "update": ("DML", "UPDATE"),
    "delete": ("DML", "DELETE"),
    "merge": ("DML", "MERGE"),
    "optimize": ("DML", "OPTIMIZE"),
    "vacuum": ("DML", "VACUUM"),
}


def _statement(kind: str, text: str, tree: exp.Expression | None, **args: object) -> Statement:
    statement_type, substatement_type = KINDS[kind]
    return Statement(kind, text, tree, {"statement_type": statement_type, "substatement_type": substatement_type,
                                        **args})


def _parse_one(text: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(text, read=READ_DIALECT, error_level=sqlglot.ErrorLevel.RAISE)
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise QueryFailed("SYNTAX_ERROR", f"mismatched input '{err.get('highlight') or '<EOF>'}'",
                          err.get("line") or 1, err.get("col") or 1) from None
    except TokenError as exc:
        raise QueryFailed("SYNTAX_ERROR", f"token recognition error: {exc}", 1, 1) from None


def parse_expression(text: str) -> exp.Expression:
    """One Athena expression (OPTIMIZE's WHERE), parsed as the statements are."""
    tree = _parse_one(f"SELECT 1 WHERE {text}")
    return tree.args["where"].this


def iceberg_statement(text: str, words: list[str]) -> Statement | None:
    """The Iceberg-only statement `text` is, or None when it is not one of them."""
    head = words[0].upper()
    flat = " ".join(words)
    if head == "OPTIMIZE":
        m = _OPTIMIZE.match(flat)
        if not m:
            raise QueryFailed("SYNTAX_ERROR", "mismatched input. Expecting: OPTIMIZE table REWRITE DATA USING "
                              "BIN_PACK [WHERE predicate]", 1, 1)
        return _statement("optimize", text, None, groups=[unquote(m.group(1)), unquote(m.group(2))],
                          where=m.group(3))
    if head == "VACUUM":
        m = _VACUUM.match(flat)
        if not m:
            raise QueryFailed("SYNTAX_ERROR", "mismatched input. Expecting: VACUUM table", 1, 1)
        return _statement("vacuum", text, None, groups=[unquote(m.group(1)), unquote(m.group(2))])
    if head in ("UPDATE", "DELETE", "MERGE"):
        tree = _parse_one(text)
        if isinstance(tree, (exp.Update, exp.Delete, exp.Merge)):
            return _statement(type(tree).__name__.lower(), text, tree)
        return None
    if head == "ALTER" and re.search(r"\bSET\s+TBLPROPERTIES\b", flat, re.I):
        tree = _parse_one(text)
        actions = tree.args.get("actions") or [] if isinstance(tree, exp.Alter) else []
        if len(actions) == 1 and isinstance(actions[0], exp.AlterSet):
            properties = actions[0].find(exp.Properties)
            if properties is not None:
                return _statement("alter_table_set_properties", text, tree, properties=_properties(properties))
    return None


def is_iceberg_create(tree: exp.Create) -> bool:
    properties = tree.args.get("properties")
    return properties is not None and _properties(properties).get("table_type", "").upper() == "ICEBERG"


def create_statement(text: str, tree: exp.Create) -> Statement:
    """CREATE TABLE … TBLPROPERTIES ('table_type'='ICEBERG'): columns, partitioning, location, properties."""
    properties = tree.args["properties"]
    if properties.find(exp.ExternalProperty):
        # Athena's own words (querying-iceberg-creating-tables).
        raise QueryFailed("NOT_SUPPORTED", "External keyword not supported for table type ICEBERG")
    location = properties.find(exp.LocationProperty)
    partitioned = properties.find(exp.PartitionedByProperty)
    transforms = [_transform(node) for node in partitioned.this.expressions] if partitioned is not None else []
    schema = tree.this
    columns = [(c.name.lower(), re.sub(r",\s+", ",", c.args["kind"].sql(dialect="hive").lower()))
               for c in schema.expressions if isinstance(c, exp.ColumnDef)]
    return _statement("create_iceberg_table", text, tree, columns=columns, partitioned_by=transforms,
                      location=location.this.name if location is not None else None,
                      properties=_properties(properties), exists=bool(tree.args.get("exists")))


def _properties(properties: exp.Expression) -> dict[str, str]:
    """TBLPROPERTIES ('k'='v', …) as a dict; keys lower-cased as Athena stores them."""
    found = {}
    for prop in properties.expressions:
        if type(prop) is exp.Property:
            key = prop.this.name if isinstance(prop.this, exp.Literal) else prop.name
            value = prop.args.get("value")
            found[key.lower()] = value.name if isinstance(value, exp.Literal) else (value.sql() if value else "")
    return found


def _transform(node: exp.Expression) -> str:
    """A PARTITIONED BY entry as Trino writes it: `col`, `day(col)`, `bucket(n, col)`, `truncate(n, col)`."""
    if isinstance(node, (exp.Identifier, exp.Column)):
        return node.name.lower()
    if isinstance(node, exp.PartitionedByBucket):
        return f"bucket({node.expression.name}, {node.this.name.lower()})"
    if isinstance(node, exp.PartitionByTruncate):
        return f"truncate({node.expression.name}, {node.this.name.lower()})"
    for kind, name in ((exp.Year, "year"), (exp.Month, "month"), (exp.Day, "day")):
        if isinstance(node, kind):
            column = node.find(exp.Column)
            return f"{name}({column.name.lower()})"
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hour":
        return f"hour({node.expressions[0].name.lower()})"
    if isinstance(node, exp.Hour):
        return f"hour({node.find(exp.Column).name.lower()})"
    raise QueryFailed("NOT_SUPPORTED", f"Partition transform {node.sql(dialect='trino')} is not supported by the "
                      "local Athena engine")
