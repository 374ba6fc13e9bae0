"""A finished query's result set: ColumnInfo, rows as Athena's text, paging and the result file.

This is the interpreting half (PyAthena's result-set side); it never talks to
S3 or Glue itself — models.py stores what `to_csv`/`to_txt` produce.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localcloud.athena.exceptions import InvalidRequestException
from localcloud.athena.types import column_info, java_float, render


@dataclass
class ResultSet:
    columns: list[dict[str, Any]]
    rows: list[list[str | None]] = field(default_factory=list)
    # SELECT results start with a header row in GetQueryResults and carry one in the CSV;
    # DDL/utility results have neither.
    has_header: bool = True
    # Rows a CTAS, INSERT INTO or UNLOAD wrote (GetQueryResults' UpdateCount).
    update_count: int = 0

    @classmethod
    def from_duckdb(cls, names: list[str], types: list[Any], rows: list[tuple[Any, ...]],
                    lengths: list[int | None] | None = None) -> ResultSet:
        """`lengths`: each column's declared varchar(n) length, where the query declares one."""
        if lengths is None or len(lengths) != len(names):
            lengths = [None] * len(names)
        # A real (DuckDB's FLOAT) arrives as a Python float: Java writes it from its 32 bits (0.1), not
        # from the double it widens to (0.10000000149011612).
        renderers = [_real_renderer(str(t).upper()) or render for t in types]
        return cls(
            columns=[column_info(n, t, length=k) for n, t, k in zip(names, types, lengths)],
            rows=[[fn(v) for fn, v in zip(renderers, row)] for row in rows],
        )

    @classmethod
    def utility(cls, names: list[str], rows: list[list[str | None]]) -> ResultSet:
        """SHOW/DESCRIBE output: varchar columns, no header row."""
        columns = [column_info(n, "varchar") for n in names]
        for c in columns:
            c["Type"] = "string"
        return cls(columns=columns, rows=rows, has_header=False)

    @classmethod
    def written(cls, rows: int) -> ResultSet:
        """What a CTAS, INSERT INTO or UNLOAD answers: the number of rows written."""
        return cls(columns=[column_info("rows", "bigint")], rows=[[str(rows)]], update_count=rows)

    @property
    def all_rows(self) -> list[list[str | None]]:
        header = [[c["Label"] for c in self.columns]] if self.has_header else []
        return header + self.rows

    def page(self, max_results: int | None, next_token: str | None) -> dict[str, Any]:
        """GetQueryResults' ResultSet for one page; MaxResults counts the header row, like Athena."""
        if max_results is not None and not 1 <= max_results <= 1000:
            raise InvalidRequestException("MaxResults must be between 1 and 1000")
        limit = max_results or 1000
        start = _decode_token(next_token) if next_token else 0
        rows = self.all_rows
        chunk = rows[start:start + limit]
        payload: dict[str, Any] = {
            "UpdateCount": self.update_count,
            "ResultSet": {
                "Rows": [{"Data": [({"VarCharValue": v} if v is not None else {}) for v in row]} for row in chunk],
                "ResultSetMetadata": {"ColumnInfo": self.columns},
            },
        }
        if start + limit < len(rows):
            payload["NextToken"] = _encode_token(start + limit)
        return payload

    def to_csv(self) -> bytes:
        """Athena's result CSV: every value double-quoted, NULL as an empty unquoted field."""

        def cell(v: str | None) -> str:
            return "" if v is None else '"' + v.replace('"', '""') + '"'

        lines = [",".join(cell(v) for v in row) for row in self.all_rows]
        return ("\n".join(lines) + "\n").encode() if lines else b""

    @property
    def shape(self) -> dict[str, Any]:
        """What the result file does not say: ColumnInfo, the header row, UpdateCount (kept in the history)."""
        return {"columns": self.columns, "header": self.has_header, "update_count": self.update_count}

    @classmethod
    def from_file(cls, body: bytes, shape: dict[str, Any], csv: bool) -> ResultSet:
        """The result set `to_csv` (`csv`) or `to_txt` wrote as `body`, as GetQueryResults reads it back."""
        columns = shape["columns"]
        text = body.decode()
        if csv:
            rows = _parse_csv(text)
            if shape["header"] and rows:
                rows = rows[1:]
        else:  # one line per row; a one-column result's value may hold tabs itself (DESCRIBE)
            lines = text[:-1].split("\n") if text else []
            rows = [line.split("\t", max(0, len(columns) - 1)) for line in lines]
        return cls(columns=columns, rows=rows, has_header=shape["header"], update_count=shape["update_count"])

    def to_txt(self) -> bytes:
        """Athena's DDL/utility result file: tab-separated, no header, no quoting."""
        if not self.rows:
            return b""
        return ("\n".join("\t".join("" if v is None else v for v in row) for row in self.rows) + "\n").encode()


def _render_real(value: Any) -> str | None:
    return None if value is None else java_float(float(value))


def _real_renderer(duck_type: str) -> Callable[[Any], str | None] | None:
    """A renderer for a real, or an array (of arrays) of reals; None for any other type."""
    if duck_type == "FLOAT":
        return _render_real
    if duck_type.endswith("[]"):
        inner = _real_renderer(duck_type[:-2])
        if inner is not None:
            return lambda v: None if v is None else "[" + ", ".join(
                "null" if x is None else inner(x) for x in v) + "]"
    return None


def _parse_csv(text: str) -> list[list[str | None]]:
    """`to_csv`'s format read back exactly: a quoted field is a value (it may hold commas, quotes
    and newlines), an empty one is NULL. The csv module cannot tell the two apart before 3.12."""
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    i, end = 0, len(text)
    while i < end:
        if text[i] == '"':
            parts, start = [], i + 1
            while True:
                close = text.index('"', start)
                if text.startswith('"', close + 1):  # "" is one quote inside the value
                    parts.append(text[start:close + 1])
                    start = close + 2
                    continue
                parts.append(text[start:close])
                i = close + 1
                break
            row.append("".join(parts))
        else:
            row.append(None)
        if i >= end:
            break
        if text[i] == "\n":
            rows.append(row)
            row = []
        elif text[i] != ",":
            raise ValueError(f"not a result CSV: {text[i]!r} after a field at offset {i}")
        i += 1
    if row:
        rows.append(row)
    return rows


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except Exception:
        raise InvalidRequestException("NextToken is invalid") from None
