"""The JsonPath subset Glue's JSON classifiers accept, and applying one to a document.

Glue documents ("Writing JsonPath custom classifiers") these operators only:
`$` (root), `.<name>` and `['<name>']` (child), `*` / `[*]` (wildcard) and
`[<number>]` (array index). Recursive descent, filters, unions and slices are
refused. The subset is checked on the expression's text; jsonpath-ng then parses and applies it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jsonpath_ng import JSONPath, parse


class UnsupportedJsonPath(ValueError):
    """The expression is not valid JsonPath, or uses an operator Glue does not support."""


# Glue's operators, each a step after the root. Judged on the expression's own text, so the
# answer never depends on how a jsonpath-ng release names its parse-tree classes.
_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]'",*\s?@()]+)   # .name
      | \['(?P<quoted>[^']*)'\]               # ['name']
      | \.\*                                 # .*
      | \[\*\]                               # [*]
      | \[(?P<index>\d+)\]                   # [number]
    """,
    re.VERBOSE,
)
# What an unsupported step most likely is, to say so in the error (first match wins).
_UNSUPPORTED = [
    (re.compile(r"^\.\."), "recursive descent '..'"),
    (re.compile(r"^\[\?"), "filter"),
    (re.compile(r"^\[[^\]]*:"), "slice"),
    (re.compile(r"^\[\s*\d+\s*,"), "union of indices"),
    (re.compile(r"^\['[^']*'\s*,"), "union of names"),
    (re.compile(r"^\.[^.\[]*,"), "union of names"),
    (re.compile(r"^,"), "union of names"),
]


def compile_json_path(expression: str) -> JSONPath:
    """Parse `expression`, or raise UnsupportedJsonPath saying what is wrong with it."""
    if not isinstance(expression, str) or not expression.strip().startswith("$"):
        raise UnsupportedJsonPath(f"JsonPath {expression!r} must start with the root element '$'")
    text = expression.strip()
    position = 1
    while position < len(text):
        step = _STEP.match(text, position)
        if step is None:
            raise UnsupportedJsonPath(
                f"JsonPath {expression!r} uses an operator Glue does not support "
                f"({_describe(text[position:])}); supported: $, .name, ['name'], * or [*], [number]"
            )
        position = step.end()
    try:
        return parse(text)
    except Exception as exc:  # jsonpath-ng raises plain Exception subclasses for lexer/parser errors
        raise UnsupportedJsonPath(f"JsonPath {expression!r} is not valid: {exc}") from None


def _describe(rest: str) -> str:
    for pattern, what in _UNSUPPORTED:
        if pattern.search(rest):
            return what
    return f"unexpected {rest[:20]!r}"


def records_of(document: Any, path: JSONPath) -> Iterator[Any]:
    """The records a classifier's JsonPath selects from one parsed JSON document.

    `$[*]` on an array yields its elements; `$` yields the document itself.
    """
    for match in path.find(document):
        yield match.value
