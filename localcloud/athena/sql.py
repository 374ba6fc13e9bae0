"""Athena SQL in, DuckDB SQL out: parse (sqlglot, Trino dialect), classify, police, translate.

Security is an allow-list: a statement must be one of the kinds Athena runs
here (SELECT/WITH/VALUES, SHOW, DESCRIBE, CREATE/DROP VIEW, CREATE EXTERNAL
TABLE, DROP TABLE); a table reference must name a catalog table (checked by
the planner); a function must be a known Trino function. Anything that would
reach files, the network or the engine is refused with ACCESS_DENIED before
DuckDB sees it — and DuckDB itself runs with external access disabled, so a
gap here still cannot read a file (see engine.py).

Where sqlglot's Trino -> DuckDB translation is wrong, we translate ourselves
(Joda patterns, printf-style `format`) or refuse with NOT_SUPPORTED (weighted
approx_percentile, AT TIME ZONE other than UTC) — never a silently wrong answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from localcloud.athena.exceptions import QueryFailed
from localcloud.caches import BoundedCache
from localcloud.athena.column_lengths import LENGTH_META
from localcloud.athena.functions import ANSWERED, CONSTRUCTS, is_trino_function, trino_name
from localcloud.athena import json_values

READ_DIALECT = "athena"
WRITE_DIALECT = "duckdb"

# Statements that reach the engine, the filesystem or the network: refused outright.
_ENGINE_KEYWORDS = {
    "ATTACH", "DETACH", "COPY", "EXPORT", "IMPORT", "INSTALL", "LOAD", "FORCE", "SET", "RESET",
    "PRAGMA", "CALL", "USE", "CHECKPOINT", "VACUUM", "UPDATE EXTENSIONS", "SECRET", "CREATE SECRET",
    "CREATE MACRO", "CREATE FUNCTION", "CREATE TEMP", "CREATE TEMPORARY", "CREATE PERSISTENT",
}
# Statements Athena runs that this engine does not implement.
_UNSUPPORTED_KEYWORDS = {
    "UPDATE", "DELETE", "MERGE", "ALTER", "OPTIMIZE", "PREPARE", "EXECUTE",
    "DEALLOCATE", "EXPLAIN",
}

# Functions that reach files, the network or the engine's own state (DuckDB names).
DENIED_FUNCTIONS = {
    "read_csv", "read_csv_auto", "read_json", "read_json_auto", "read_json_objects",
    "read_json_objects_auto", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects", "read_parquet",
    "parquet_scan", "parquet_metadata", "parquet_schema", "parquet_file_metadata", "parquet_kv_metadata",
    "read_text", "read_blob", "glob", "sniff_csv", "getenv", "current_setting", "duckdb_settings",
    "duckdb_extensions", "duckdb_secrets", "which_secret", "query", "query_table", "iceberg_scan",
    "delta_scan", "sqlite_scan", "postgres_scan", "mysql_scan", "load_aws_credentials",
    "duckdb_databases", "duckdb_tables", "duckdb_views", "duckdb_columns", "duckdb_functions",
    "pragma_table_info", "pragma_storage_info", "pragma_database_size",
    "read_xlsx", "read_csv_objects", "httpfs", "set_variable", "getvariable", "current_database",
    "current_schema", "current_schemas", "checkpoint", "force_checkpoint", "enable_profiling",
    "file_read", "csv_scan", "json_scan", "read_avro", "sql_auto_complete", "summary", "range_files",
}

# Trino functions sqlglot leaves as anonymous calls that DuckDB runs with the same name and meaning.
PASSTHROUGH_FUNCTIONS = {
    "split_part", "levenshtein_distance", "greatest", "least", "reverse", "ltrim", "rtrim", "trim",
    "lower", "upper", "replace", "abs", "ceil", "ceiling", "floor", "sqrt", "cbrt", "exp", "ln", "log2",
    "log10", "sign", "degrees", "radians", "pi", "mod", "power", "pow", "typeof", "array_distinct",
    "array_max", "array_min", "array_position", "array_sort", "array_remove", "array_intersect",
    "flatten", "starts_with", "ends_with", "chr", "codepoint", "bit_count", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "hamming_distance", "normalize", "nullif", "coalesce",
    "if", "year", "month", "day", "hour", "minute", "second", "quarter", "week", "day_of_month",
    "day_of_year", "doy", "dow", "year_of_week", "yow", "last_day_of_month", "to_hex", "from_hex",
    "md5", "sha1", "sha256", "crc32", "url_extract_host", "map_keys", "map_values", "map_entries",
    "cosine_similarity", "sequence", "now", "current_timestamp", "localtimestamp", "is_nan",
    "is_finite", "is_infinite", "nan", "infinity", "rand", "random", "uuid", "width_bucket",
    "regexp_split", "array_agg", "bool_and", "bool_or", "every", "any_value", "checksum", "geometric_mean",
    "kurtosis", "skewness", "corr", "covar_pop", "covar_samp", "regr_slope", "regr_intercept",
    "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "histogram",
    "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "row_number", "lag", "lead",
    "first_value", "last_value", "nth_value", "truncate", "date", "length", "strpos", "lpad", "rpad",
    "concat_ws", "translate", "soundex", "to_base64", "from_base64", "json_format", "json_parse",
    "json_array_length", "json_array_contains", "json_size", "day_of_week", "millisecond",
    "timezone_hour", "timezone_minute", "from_utf8", "to_utf8", "array_join", "zip", "slice",
    "to_iso8601",
}

# Trino functions that have no faithful DuckDB equivalent here.
NOT_SUPPORTED_FUNCTIONS = {
    "with_timezone": "with_timezone (time zones other than UTC are not supported by the local engine)",
    "at_timezone": "at_timezone (time zones other than UTC are not supported by the local engine)",
    "tdigest_agg": "tdigest_agg", "qdigest_agg": "qdigest_agg", "approx_set": "approx_set",
    "merge": "merge (HyperLogLog)", "numeric_histogram": "numeric_histogram",
    "reduce": "reduce", "transform_keys": "transform_keys", "transform_values": "transform_values",
}


# -- statement kinds ---------------------------------------------------------
@dataclass
class Statement:
    """What the planner needs to know about one statement."""

    kind: str  # query | create_view | drop_view | create_table | drop_table | show_* | describe | msck
    text: str
    tree: exp.Expression | None = None
    args: dict[str, object] = field(default_factory=dict)

    @property
    def statement_type(self) -> str:
        """Athena's StatementType."""
        if "statement_type" in self.args:  # Iceberg statements carry theirs (iceberg_statements.KINDS)
            return str(self.args["statement_type"])
        if self.kind in ("query", "insert", "unload"):
            return "DML"
        if self.kind.startswith(("show", "describe")):
            return "UTILITY"
        return "DDL"

    @property
    def substatement_type(self) -> str:
        if "substatement_type" in self.args:
            return str(self.args["substatement_type"])
        return {
            "query": "SELECT", "create_view": "CREATE_VIEW", "drop_view": "DROP_VIEW",
            "create_table": "CREATE_TABLE", "drop_table": "DROP_TABLE", "show_tables": "SHOW_TABLES",
            "show_databases": "SHOW_SCHEMAS", "show_partitions": "SHOW_PARTITIONS",
            "describe": "DESCRIBE_TABLE", "show_create_table": "SHOW_CREATE_TABLE",
            "show_views": "SHOW_VIEWS", "show_columns": "SHOW_COLUMNS", "msck": "MSCK_REPAIR_TABLE",
            "alter_add_partition": "ALTER_TABLE_ADD_PARTITION", "alter_drop_partition": "ALTER_TABLE_DROP_PARTITION",
            "create_database": "CREATE_DATABASE", "drop_database": "DROP_DATABASE",
            "ctas": "CREATE_TABLE_AS_SELECT", "insert": "INSERT", "unload": "UNLOAD",
        }.get(self.kind, self.kind.upper())


_COMMENTS = re.compile(r"(--[^\n]*)|(/\*.*?\*/)", re.S)
_NAME = r"(`[^`]+`|\"[^\"]+\"|[\w$]+)"
_QNAME = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
_UTILITY = [
    ("show_tables", re.compile(rf"^SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+{_NAME})?(?:\s+(?:LIKE\s+)?'([^']*)')?$", re.I)),
    ("show_views", re.compile(rf"^SHOW\s+VIEWS(?:\s+(?:IN|FROM)\s+{_NAME})?(?:\s+LIKE\s+'([^']*)')?$", re.I)),
    ("show_databases", re.compile(r"^SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+(?:LIKE\s+)?'([^']*)')?$", re.I)),
    ("show_partitions", re.compile(rf"^SHOW\s+PARTITIONS\s+{_QNAME}$", re.I)),
    ("show_create_table", re.compile(rf"^SHOW\s+CREATE\s+(?:TABLE|VIEW)\s+{_QNAME}$", re.I)),
    ("show_columns", re.compile(rf"^SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{_QNAME}$", re.I)),
    ("describe", re.compile(rf"^(?:DESCRIBE|DESC)(?:\s+(?:FORMATTED|EXTENDED))?\s+{_QNAME}$", re.I)),
    ("msck", re.compile(rf"^MSCK\s+REPAIR\s+TABLE\s+{_QNAME}$", re.I)),
]


