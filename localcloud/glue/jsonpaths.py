"""The JsonPath subset Glue's JSON classifiers accept, and applying one to a document.

Glue documents ("Writing JsonPath custom classifiers") these operators only:
`$` (root), `.<name>` and `['<name>']` (child), `*` / `[*]` (wildcard) and
`[<number>]` (array index). Recursive descent, filters, unions and slices are
refused. Parsing is jsonpath-ng's; we only walk its tree to enforce the subset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonpath_ng import JSONPath, parse
from jsonpath_ng.jsonpath import Child, Fields, Index, Root, Slice


class UnsupportedJsonPath(ValueError):
    """The expression is not valid JsonPath, or uses an operator Glue does not support."""


def compile_json_path(expression: str) -> JSONPath:
    """Parse `expression`, or raise UnsupportedJsonPath saying what is wrong with it."""
    if not isinstance(expression, str) or not expression.strip().startswith("$"):
        raise UnsupportedJsonPath(f"JsonPath {expression!r} must start with the root element '$'")
    try:
        tree = parse(expression.strip())
    except Exception as exc:  # jsonpath-ng raises plain Exception subclasses for lexer/parser errors
        raise UnsupportedJsonPath(f"JsonPath {expression!r} is not valid: {exc}") from None
    _check_supported(tree, expression)
    return tree


def _check_supported(node: JSONPath, expression: str) -> None:
    if isinstance(node, Root):
        return
    if isinstance(node, Child):
        _check_supported(node.left, expression)
        _check_supported(node.right, expression)
        return
    if isinstance(node, Fields) and len(node.fields) == 1:
        return
    if isinstance(node, Index) and len(node.indices) == 1:
        return
    if isinstance(node, Slice) and node.start is None and node.end is None and node.step is None:
        return  # `[*]`
    raise UnsupportedJsonPath(
        f"JsonPath {expression!r} uses an operator Glue does not support ({_describe(node)}); "
        "supported: $, .name, ['name'], * or [*], [number]"
    )


def _describe(node: JSONPath) -> str:
    # jsonpath-ng's own str() fails on some nodes (multi-index), so name the operator ourselves.
    kinds = {"Descendants": "recursive descent '..'", "Fields": "union of names", "Index": "union of indices",
             "Slice": "slice", "Where": "filter", "Union": "union"}
    return kinds.get(type(node).__name__, type(node).__name__)


def records_of(document: Any, path: JSONPath) -> Iterator[Any]:
    """The records a classifier's JsonPath selects from one parsed JSON document.

    `$[*]` on an array yields its elements; `$` yields the document itself.
    """
    for match in path.find(document):
        yield match.value
