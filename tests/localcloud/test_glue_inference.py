"""Glue's JSON type inference and merge rules, as pure functions (no server needed)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localcloud.glue.inference import Array, Struct, columns_of, merge, render, type_of
from localcloud.glue.jsonpaths import UnsupportedJsonPath, compile_json_path, records_of


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2], "int"),
        ([1, 2**31], "bigint"),
        ([1, 2.5], "double"),
        ([2**40, 0.5], "double"),
        ([True, False], "boolean"),
        ([True, 1], "string"),
        ([1, "x"], "string"),
        ([None, None], "string"),
        ([None, 3], "int"),
        ([[1], [2.0]], "array<double>"),
        ([[], None], "array<string>"),
        ([{"a": 1}, {"b": "x"}], "struct<a:int,b:string>"),
        ([{"a": 1}, {"a": 2**40}], "struct<a:bigint>"),
        ([{"a": 1}, [1]], "string"),
        ([{"a": {"b": None}}, {"a": {"b": [True]}}], "struct<a:struct<b:array<boolean>>>"),
    ],
)
def test_merge_rules(values: list[object], expected: str) -> None:
    kind = type_of(None)
    for value in values:
        kind = merge(kind, type_of(value))
    assert render(kind) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=5,
)


# The machine is shared; generation speed is not what this test is about.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(json_values, json_values, json_values)
def test_merge_is_order_independent_for_the_rendered_type(a: object, b: object, c: object) -> None:
    ta, tb, tc = type_of(a), type_of(b), type_of(c)
    left, right = merge(merge(ta, tb), tc), merge(ta, merge(tb, tc))
    # Field order follows first appearance, so compare field sets; the types themselves must agree.
    assert _canonical(left) == _canonical(right)
    assert _canonical(merge(ta, tb)) == _canonical(merge(tb, ta))


def _canonical(kind: object) -> object:
    if isinstance(kind, Struct):
        return ("struct", tuple(sorted((k, _canonical(v)) for k, v in kind.fields.items())))
    if isinstance(kind, Array):
        return ("array", _canonical(kind.element))
    return "string" if kind == "null" else kind


def test_columns_keep_first_seen_order() -> None:
    schema = merge(type_of({"b": 1, "a": "x"}), type_of({"c": True, "a": "y"}))
    assert isinstance(schema, Struct)
    assert [c["Name"] for c in columns_of(schema)] == ["b", "a", "c"]


def test_json_path_subset_and_selection() -> None:
    assert [r for r in records_of([{"a": 1}, {"a": 2}], compile_json_path("$[*]"))] == [{"a": 1}, {"a": 2}]
    assert list(records_of({"data": {"rows": [{"x": 1}]}}, compile_json_path("$.data.rows[*]"))) == [{"x": 1}]
    for bad in ("$..a", "$[0:2]", "x", "$[?(@.a)]"):
        with pytest.raises(UnsupportedJsonPath):
            compile_json_path(bad)
