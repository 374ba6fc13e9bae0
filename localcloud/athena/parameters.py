"""Positional `?` execution parameters (StartQueryExecution's ExecutionParameters), bound into the text.

Athena substitutes each parameter, a SQL literal as text ('abc', 1, DATE
'2024-05-01'), for the `?` at the same position; a `?` inside a string
literal, a quoted identifier or a comment is not a placeholder. A count that
does not match fails the query as Trino does (INVALID_PARAMETER_USAGE).
"""

from __future__ import annotations

from localcloud.athena.exceptions import QueryFailed


def placeholders(text: str) -> list[int]:
    """Offsets of the `?` placeholders in `text`."""
    found: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if text[end] == ch:
                    if end + 1 < n and text[end + 1] == ch:  # doubled quote: still inside
                        end += 2
                        continue
                    break
                end += 1
            i = end + 1
        elif text.startswith("--", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
        else:
            if ch == "?":
                found.append(i)
            i += 1
    return found


def bind(text: str, parameters: list[str] | None) -> str:
    """`text` with its placeholders replaced by `parameters`, in order."""
    offsets = placeholders(text)
    given = list(parameters or [])
    if len(offsets) != len(given):
        raise QueryFailed("INVALID_PARAMETER_USAGE",
                          f"Incorrect number of parameters: expected {len(offsets)} but found {len(given)}")
    for offset, value in sorted(zip(offsets, given), reverse=True):
        text = text[:offset] + value + text[offset + 1:]
    return text


def split_values(text: str) -> list[str]:
    """`'a', 1, DATE '2024-05-01'` (EXECUTE … USING) -> its comma-separated values, commas in quotes kept."""
    values: list[str] = []
    depth, start, i, n = 0, 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            end = i + 1
            while end < n and not (text[end] == "'" and (end + 1 >= n or text[end + 1] != "'")):
                end += 2 if text[end] == "'" else 1
            i = end + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append(text[start:i].strip())
            start = i + 1
        i += 1
    values.append(text[start:].strip())
    return [v for v in values if v]