_ALTER_PARTITION = re.compile(
    rf"^ALTER\s+TABLE\s+{_QNAME}\s+(ADD|DROP)\s+(IF\s+(?:NOT\s+)?EXISTS\s+)?(PARTITION\s*\(.*)$", re.I | re.S)
_PARTITION_SPEC = re.compile(r"PARTITION\s*\(([^)]*)\)(?:\s*LOCATION\s+'([^']*)')?\s*,?\s*", re.I)


def _partition_spec(text: str) -> dict[str, str]:
    spec = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise QueryFailed("SYNTAX_ERROR", f"mismatched input '{item.strip()}'. Expecting: '='")
        spec[key.strip().strip('`"').lower()] = value.strip().strip("'")
    return spec


def unquote(name: str | None) -> str | None:
    if name is None:
        return None
    if name[:1] in "`\"" and name[-1:] == name[:1]:
        return name[1:-1]
    return name.lower()


def position(text: str, offset: int) -> tuple[int, int]:
    """0-based character offset -> Athena's 1-based (line, column)."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def node_position(node: exp.Expression, text: str) -> tuple[int, int]:
    """Where a parsed node starts in the original text (line 1:1 when unknown)."""
    starts = [
        n.meta["start"] for n in node.walk() if isinstance(n, exp.Expression) and "start" in n.meta
    ]
    return position(text, min(starts)) if starts else (1, 1)


def parse(sql: str) -> Statement:
    """One Athena statement -> Statement, or QueryFailed (SYNTAX_ERROR, ACCESS_DENIED, NOT_SUPPORTED)."""
    text = sql.strip().rstrip(";").strip()
    bare = _COMMENTS.sub(" ", text).strip()
    words = bare.split()
    if not words:
        raise QueryFailed("SYNTAX_ERROR", "mismatched input '<EOF>'. Expecting: 'SELECT', 'WITH', …", 1, 1)
    head1 = words[0].upper()
    head2 = " ".join(words[:2]).upper()
    lead = len(text) - len(text.lstrip())
    from localcloud.athena.iceberg_statements import create_statement, iceberg_statement, is_iceberg_create

    # Iceberg's statements first: VACUUM is also an engine keyword, UPDATE/DELETE/MERGE are refused below.
    routed = iceberg_statement(text, words)
    if routed is not None:
        return routed
    if head1 in _ENGINE_KEYWORDS or head2 in _ENGINE_KEYWORDS:
        raise QueryFailed(
            "ACCESS_DENIED",
            f"Access Denied: {head1} statements reach the query engine itself and are not allowed; "
            "queries may read only tables of the data catalog",
            *position(text, lead),
        )
    m = _ALTER_PARTITION.match(" ".join(words))
    if m:
        specs = [(_partition_spec(spec), location) for spec, location in _PARTITION_SPEC.findall(m.group(5))]
        if not specs:
            raise QueryFailed("SYNTAX_ERROR", "mismatched input '<EOF>'. Expecting: 'PARTITION'", 1, len(text))
        return Statement(f"alter_{m.group(3).lower()}_partition", text, None, {
            "groups": [unquote(m.group(1)), unquote(m.group(2))], "if": bool(m.group(4)), "specs": specs})
    if head2 in _UNSUPPORTED_KEYWORDS or head1 in _UNSUPPORTED_KEYWORDS:
        keyword = head2 if head2 in _UNSUPPORTED_KEYWORDS else head1
        raise QueryFailed("NOT_SUPPORTED", f"{keyword} is not supported by the local Athena engine",
                          *position(text, lead))
    if head1 == "UNLOAD":
        return _unload(text)
    for kind, pattern in _UTILITY:
        m = pattern.match(" ".join(words))
        if m:
            groups = list(m.groups())
            if kind in ("show_tables", "show_views", "show_databases"):  # the LIKE pattern keeps its case
                groups = [unquote(g) for g in groups[:-1]] + [groups[-1]]
            else:
                groups = [unquote(g) for g in groups]
            return Statement(kind, text, None, {"groups": groups})
    tree = _parsed(text)
    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "").upper()
        if kind == "VIEW":
            return Statement("create_view", text, tree)
        if kind == "TABLE" and not tree.expression and is_iceberg_create(tree):
            return create_statement(text, tree)
        if kind == "TABLE" and tree.find(exp.ExternalProperty) and not tree.expression:
            return Statement("create_table", text, tree)
        if kind == "TABLE" and isinstance(tree.expression, (exp.Select, exp.SetOperation, exp.Subquery)):
            return Statement("ctas", text, tree)
        if kind == "TABLE":
            raise QueryFailed("NOT_SUPPORTED", "Managed tables are not supported by the local Athena engine; use "
                              "CREATE EXTERNAL TABLE or CREATE TABLE AS SELECT", 1, 1)
        if kind in ("DATABASE", "SCHEMA"):
            return Statement("create_database", text, tree)
        raise QueryFailed("NOT_SUPPORTED", f"CREATE {kind} is not supported by the local Athena engine", 1, 1)
    if isinstance(tree, exp.Drop):
        kind = str(tree.args.get("kind") or "").upper()
        if kind in ("VIEW", "TABLE"):
            return Statement(f"drop_{kind.lower()}", text, tree)
        if kind in ("DATABASE", "SCHEMA"):
            return Statement("drop_database", text, tree)
        raise QueryFailed("NOT_SUPPORTED", f"DROP {kind} is not supported by the local Athena engine", 1, 1)
    if isinstance(tree, exp.Describe):
        return Statement("describe", text, tree, {"groups": [None, None]})
    if isinstance(tree, (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)):
        return Statement("query", text, tree)
    if isinstance(tree, exp.Insert) and isinstance(tree.expression, (exp.Select, exp.SetOperation, exp.Subquery,
                                                                     exp.Values)):
        return Statement("insert", text, tree)
    if isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
        raise QueryFailed("NOT_SUPPORTED", f"{type(tree).__name__.upper()} is not supported by the local "
                          "Athena engine", 1, 1)
    raise QueryFailed("ACCESS_DENIED", "Access Denied: only SELECT, SHOW, DESCRIBE, CREATE/DROP VIEW, "
                      "CREATE EXTERNAL TABLE and DROP TABLE statements are allowed", 1, 1)


# PARSED: sqlglot's tree of each statement text already parsed. A dashboard sends the same
# texts every few seconds, and parsing one of its merge-on-read queries costs about 2 ms;
# callers change the tree they get, so each gets its own copy. Syntax errors are not kept.
PARSED = BoundedCache()


def _parsed(text: str) -> exp.Expression:
    """The one statement `text` holds, parsed (a copy of the kept tree when `text` was parsed before)."""
    known = PARSED.get(text)
    if known is not None:
        return known.copy()
    try:
        trees = sqlglot.parse(text, read=READ_DIALECT, error_level=sqlglot.ErrorLevel.RAISE)
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        token = err.get("highlight") or ""
        line, end_col = err.get("line") or 1, err.get("col") or 1
        col = max(1, end_col - len(token) + 1)
        raise QueryFailed("SYNTAX_ERROR", f"mismatched input '{token or '<EOF>'}'. "
                          f"{_clean(err.get('description', 'syntax error'))}", line, col) from None
    except TokenError as exc:
        raise QueryFailed("SYNTAX_ERROR", f"token recognition error: {exc}", 1, 1) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise QueryFailed("SYNTAX_ERROR", "Only one sql statement is allowed. Got: " + str(len(trees)), 1, 1)
    PARSED.put(text, trees[0].copy())
    return trees[0]


def _unload(text: str) -> Statement:
    """UNLOAD (query) TO 's3://…' WITH (…): the query parsed, the location and properties kept as args."""
    from localcloud.athena.writes import parse_unload, properties

    parts = parse_unload(text)
    if parts is None:
        raise QueryFailed("SYNTAX_ERROR", "mismatched input. Expecting: UNLOAD (query) TO 's3://…' WITH (…)", 1, 1)
    query_text, location, props_text = parts
    inner = parse(query_text)
    if inner.kind != "query":
        raise QueryFailed("SYNTAX_ERROR", "UNLOAD takes a SELECT query", 1, 1)
    props = exp.Properties(expressions=[])
    if props_text:
        try:
            carrier = sqlglot.parse_one(f"CREATE TABLE t WITH ({props_text}) AS SELECT 1", read=READ_DIALECT)
        except (ParseError, TokenError):
            raise QueryFailed("SYNTAX_ERROR", f"mismatched input in UNLOAD properties: {props_text}", 1, 1) from None
        props = carrier.args.get("properties") or props
    return Statement("unload", text, inner.tree, {"location": location, "properties": properties(props),
                                                   "query_text": inner.text})


def _clean(description: str) -> str:
    # sqlglot describes tokens as Python reprs; keep the readable part.
    return re.sub(r"<Token token_type: TokenType\.(\w+).*?>", r"\1", description)


# -- policing and translating a query ----------------------------------------
def cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def catalog_tables(tree: exp.Expression) -> list[exp.Table]:
    """Every table reference that must resolve in the catalog (CTE references excluded)."""
    ctes = cte_names(tree)
    tables = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function: police() refuses it
        if not table.db and table.name.lower() in ctes:
            continue
        tables.append(table)
    return tables


def police(tree: exp.Expression, text: str) -> None:
    """Refuse table functions, engine functions and non-query nodes anywhere in a query."""
    for node in tree.walk():
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            name = _function_name(node.this) if isinstance(node.this, exp.Func) else node.this.sql()
            raise QueryFailed("ACCESS_DENIED", f"Access Denied: Cannot read from '{name}': queries may read only "
                              "tables of the data catalog", *node_position(node, text))
        if isinstance(node, (exp.Insert, exp.Create, exp.Drop, exp.Copy, exp.Pragma, exp.Set, exp.Command,
                             exp.Use, exp.Attach, exp.Detach)):
            raise QueryFailed("ACCESS_DENIED", f"Access Denied: {type(node).__name__.upper()} is not allowed "
                              "inside a query", *node_position(node, text))
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name in DENIED_FUNCTIONS or type(node).__name__.lower().startswith("read"):
                raise QueryFailed("ACCESS_DENIED", f"Access Denied: Cannot execute function {name}: it reaches "
                                  "files, the network or the engine", *node_position(node, text))
            if name in NOT_SUPPORTED_FUNCTIONS:
                raise QueryFailed("NOT_SUPPORTED", f"{NOT_SUPPORTED_FUNCTIONS[name]} is not supported by "
                                  "the local Athena engine", *node_position(node, text))
            trino = trino_name(node)
            written = _written_alias(node, text, trino)
            if written is not None:
                # sqlglot reads other dialects' names for a Trino function (isnan, ifnull, nvl, len,
                # array_length, char_length…); Trino knows only its own, so Athena answers with its error.
                raise QueryFailed("FUNCTION_NOT_FOUND", f"Function '{written}' not registered",
                                  *node_position(node, text))
            if trino is None or trino in CONSTRUCTS or trino in ANSWERED:
                continue
            if is_trino_function(trino):
                # Athena answers these; the refusal is the local engine's own, so the words are ours
                # (NOT_SUPPORTED is Trino's code for what an engine does not do).
                raise QueryFailed("NOT_SUPPORTED", f"Function '{trino}' is not supported by the local Athena "
                                  "engine", *node_position(node, text))
            # Athena's words for a name Trino does not know, e.g. "FUNCTION_NOT_FOUND: line 1:8: Function
            # 'date_diff2' not registered" (an Athena client's error fixtures, found with the code search).
            raise QueryFailed("FUNCTION_NOT_FOUND", f"Function '{trino}' not registered",
                              *node_position(node, text))


_CALLED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _written_alias(node: exp.Func, text: str, trino: str | None) -> str | None:
    """The name the query wrote for `node` when it is no Trino function (sqlglot took it as an alias).

    The node's position (meta start/end) names the called word in `text`; a position from another
    text (an inlined view's) is recognised by the word not reading back as this node's kind.
    """
    if isinstance(node, exp.Anonymous) or trino is None:
        return None
    start, end = node.meta.get("start"), node.meta.get("end")
    if start is None or end is None:
        return None
    word = text[start:end + 1]
    if not _CALLED_NAME.fullmatch(word) or not text[end + 1:].lstrip().startswith("("):
        return None
    written = word.lower()
    if written == trino or is_trino_function(written) or written in CONSTRUCTS:
        return None
    for arguments in ("x", "x, y", "x, y, z"):  # the alias may need its arity to parse as this kind
        try:
            if type(sqlglot.parse_one(f"{word}({arguments})", read=READ_DIALECT)) is type(node):
                return written
        except (ParseError, TokenError):
            continue
    return None


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower()


# Joda-Time pattern letters -> strftime, for format_datetime / parse_datetime.
_JODA = {
    "yyyy": "%Y", "yyy": "%Y", "y": "%Y", "yy": "%y", "YYYY": "%G", "xxxx": "%G",
    "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%-m",
    "dd": "%d", "d": "%-d", "DDD": "%j",
    "HH": "%H", "H": "%-H", "hh": "%I", "h": "%-I", "kk": "%H",
    "mm": "%M", "m": "%-M", "ss": "%S", "s": "%-S",
    "SSS": "%g", "SSSSSS": "%f", "SSSSSSSSS": "%n",
    "a": "%p", "EEEE": "%A", "EEE": "%a", "EE": "%a", "E": "%a",
    "ww": "%V", "w": "%V",
}


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern -> strftime, or ValueError naming what cannot be translated."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end == i + 1:  # '' is a literal quote
                out.append("'")
                i += 2
                continue
            if end < 0:
                raise ValueError("unterminated quote")
            out.append(pattern[i + 1:end].replace("%", "%%"))
            i = end + 1
            continue
        if ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            run = pattern[i:j]
            if run not in _JODA:
                raise ValueError(f"pattern letters '{run}'")
            out.append(_JODA[run])
            i = j
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


# One printf specifier (Java's Formatter and C's share this form); typed.py reads format's arguments by it.
PRINTF_SPEC = re.compile(r"%(?P<flags>[-+ 0]*)(?P<width>\d+)?(?:\.(?P<prec>\d+))?(?P<conv>[a-zA-Z%])")


def _check_printf(fmt: str) -> None:
    """Java's Formatter and C printf agree on %s %d %f %x %o %e %% with - + space 0 flags only."""
    for m in re.finditer(r"%[^a-zA-Z%]*[a-zA-Z%]?", fmt):
        spec = PRINTF_SPEC.fullmatch(m.group(0))
        if not spec or spec.group("conv") not in "sdfxXoeE%":
            raise ValueError(f"format specifier '{m.group(0)}'")


def _literal(node: exp.Expression | None) -> str | None:
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


def _unsupported(node: exp.Expression, text: str, what: str) -> QueryFailed:
    return QueryFailed("NOT_SUPPORTED", f"{what} is not supported by the local Athena engine",
                       *node_position(node, text))


def _format_datetime(node: exp.Anonymous, text: str) -> exp.Expression:
    args = node.expressions
    fmt = _strftime_pattern(node, text, "format_datetime", args[1] if len(args) == 2 else None)
    return exp.Anonymous(this="strftime", expressions=[args[0], exp.Literal.string(fmt)])


def _strftime_pattern(node: exp.Expression, text: str, function: str, pattern_node: exp.Expression | None) -> str:
    """The strftime pattern for a Joda pattern literal of format_datetime/parse_datetime; NOT_SUPPORTED otherwise."""
    pattern = _literal(pattern_node)
    if pattern is None:
        raise _unsupported(node, text, f"{function} with a non-literal pattern")
    try:
        return joda_to_strftime(pattern)
    except ValueError as exc:
        raise _unsupported(node, text, f"{function} {exc}") from None


_TRANSLATED = {"format_datetime"}


def _is_date(node: exp.Expression) -> bool:
    from sqlglot.optimizer.annotate_types import annotate_types

    try:
        annotated = annotate_types(node.copy(), dialect=READ_DIALECT)
    except Exception:  # annotation is best effort; unknown stays as DuckDB computes it
        return False
    return annotated.type is not None and annotated.type.this == exp.DataType.Type.DATE


def _call(name: str, *args: exp.Expression) -> exp.Anonymous:
    """A DuckDB function call by name, marked so that no later rewrite takes it for a Trino call."""
    call = exp.Anonymous(this=name, expressions=[a.copy() for a in args])
    call.meta["duckdb"] = True
    return call


def refuse_at_run_time(code: str, message: str) -> exp.Expression:
    """DuckDB's error(), which errors.engine_error reads back as QueryFailed(code, message)."""
    from localcloud.athena.errors import athena_error

    return _call("error", exp.Literal.string(athena_error(code, message)))


def fail_at_run_time(code: str, message: str, value_type: str = "VARCHAR") -> exp.Expression:
    """A failure Trino raises at run time (INVALID_FUNCTION_ARGUMENT, …), as a DuckDB cast that fails.

    A failed cast, unlike error(), is caught by TRY(), exactly as Trino's try() catches these
    errors; errors.engine_error reads the marked text back as QueryFailed(code, message).
    """
    from localcloud.athena.errors import athena_error

    failing = exp.Cast(this=exp.Literal.string(athena_error(code, message) + "\u2400"),
                       to=exp.DataType.build("INT"))
    return exp.Cast(this=failing, to=exp.DataType.build(value_type, dialect="duckdb"))


def _valid_json_only(json: exp.Expression, answer: exp.Expression) -> exp.Expression:
    """Trino's JSON functions answer NULL for text that is not JSON (DuckDB's fail)."""
    return exp.Case(ifs=[exp.If(this=exp.Not(this=_call("json_valid", json)), true=exp.Null())], default=answer)


def _written_json_path(node: exp.Expression, text: str) -> str | None:
    """The path argument of json_extract/json_extract_scalar as the query wrote it, when it is a literal.

    sqlglot reads 'a' as $.a, but Trino refuses a path that does not start with $ (JsonPath), so the
    literal is read back from the query text: the string after the call's first top-level comma.
    """
    start, end = node.meta.get("start"), node.meta.get("end")
    if start is None or end is None or text[start:end + 1].lower() not in ("json_extract", "json_extract_scalar"):
        return None  # positions from another text (an inlined view's): nothing to read back
    depth, after_comma = 0, False
    try:
        tokens = sqlglot.tokenize(text[start:], read=READ_DIALECT)
    except (TokenError, ParseError):
        return None
    for token in tokens:
        kind = token.token_type.name
        if kind in ("L_PAREN", "L_BRACKET"):
            depth += 1
        elif kind in ("R_PAREN", "R_BRACKET"):
            depth -= 1
            if depth == 0:
                return None
        elif kind == "COMMA" and depth == 1:
            after_comma = True
        elif after_comma and depth == 1:
            return token.text if kind == "STRING" else None
    return None


def _json_extract_scalar(node: exp.JSONExtractScalar) -> exp.Expression:
    # Trino: NULL unless the path names a scalar (DuckDB's ->> gives an object's or array's text),
    # and a number as it is written in the document (1.50), which DuckDB re-writes (1.5): a
    # non-integer number is refused rather than re-written.
    found = _call("json_extract", node.this, node.expression)
    kind = _call("json_type", found)
    refusal = exp.Cast(this=refuse_at_run_time("NOT_SUPPORTED", "json_extract_scalar of a non-integer number is "
                                               "not supported by the local Athena engine"),
                       to=exp.DataType.build("VARCHAR"))
    return _valid_json_only(node.this, exp.Case(ifs=[
        exp.If(this=exp.In(this=kind, expressions=[exp.Literal.string("OBJECT"), exp.Literal.string("ARRAY")]),
               true=exp.Null()),
        exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string("DOUBLE")), true=refusal),
    ], default=_call("json_extract_string", node.this, node.expression)))


