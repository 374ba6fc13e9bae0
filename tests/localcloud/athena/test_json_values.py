"""json_values: Jackson's canonical JSON text as Trino's json_parse writes it."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.athena.json_values import _java_double, canonical, trino_json_parse


@pytest.mark.parametrize(("value", "java"), [
    # Double.toString: plain from 10^-3 up to 10^7, else computerized scientific notation.
    (1.5, "1.5"), (100.0, "100.0"), (0.001, "0.001"), (9999999.0, "9999999.0"), (1e7, "1.0E7"),
    (12345678.9, "1.23456789E7"), (0.0001, "1.0E-4"), (1.234e-5, "1.234E-5"), (-2.5, "-2.5"), (0.0, "0.0"),
    (-0.0, "-0.0"), (1e20, "1.0E20"), (0.1 + 0.2, "0.30000000000000004"),
    (1.7976931348623157e308, "1.7976931348623157E308"),
])
def test_doubles_are_written_as_javas_double_to_string(value: float, java: str) -> None:
    assert _java_double(value) == java


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_written_double_reads_back_as_itself(value: float) -> None:
    text = _java_double(value)
    assert float(text) == value and math.copysign(1, float(text)) == math.copysign(1, value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_canonical_text_is_json_with_sorted_keys_and_is_stable(value: object) -> None:
    text = canonical(value)
    parsed = json.loads(text)
    assert canonical(parsed) == text  # parsing Trino's own output again changes nothing

    def keys_sorted(node: object) -> bool:
        if isinstance(node, dict):
            keys = [k.encode("utf-16-be", "surrogatepass") for k in node]
            return keys == sorted(keys) and all(keys_sorted(v) for v in node.values())
        return all(keys_sorted(v) for v in node) if isinstance(node, list) else True

    assert keys_sorted(json.loads(text, object_pairs_hook=dict))


def test_control_characters_use_jacksons_escapes() -> None:
    assert trino_json_parse('["a\\u0001b\\n\\"\\\\/"]') == '["a\\u0001b\\n\\"\\\\/"]'
    assert trino_json_parse('"\\u001f\\u00e9"') == '"\\u001Fé"'