def _regexp_extract(node: exp.RegexpExtract) -> exp.Expression:
    # Trino: NULL when the pattern does not match (DuckDB gives ''). A group that took no part in the
    # match is NULL in Trino and a group past the pattern's last fails; DuckDB gives '' for both, as for a
    # group that matched nothing, so an empty group is refused rather than guessed.
    group = node.args.get("group")
    extracted = _call("regexp_extract", node.this, node.expression, *([group] if group is not None else []))
    ifs = [exp.If(this=exp.Not(this=_call("regexp_matches", node.this.copy(), node.expression.copy())),
                  true=exp.Null())]
    if group is not None and _literal(group) != "0" and not (isinstance(group, exp.Literal) and group.name == "0"):
        ifs.append(exp.If(this=exp.EQ(this=extracted.copy(), expression=exp.Literal.string("")), true=exp.Cast(
            this=refuse_at_run_time("NOT_SUPPORTED", "regexp_extract of a group that matched nothing (or took no "
                                    "part in the match) is not supported by the local Athena engine"),
            to=exp.DataType.build("VARCHAR"))))
    return exp.Case(ifs=ifs, default=extracted)


def _regexp_replace(node: exp.RegexpReplace, text: str) -> exp.Expression:
    # Trino replaces every match and writes groups as $1; RE2 (DuckDB) writes them as \1.
    replacement = node.args.get("replacement")
    if replacement is None:
        replacement = exp.Literal.string("")
    literal = _literal(replacement)
    if literal is None or "\\" in literal or "${" in literal:
        raise _unsupported(node, text, "regexp_replace with this replacement")
    duck = re.sub(r"\$(\d)", r"\\\1", literal)
    replaced = _call("regexp_replace", node.this, node.expression, exp.Literal.string(duck), exp.Literal.string("g"))
    if not literal:
        return replaced  # an empty match adds nothing, wherever each engine finds one
    # Where the pattern can match the empty string, Trino (Joni) also replaces an empty match right
    # after a non-empty one ('aaa', 'a*' -> 'XX'); RE2 skips it ('X'). Such patterns are refused.
    pattern = _literal(node.expression)
    if pattern == "":
        return replaced  # only empty matches: both engines replace each one
    if pattern is not None and re.search(r"\\[bB]|\(\?[a-z]*m", pattern):
        raise _unsupported(node, text, "regexp_replace with a pattern that can match an empty string")
    may_match_empty = _call("regexp_full_match", exp.Literal.string(""), node.expression.copy())
    refusal = exp.Cast(this=refuse_at_run_time("NOT_SUPPORTED", "regexp_replace with a pattern that can match an "
                                               "empty string is not supported by the local Athena engine"),
                       to=exp.DataType.build("VARCHAR"))
    return exp.Case(ifs=[exp.If(this=may_match_empty, true=refusal)], default=replaced)


# An ISO 8601 value whose time carries an offset, and one whose offset is UTC (+00, +00:00, +0000).
_OFFSET = r"T.*[+-][0-9]{2}(:?[0-9]{2})?$"
_UTC_OFFSET = r"T.*[+-]00(:?00)?$"


# Calls that read only a timestamp's wall-clock fields (in the value's own zone, in Trino).
_WALL_CLOCK_READERS = (exp.Hour, exp.Minute, exp.Second, exp.Day, exp.Month, exp.Year, exp.Quarter, exp.DayOfWeekIso,
                       exp.DayOfWeek, exp.DayOfYear, exp.WeekOfYear, exp.DayOfMonth, exp.Date, exp.Extract,
                       exp.TimeToStr)
# Uses that depend only on the instant (comparisons, ordering, epoch seconds, conversion to UTC).
_INSTANT_READERS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.Between,
                    exp.Ordered, exp.TimeToUnix, exp.AtTimeZone)
_ISO_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"


def _reads_wall_clock(parent: exp.Expression | None) -> bool:
    if isinstance(parent, _WALL_CLOCK_READERS):
        return True
    if isinstance(parent, exp.Anonymous) and str(parent.this).lower() in ("format_datetime", "strftime"):
        return True
    return isinstance(parent, exp.Cast) and parent.to.this == exp.DataType.Type.DATE


def _from_iso8601_timestamp(node: exp.FromISO8601Timestamp) -> exp.Expression:
    """Trino keeps the value's own zone (hour() of 12:00+05:30 is 12); DuckDB keeps only the instant.

    Read by a field function (hour, date, format_datetime, …), the value's wall clock is used: the text
    without its offset. Compared, ordered, turned into epoch seconds or into UTC, the instant is used.
    Anywhere else (shown, truncated, …) a value with an offset other than UTC is refused at run time
    rather than shown in UTC.
    """
    parent = node.parent
    if _reads_wall_clock(parent):
        local = _call("regexp_replace", node.this, exp.Literal.string(_ISO_OFFSET), exp.Literal.string(""))
        return exp.Cast(this=local, to=exp.DataType.build("TIMESTAMP"))
    parsed = exp.Cast(this=node.this.copy(), to=exp.DataType.build("TIMESTAMPTZ"))
    if isinstance(parent, _INSTANT_READERS):
        return parsed
    guard = exp.and_(_call("regexp_matches", node.this, exp.Literal.string(_OFFSET)),
                     exp.not_(_call("regexp_matches", node.this, exp.Literal.string(_UTC_OFFSET))))
    return exp.Case(ifs=[exp.If(this=guard, true=exp.Cast(
        this=refuse_at_run_time("NOT_SUPPORTED", "from_iso8601_timestamp of a value with a time zone other "
                                "than UTC is not supported by the local Athena engine here (it is where only "
                                "its fields or its instant are read)"),
        to=exp.DataType.build("TIMESTAMPTZ")))], default=parsed)


def _decimal_literal_type(literal: exp.Literal) -> exp.DataType:
    """DECIMAL '1.10' is decimal(3,2) in Trino: precision and scale are the literal's own digits."""
    # "The precision … is the number of digits in the literal (including trailing and leading zeros)."
    digits = literal.this.strip().lstrip("+-")
    whole, _, fraction = digits.partition(".")
    scale = len(fraction)
    precision = max(1, len(whole) + scale)
    return exp.DataType.build(f"DECIMAL({precision}, {scale})")


def _preceded_by_decimal_keyword(node: exp.Expression, text: str) -> bool:
    start = node.meta.get("start")
    return start is not None and re.search(r"\bDECIMAL\s*$", text[:start], re.I) is not None


def _cast(node: exp.Cast, text: str) -> exp.Expression:
    """Casts whose target type DuckDB reads differently from Trino."""
    to = node.to
    if to.this == exp.DataType.Type.DECIMAL and not to.expressions:
        literal = node.this
        if isinstance(literal, exp.Literal) and literal.is_string and _preceded_by_decimal_keyword(literal, text):
            target = _decimal_literal_type(literal)
        else:
            target = exp.DataType.build("DECIMAL(38, 0)")  # Trino's bare DECIMAL (DuckDB's is (18,3))
        return exp.Cast(this=node.this, to=target)
    if to.this == exp.DataType.Type.JSON and not node.meta.get("json_checked"):
        return _json_cast(node)
    if to.this == exp.DataType.Type.BOOLEAN and not node.meta.get("boolean_checked"):
        return _boolean_cast(node)
    if to.this in (exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR):
        raise _unsupported(node, text, "char(n), which pads values with spaces,")
    if to.this == exp.DataType.Type.VARCHAR and to.expressions:
        # Trino truncates a value cast to a shorter varchar(n); DuckDB ignores the length.
        length = to.expressions[0]
        length = length.this if isinstance(length, exp.DataTypeParam) else length
        plain = exp.Cast(this=node.this, to=exp.DataType.build("VARCHAR"))
        truncated = _call("substr", plain, exp.Literal.number(1), length)
        if length.is_int:  # the result column's declared length, for ColumnInfo (column_lengths.py)
            truncated.meta[LENGTH_META] = int(length.name)
        return truncated
    return node


# Value types (DuckDB's typeof) Trino casts to JSON as DuckDB does, and the leaves allowed inside an
# array or map; a double is re-written as Java writes it, a map's keys sorted (json_values.py).
_JSON_AS_IS = ("BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "JSON")
_JSON_LEAVES = ("BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "JSON", "MAP")
_JSON_COMPOSITE = r"((" + "|".join(_JSON_LEAVES) + r")|\[\]|[(), ])+"


def _json_cast(node: exp.Cast) -> exp.Expression:
    """CAST(x AS JSON) as Trino casts (the JSON page; JsonOperators, MapToJsonCast):

    - a varchar becomes a JSON string (CAST('abc' AS JSON) is "abc"; DuckDB parses it);
    - a double is written by Java (1.0E7, 1.0E-4), a decimal with its scale (1.50);
    - a map's keys are sorted (MapToJsonCast's TreeMap), arrays and maps of the types above alike;
    - a row becomes a JSON array where DuckDB writes an object, and real, date, timestamp or a decimal
      inside an array or map would be written otherwise too: those are refused.
    """
    value = node.this
    plain = settled(node.copy())
    kind = _call("typeof", value.copy())

    def is_kind(*names: str) -> exp.Expression:
        return exp.In(this=kind.copy(), expressions=[exp.Literal.string(n) for n in names])

    def json(expression: exp.Expression) -> exp.Expression:
        return settled(exp.Cast(this=expression, to=exp.DataType.build("JSON")))

    def text(expression: exp.Expression) -> exp.Expression:
        return settled(exp.Cast(this=expression, to=exp.DataType.build("VARCHAR")))

    def canonical(expression: exp.Expression) -> exp.Expression:
        return json(_call(json_values.FUNCTION, text(expression)))

    refusal = json(refuse_at_run_time("NOT_SUPPORTED", "casting this type to JSON is not supported by the local "
                                      "Athena engine"))
    composite = _call("regexp_full_match", kind.copy(), exp.Literal.string(_JSON_COMPOSITE))
    # Every branch must bind whatever x's type is: only to_json, typeof and casts touch x itself.
    written = text(_call("to_json", value.copy()))
    return exp.Case(ifs=[
        exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=json(exp.Null())),
        exp.If(this=is_kind("VARCHAR"), true=_call("to_json", value.copy())),
        exp.If(this=is_kind(*_JSON_AS_IS), true=plain),
        exp.If(this=is_kind("DOUBLE"), true=exp.Case(
            ifs=[exp.If(this=exp.In(this=written.copy(), expressions=[exp.Literal.string(t) for t in (
                "NaN", "Infinity", "-Infinity", "nan", "inf", "-inf")]), true=refusal.copy())],
            default=canonical(written.copy()))),
        exp.If(this=_call("regexp_full_match", kind.copy(), exp.Literal.string(r"DECIMAL\(\d+,\d+\)")),
               true=json(text(value.copy()))),
        exp.If(this=composite, true=canonical(plain.copy())),
    ], default=refusal)


def _boolean_cast(node: exp.Cast, failing: bool = True) -> exp.Expression:
    """CAST(varchar AS boolean) as Trino's VarcharOperators: 'true'/'t'/'1' and 'false'/'f'/'0', any case,
    nothing else (DuckDB also takes 'yes', 'on', ' true '…): INVALID_CAST_ARGUMENT (NULL for try_cast,
    `failing` False). Other types cast alike."""
    value = node.this
    plain = node.copy()
    plain.meta["boolean_checked"] = plain.meta["trino_cast"] = True
    text = exp.EQ(this=_call("typeof", value.copy()), expression=exp.Literal.string("VARCHAR"))
    lowered = _call("lower", settled(exp.Cast(this=value.copy(), to=exp.DataType.build("VARCHAR"))))
    words = {True: ("true", "t", "1"), False: ("false", "f", "0")}
    as_text = exp.Case(ifs=[exp.If(this=exp.In(this=lowered.copy(), expressions=[exp.Literal.string(w) for w in ws]),
                                   true=exp.Boolean(this=flag)) for flag, ws in words.items()],
                       default=exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()),
                                                    true=settled(exp.Cast(this=exp.Null(),
                                                                           to=exp.DataType.build("BOOLEAN"))))],
                                        default=_cast_failure(value, "BOOLEAN") if failing else
                                        settled(exp.Cast(this=exp.Null(), to=exp.DataType.build("BOOLEAN")))))
    return exp.Case(ifs=[exp.If(this=text, true=as_text)], default=plain)


def settled(cast: exp.Cast) -> exp.Cast:
    """A cast this module wrote itself: translate() must not rewrite it again."""
    for mark in ("trino_cast", "boolean_checked", "json_checked", "typed"):  # "typed": typed.py leaves it too
        cast.meta[mark] = True
    return cast


def _cast_failure(value: exp.Expression, type_name: str) -> exp.Expression:
    """INVALID_CAST_ARGUMENT "Cannot cast 'v' to T" at run time, with the value in it (Trino's wording)."""
    from localcloud.athena.errors import athena_error

    prefix = athena_error("INVALID_CAST_ARGUMENT", "Cannot cast '")
    text = exp.DPipe(this=exp.DPipe(this=exp.Literal.string(prefix), expression=exp.Cast(
        this=value.copy(), to=exp.DataType.build("VARCHAR"))), expression=exp.Literal.string(f"' to {type_name}\u2400"))
    return settled(exp.Cast(this=settled(exp.Cast(this=text, to=exp.DataType.build("INT"))),
                             to=exp.DataType.build(type_name)))


def _lambda(body: exp.Expression, *names: str) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(n) for n in names])


def _var(name: str) -> exp.Column:
    return exp.column(name)


def _first_occurrences(array: exp.Expression) -> exp.Expression:
    """Distinct elements in the order they first appear (Trino's array_distinct; DuckDB's reorders)."""
    keep = exp.EQ(this=_call("list_position", array, _var("__e")), expression=_var("__i"))
    return _call("list_filter", array, _lambda(keep, "__e", "__i"))


def _membership(array: exp.Expression, other: exp.Expression, inside: bool) -> exp.Expression:
    """Distinct elements of `array` (in order) that are / are not in `other`, NULL matching NULL."""
    position = exp.Coalesce(this=_call("list_position", other, _var("__m")), expressions=[exp.Literal.number(0)])
    test = exp.GT(this=position, expression=exp.Literal.number(0)) if inside else \
        exp.EQ(this=position, expression=exp.Literal.number(0))
    found = _call("list_filter", _first_occurrences(array), _lambda(test, "__m"))
    either_null = exp.or_(exp.Is(this=array.copy(), expression=exp.Null()),
                          exp.Is(this=other.copy(), expression=exp.Null()))
    return exp.Case(ifs=[exp.If(this=either_null, true=exp.Null())], default=found)


def _contains(node: exp.ArrayContains) -> exp.Expression:
    # Trino: NULL when the element is not found but the array holds a NULL (DuckDB: false), and NULL
    # for a NULL element (ArrayContains: the value is not nullable, so a NULL one makes the call NULL).
    array, element = node.this, node.expression
    has_null = exp.GT(this=_call("len", _call("list_filter", array, _lambda(
        exp.Is(this=_var("__n"), expression=exp.Null()), "__n"))), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=exp.Is(this=element.copy(), expression=exp.Null()), true=exp.Null()),
                         exp.If(this=_call("list_contains", array, element), true=exp.true()),
                         exp.If(this=has_null, true=exp.Null())], default=exp.false())


def _integer(node: exp.Expression, kind: str = "BIGINT") -> exp.Cast:
    return exp.Cast(this=node, to=exp.DataType.build(kind))


def _slice(node: exp.ArraySlice) -> exp.Expression:
    """Trino's slice(array, start, length): 1-based, a negative start counts from the end."""
    array, start, length = node.this, node.args["start"], node.args["end"]
    begin = exp.Case(ifs=[exp.If(this=exp.GT(this=start.copy(), expression=exp.Literal.number(0)), true=start.copy())],
                     default=exp.Add(this=exp.Add(this=_call("len", array), expression=start.copy()),
                                     expression=exp.Literal.number(1)))
    last = exp.Sub(this=exp.Add(this=begin.copy(), expression=length.copy()), expression=exp.Literal.number(1))
    return exp.Case(ifs=[
        exp.If(this=exp.EQ(this=start.copy(), expression=exp.Literal.number(0)),
               true=fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "SQL array indices start at 1", "INTEGER[]")),
        exp.If(this=exp.LT(this=length.copy(), expression=exp.Literal.number(0)),
               true=fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "length must be greater than or equal to 0",
                                     "INTEGER[]")),
        exp.If(this=exp.LT(this=begin.copy(), expression=exp.Literal.number(1)),
               true=_call("list_slice", array, exp.Literal.number(1), exp.Literal.number(0))),
    ], default=_call("list_slice", array, begin, last))


def _json_size(json: exp.Expression, path: exp.Expression) -> exp.Expression:
    """Trino's json_size: members of an object, elements of an array, 0 for a scalar, NULL when absent."""
    found = _call("json_extract", json, path)
    kind = _call("json_type", found)
    return _integer(exp.Case(ifs=[
        exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string("OBJECT")),
               true=_call("len", _call("json_keys", found))),
        exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string("ARRAY")),
               true=_call("json_array_length", found)),
        exp.If(this=exp.Is(this=kind.copy(), expression=exp.Null()), true=exp.Null()),
    ], default=exp.Literal.number(0)))


def _single_character(value: exp.Expression, then: exp.Expression, message: str) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=exp.NEQ(this=_call("length", value), expression=exp.Literal.number(1)),
                                true=fail_at_run_time("INVALID_FUNCTION_ARGUMENT", message, "INTEGER"))],
                    default=then)


def _match(name: str, array: exp.Expression, predicate: exp.Expression) -> exp.Expression:
    """any_match / all_match / none_match with Trino's NULLs: a NULL verdict counts unless one decides."""
    verdicts = _call("list_transform", array, predicate)
    some_null = exp.GT(this=_call("len", _call("list_filter", verdicts, _lambda(
        exp.Is(this=_var("__v"), expression=exp.Null()), "__v"))), expression=exp.Literal.number(0))
    decisive = exp.true() if name in ("any_match", "none_match") else exp.false()
    decided = exp.true() if name == "any_match" else exp.false()
    otherwise = exp.false() if name == "any_match" else exp.true()
    return exp.Case(ifs=[exp.If(this=exp.Is(this=array.copy(), expression=exp.Null()), true=exp.Null()),
                         exp.If(this=_call("list_contains", verdicts, decisive), true=decided),
                         exp.If(this=some_null, true=exp.Null())], default=otherwise)


def _anonymous(node: exp.Anonymous) -> exp.Expression | None:
    """Trino functions sqlglot leaves by name, written in DuckDB with Trino's meaning."""
    name, args = str(node.this).lower(), node.expressions
    if name in ("any_match", "all_match", "none_match") and len(args) == 2 and isinstance(args[1], exp.Lambda):
        return _match(name, args[0], args[1])
    if name == "nan" and not args:
        return exp.Cast(this=exp.Literal.string("NaN"), to=exp.DataType.build("DOUBLE"))
    if name == "infinity" and not args:
        return exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("DOUBLE"))
    if name == "is_finite" and len(args) == 1:
        return _call("isfinite", args[0])
    if name == "is_infinite" and len(args) == 1:
        return _call("isinf", args[0])
    if name == "array_union" and len(args) == 2:
        either_null = exp.or_(exp.Is(this=args[0].copy(), expression=exp.Null()),
                              exp.Is(this=args[1].copy(), expression=exp.Null()))
        return exp.Case(ifs=[exp.If(this=either_null, true=exp.Null())],
                        default=_first_occurrences(_call("list_concat", args[0], args[1])))
    if name == "json_size" and len(args) == 2:
        return _valid_json_only(args[0], _json_size(args[0], args[1]))
    if name == "json_array_length" and len(args) == 1 and not node.meta.get("checked"):
        checked = node.copy()
        checked.meta["checked"] = True
        return _valid_json_only(args[0], checked)
    if name == "millisecond" and len(args) == 1:
        # DuckDB's millisecond counts the seconds too (15.123 s -> 15123).
        return _integer(exp.Mod(this=_call("millisecond", args[0]), expression=exp.Literal.number(1000)))
    if name == "every" and len(args) == 1:
        return _call("bool_and", args[0])
    if name == "hamming_distance" and len(args) == 2:
        same = exp.EQ(this=_call("length", args[0]), expression=_call("length", args[1]))
        return exp.Case(ifs=[exp.If(this=exp.Not(this=same), true=fail_at_run_time(
            "INVALID_FUNCTION_ARGUMENT", "The input strings to hamming_distance function must have the same length",
            "BIGINT"))], default=_integer(_call("hamming", args[0], args[1])))
    if name == "codepoint" and len(args) == 1:
        return _single_character(args[0], _integer(_call("unicode", args[0]), "INTEGER"),
                                 "Input string must be a single character string")
    return None


def _array_position(node: exp.ArrayPosition, text: str) -> exp.Expression:
    # Trino: 0 when absent (DuckDB: NULL), a bigint.
    array, element = node.this, node.expression
    if isinstance(element, exp.Null):
        raise _unsupported(node, text, "array_position of NULL")
    instance = node.args.get("zero_based")  # sqlglot files Trino's third argument (instance) under this name
    if instance is not None:
        return _array_position_instance(array, element, instance)
    position = _integer(exp.Coalesce(this=_call("list_position", array, element),
                                     expressions=[exp.Literal.number(0)]))
    return exp.Case(ifs=[exp.If(this=exp.Is(this=array.copy(), expression=exp.Null()), true=exp.Null())],
                    default=position)


def _array_position_instance(array: exp.Expression, element: exp.Expression, instance: exp.Expression) -> exp.Expression:
    """array_position(x, element, instance): the position of the instance-th occurrence, counted from the
    end when negative, 0 when there is none; instance 0 fails (ArrayPositionFunction)."""
    index = _call("generate_series", exp.Literal.number(1), _call("len", array.copy()))
    matching = _call("list_filter", index, _lambda(exp.EQ(
        this=exp.Bracket(this=array.copy(), expressions=[_var("_i")], offset=1, safe=True), expression=element.copy()),
        "_i"))
    forward = exp.Coalesce(this=exp.Bracket(this=matching.copy(), expressions=[instance.copy()], offset=1, safe=True),
                           expressions=[exp.Literal.number(0)])
    backward = exp.Coalesce(this=exp.Bracket(this=_call("list_reverse", matching.copy()),
                                             expressions=[exp.Neg(this=instance.copy())], offset=1, safe=True),
                            expressions=[exp.Literal.number(0)])
    return exp.Case(ifs=[
        exp.If(this=exp.Is(this=array.copy(), expression=exp.Null()), true=exp.Null()),
        exp.If(this=exp.EQ(this=instance.copy(), expression=exp.Literal.number(0)),
               true=fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "0 is an invalid instance position for "
                                     "array_position.", "BIGINT")),
        exp.If(this=exp.GT(this=instance.copy(), expression=exp.Literal.number(0)), true=_integer(forward))],
        default=_integer(backward))


def _split_with_limit(node: exp.Split) -> exp.Expression:
    """split(string, delimiter, limit): at most `limit` pieces, the last holding the rest of the string
    (StringFunctions.split); sqlglot drops the limit."""
    value, delimiter, limit = node.this, node.expression, node.args["limit"]
    parts = _call("string_split", value.copy(), delimiter.copy())
    count = _call("len", parts.copy())
    head = _call("list_slice", parts.copy(), exp.Literal.number(1), exp.Sub(this=limit.copy(),
                                                                            expression=exp.Literal.number(1)))
    rest = _call("array_to_string", _call("list_slice", parts.copy(), limit.copy(), count.copy()), delimiter.copy())
    return exp.Case(ifs=[
        exp.If(this=exp.EQ(this=delimiter.copy(), expression=exp.Literal.string("")),
               true=fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "The delimiter may not be the empty string",
                                     "VARCHAR[]")),
        exp.If(this=exp.LT(this=limit.copy(), expression=exp.Literal.number(1)),
               true=fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "Limit must be positive", "VARCHAR[]")),
        exp.If(this=exp.EQ(this=value.copy(), expression=exp.Literal.string("")),
               true=exp.Array(expressions=[exp.Literal.string("")])),
        exp.If(this=exp.LTE(this=count.copy(), expression=limit.copy()), true=parts)],
        default=_call("list_concat", head, exp.Array(expressions=[rest])))


_DATE_DIFF_UNITS = {"millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year"}


def _date_diff(node: exp.DateDiff, text: str) -> exp.Expression:
    """Trino's date_diff counts whole units elapsed (Joda's getDifference: 23:00 to 01:00 the next day is
    0 days, 2025-12-31 to 2026-01-01 0 years); DuckDB's date_diff counts the boundaries crossed (1 and 1).
    DuckDB's date_sub counts whole units, month ends included, as Joda does (tests/localcloud/athena)."""
    unit = node.args.get("unit")
    name = (unit.name if isinstance(unit, (exp.Var, exp.Literal)) else "").lower()
    if name not in _DATE_DIFF_UNITS:
        raise _unsupported(node, text, f"date_diff with the unit {name or 'given'!r}")
    return _integer(_call("date_sub", exp.Literal.string(name), node.expression, node.this))


# EXTRACT fields whose DuckDB namesake means something else: Trino's DOW is ISO (Monday 1 .. Sunday 7),
# DuckDB's Sunday 0; Trino's YEAR_OF_WEEK is the ISO week-numbering year.
_EXTRACT_AS = {"DOW": "isodow", "DAY_OF_WEEK": "isodow", "DAYOFWEEK": "isodow",
               "YOW": "isoyear", "YEAR_OF_WEEK": "isoyear", "DAY_OF_MONTH": "day"}


def _null_if_any_null(array: exp.Expression, answer: exp.Expression) -> exp.Expression:
    """Trino's array_max and array_min are NULL when an element is NULL (ArrayMaxFunction); DuckDB skips it."""
    has_null = exp.GT(this=_call("len", _call("list_filter", array.copy(), _lambda(
        exp.Is(this=_var("_e"), expression=exp.Null()), "_e"))), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=has_null, true=exp.Null())], default=answer)


# date_format's specifiers (MySQL's) as sqlglot hands them over, mapped to strftime's; the ones Trino
# refuses (DateTimeFunctions: "%u not supported in date format string"), by the letter Trino was given.
_DATE_FORMAT_KEPT = {"a", "A", "b", "B", "d", "-d", "f", "G", "H", "-H", "I", "-I", "j", "m", "-m", "M", "p", "S", "Y",
                     "y", "%"}
_DATE_FORMAT_REFUSED = {"W": "u", "U": "U", "w": "w", "V": "V", "X": "X", "D": "D"}


def _date_format(node: exp.TimeToStr, text: str) -> exp.Expression:
    """date_format(ts, format) as Trino writes it: %v is the ISO week (strftime's %V); %u, %U, %V, %w, %X and %D
    fail; another letter after % is that letter. sqlglot would hand DuckDB %U, %w, %X as strftime reads them."""
    node.meta["checked"] = True
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise _unsupported(node, text, "date_format with a format that is not a literal")
    pieces, rest = [], fmt.this
    while rest:
        if not rest.startswith("%") or len(rest) == 1:
            pieces.append(rest[0].replace("%", "%%"))
            rest = rest[1:]
            continue
        token = rest[1:3] if rest[1] == "-" and len(rest) > 2 else rest[1]
        rest = rest[1 + len(token):]
        if token in _DATE_FORMAT_REFUSED:
            raise QueryFailed("INVALID_FUNCTION_ARGUMENT",
                              f"%{_DATE_FORMAT_REFUSED[token]} not supported in date format string")
        if token == "v":
            pieces.append("%V")
        elif token in _DATE_FORMAT_KEPT:
            pieces.append("%" + token)
        else:
            pieces.append(token.lstrip("-").replace("%", "%%"))  # Trino writes the letter itself
    node.set("format", exp.Literal.string("".join(pieces)))
    return node


def _refuse_zoned_unixtime(node: exp.UnixToTime) -> None:
    """from_unixtime(x, zone) and from_unixtime(x, hours, minutes) are that instant in that zone; only UTC is
    answered (the engine's timestamps with time zone are UTC), the zone argument then dropped."""
    zone, hours, minutes = node.args.get("zone"), node.args.get("hours"), node.args.get("minutes")
    utc = (zone is None or (isinstance(zone, exp.Literal) and zone.is_string and zone.this.upper() in ("UTC", "Z")))
    utc = utc and all(part is None or (isinstance(part, exp.Literal) and not part.is_string and int(part.this) == 0)
                      for part in (hours, minutes))
    other = [k for k in node.arg_types if k not in ("this", "zone", "hours", "minutes") and node.args.get(k)]
    if not utc or other:
        raise QueryFailed("NOT_SUPPORTED", "from_unixtime with a time zone other than UTC is not supported by the "
                          "local Athena engine")
    for key in ("zone", "hours", "minutes"):
        node.set(key, None)


def _java_upper(node: exp.Upper) -> exp.Expression:
    """Trino's upper maps code point by code point with Java's Character.toUpperCase (airlift
    SliceUtf8), which keeps 'ß' (it has no one-letter capital); DuckDB writes 'ẞ' (U+1E9E). Every
    other code point maps alike in both. So a text holding 'ß' is upper-cased around it."""
    node.meta["checked"] = True
    value = node.this
    around = _call("array_to_string", _call("list_transform", _call("string_split", value.copy(), exp.Literal.string("ß")),
                                            _lambda(_checked_upper(_var("_p")), "_p")), exp.Literal.string("ß"))
    has_sharp_s = _call("contains", value.copy(), exp.Literal.string("ß"))
    return exp.Case(ifs=[exp.If(this=has_sharp_s, true=around)], default=node)


def _checked_upper(value: exp.Expression) -> exp.Upper:
    """upper() that translate() leaves as it is."""
    upper = exp.Upper(this=value)
    upper.meta["checked"] = True
    return upper


# Java's Character.isWhitespace, which Trino's trim, ltrim and rtrim remove (airlift SliceUtf8): the
# Unicode space, line and paragraph separators except the no-break ones, and \t \n \v \f \r \x1c-\x1f.
JAVA_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                   "\u2008\u2009\u200a\u2028\u2029\u205f\u3000")


def translate(tree: exp.Expression, text: str) -> exp.Expression:
    """Rewrite what sqlglot would translate wrongly; raise NOT_SUPPORTED for what we cannot."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.ParseJSON) and not node.meta.get("checked"):
            # json_parse and JSON '…' literals: Trino's canonical text, keys sorted (json_values.py).
            return settled(exp.Cast(this=_call(json_values.FUNCTION, node.this), to=exp.DataType.build("JSON")))
        if isinstance(node, exp.DateDiff):
            return _date_diff(node, text)
        if isinstance(node, exp.Extract) and isinstance(node.this, exp.Var) and node.this.name.upper() in _EXTRACT_AS:
            return _integer(_call(_EXTRACT_AS[node.this.name.upper()], node.expression))
        if isinstance(node, (exp.ArrayMax, exp.ArrayMin)) and not node.meta.get("checked"):
            node.meta["checked"] = True
            return _null_if_any_null(node.this, node)
        if isinstance(node, exp.TimeToStr) and not node.meta.get("checked"):
            return _date_format(node, text)
        if isinstance(node, exp.Unnest) and len(node.expressions) > 1:
            # Trino zips the arrays (the shorter padded with NULLs); DuckDB's table unnest takes one.
            raise _unsupported(node, text, "UNNEST of several arrays")
        if isinstance(node, exp.UnixToTime):
            _refuse_zoned_unixtime(node)  # sqlglot would drop the zone: a different answer, never given
        if isinstance(node, exp.Upper) and not node.meta.get("checked"):
            return _java_upper(node)
        if isinstance(node, exp.ArrayRemove) and not node.meta.get("checked"):
            # Trino keeps NULL elements and answers NULL for a NULL value (DuckDB's `<>` drops both).
            array, value = node.this, node.expression
            kept = _call("list_filter", array, _lambda(exp.NullSafeNEQ(this=_var("_u"), expression=value.copy()), "_u"))
            kept.meta["duckdb"] = True
            return exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null())],
                            default=kept)
        if isinstance(node, exp.Trim) and node.args.get("expression") is None and not node.meta.get("checked"):
            node = node.copy()
            node.meta["checked"] = True
            node.set("expression", exp.Literal.string(JAVA_WHITESPACE))
            return node
        if type(node) is exp.Cast and not node.meta.get("trino_cast"):
            node.meta["trino_cast"] = True
            replaced = _cast(node, text)
            if replaced is not node:
                if isinstance(replaced, exp.Cast):
                    replaced.meta["trino_cast"] = True
                return replaced
        if isinstance(node, exp.TryCast) and not node.meta.get("trino_cast"):
            node.meta["trino_cast"] = True
            if node.to.this == exp.DataType.Type.BOOLEAN:  # try_cast: NULL where the cast would fail
                return _boolean_cast(node, failing=False)
            if node.to.this == exp.DataType.Type.JSON:  # a varchar to JSON never fails in Trino
                return _json_cast(node)
        if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)) and not node.meta.get("path_checked"):
            node.meta["path_checked"] = True
            path = _written_json_path(node, text)
            if path is not None and not path.strip().startswith("$"):
                raise QueryFailed("INVALID_FUNCTION_ARGUMENT", f"Invalid JSON path: '{path}'")
        if isinstance(node, exp.JSONExtractScalar):
            return _json_extract_scalar(node)
        if isinstance(node, exp.JSONExtract) and not node.meta.get("checked"):
            node.meta["checked"] = True
            return _valid_json_only(node.this, node)
        if isinstance(node, exp.Anonymous) and not node.meta.get("duckdb"):
            replaced = _anonymous(node)
            if replaced is not None:
                return replaced
        if isinstance(node, exp.ArraySlice) and node.args.get("start") is not None \
                and node.args.get("end") is not None:
            return _slice(node)
        if isinstance(node, exp.ArrayPosition):
            return _array_position(node, text)
        if isinstance(node, exp.ArrayDistinct):
            return _first_occurrences(node.this)
        if isinstance(node, exp.ArrayIntersect) and len(node.expressions) == 2:
            return _membership(node.expressions[0], node.expressions[1], inside=True)
        if isinstance(node, exp.ArrayExcept):
            return _membership(node.this, node.expression, inside=False)
        if isinstance(node, exp.ArrayContains) and not node.meta.get("trino_checked"):
            return _contains(node)
        if isinstance(node, exp.Substring) and node.args.get("start") is not None and not node.meta.get("checked"):
            # Trino (StringFunctions.substr) gives '' for a start of 0, a length of 0 or less, and a negative
            # start before the beginning; DuckDB starts at the first character, counts a negative length
            # backwards and clamps the start.
            node.meta["checked"] = True
            start, length = node.args["start"], node.args.get("length")
            empty = [exp.EQ(this=start.copy(), expression=exp.Literal.number(0)),
                     exp.and_(exp.LT(this=start.copy(), expression=exp.Literal.number(0)),
                              exp.LT(this=exp.Add(this=start.copy(), expression=_call("length", node.this.copy())),
                                     expression=exp.Literal.number(0)))]
            if length is not None:
                empty.append(exp.LTE(this=length.copy(), expression=exp.Literal.number(0)))
            return exp.Case(ifs=[exp.If(this=exp.or_(*empty), true=exp.Literal.string(""))], default=node)
        if isinstance(node, exp.Split) and node.args.get("limit") is not None:
            return _split_with_limit(node)
        if isinstance(node, exp.Split) and node.args.get("limit") is None and not node.meta.get("checked"):
            # Trino: split('', ',') is [''] (DuckDB: []), and an empty delimiter fails (DuckDB splits characters).
            node.meta["checked"] = True
            return exp.Case(ifs=[
                exp.If(this=exp.EQ(this=node.expression.copy(), expression=exp.Literal.string("")),
                       true=fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "The delimiter may not be the empty string",
                                             "VARCHAR[]")),
                exp.If(this=exp.EQ(this=node.this.copy(), expression=exp.Literal.string("")),
                       true=exp.Array(expressions=[exp.Literal.string("")]))], default=node)
        if isinstance(node, exp.Replace) and not node.meta.get("checked"):
            # Trino inserts the replacement around every character when the search is ''; DuckDB does not.
            node.meta["checked"] = True
            empty = exp.EQ(this=node.expression.copy(), expression=exp.Literal.string(""))
            refusal = exp.Cast(this=refuse_at_run_time("NOT_SUPPORTED", "replace with an empty search string is not "
                                                       "supported by the local Athena engine"),
                               to=exp.DataType.build("VARCHAR"))
            return exp.Case(ifs=[exp.If(this=empty, true=refusal)], default=node)
        if isinstance(node, exp.RegexpExtract):
            return _regexp_extract(node)
        if isinstance(node, exp.RegexpReplace):
            return _regexp_replace(node, text)
        if isinstance(node, exp.FromISO8601Timestamp):
            return _from_iso8601_timestamp(node)
        if isinstance(node, exp.GenerateSeries) and node.args.get("step") is None and node.args.get("end") is not None:
            # Trino's sequence(start, stop) counts down when stop < start (DuckDB's would be empty).
            start, end = node.args["start"], node.args["end"]
            node = node.copy()
            node.set("step", exp.Case(ifs=[exp.If(this=exp.LTE(this=start.copy(), expression=end.copy()),
                                                  true=exp.Literal.number(1))], default=exp.Literal.number(-1)))
            return node
        if isinstance(node, exp.SplitPart) and node.args.get("part_index") is not None:
            # Trino: NULL when the index is past the last field (DuckDB gives ''), and an index below 1
            # fails (StringFunctions.splitPart: "Index must be greater than zero"; DuckDB gives '').
            value, delimiter, index = node.this, node.args["delimiter"], node.args["part_index"]
            fields = _call("len", _call("string_split", value, delimiter))
            below_one = exp.LT(this=index.copy(), expression=exp.Literal.number(1))
            return exp.Case(ifs=[exp.If(this=below_one, true=fail_at_run_time("INVALID_FUNCTION_ARGUMENT",
                                                                             "Index must be greater than zero")),
                                 exp.If(this=exp.GT(this=index.copy(), expression=fields), true=exp.Null())],
                            default=_call("split_part", value, delimiter, index))
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "format_datetime":
            return _format_datetime(node, text)
        if isinstance(node, exp.ParseDatetime):
            fmt = _strftime_pattern(node, text, "parse_datetime", node.args.get("format"))
            parsed = exp.Anonymous(this="strptime", expressions=[node.this, exp.Literal.string(fmt)])
            # Trino's parse_datetime returns timestamp with time zone (UTC here).
            return exp.Cast(this=parsed, to=exp.DataType.build("TIMESTAMPTZ"))
        if isinstance(node, exp.Format):
            fmt = _literal(node.this)
            if fmt is None:
                raise _unsupported(node, text, "format with a non-literal format string")
            try:
                _check_printf(fmt)
            except ValueError as exc:
                raise _unsupported(node, text, f"format {exc}") from None
            return exp.Anonymous(this="printf", expressions=[node.this, *node.expressions])
        if isinstance(node, exp.ApproxQuantile) and node.args.get("weight") is not None:
            raise _unsupported(node, text, "approx_percentile with weights")
        if isinstance(node, (exp.Add, exp.Sub, exp.DateAdd, exp.DateSub)) and not node.meta.get("date_kept"):
            # Trino keeps date +/- days (date_add('day', …), current_date - INTERVAL '1' DAY) a date;
            # DuckDB makes it a timestamp, which then casts to varchar as 'yyyy-MM-dd 00:00:00'.
            if (isinstance(node, (exp.DateAdd, exp.DateSub)) or node.find(exp.Interval)) and _is_date(node):
                node.meta["date_kept"] = True
                return exp.Cast(this=node, to=exp.DataType.build("DATE"))
        if isinstance(node, exp.AtTimeZone):
            zone = _literal(node.args.get("zone"))
            if zone is None or zone.strip().upper() not in ("UTC", "Z", "+00:00", "GMT", "ETC/UTC"):
                raise _unsupported(node, text, f"AT TIME ZONE {zone or 'with a non-literal zone'!r} "
                                   "(only UTC)")
            if not isinstance(node.parent, exp.Cast) or not node.parent.meta.get("utc"):
                # Trino's result is a timestamp with time zone; DuckDB's, for one, is a plain timestamp.
                in_utc = exp.Cast(this=node, to=exp.DataType.build("TIMESTAMPTZ"))
                in_utc.meta["utc"] = in_utc.meta["trino_cast"] = True
                return in_utc
        return node

    # A rewrite copies its arguments into the new node, where this pass does not look again;
    # so repeat until nothing changes (each rewrite marks what it made, so this ends).
    result = tree.transform(rewrite, copy=True)
    for _ in range(8):
        again = result.transform(rewrite, copy=True)
        quiet = {"dialect": WRITE_DIALECT, "unsupported_level": sqlglot.ErrorLevel.IGNORE}
        if again.sql(**quiet) == result.sql(**quiet):
            return again
        result = again
    return result
