"""float_text: CAST(double/real AS varchar) in Trino's scientific notation (DecimalFormat "0.0###…E0")."""

from __future__ import annotations

import re
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.athena.float_text import double_text, real_text

_SHAPE = re.compile(r"-?[1-9]\.[0-9]+E-?[0-9]+")


@pytest.mark.parametrize("value, text", [
    (1.5, "1.5E0"), (0.1, "1.0E-1"), (12345.678, "1.2345678E4"), (1e20, "1.0E20"), (-2.5, "-2.5E0"),
    (0.0, "0E0"), (-0.0, "-0E0"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity"),
    (float("nan"), "NaN"), (5e-324, "4.9E-324"), (None, None),
])
def test_doubles(value: float | None, text: str | None) -> None:
    assert double_text(value) == text


@pytest.mark.parametrize("bits, text", [
    (0x3DCCCCCD, "1.0E-1"),       # 0.1f: Float.toString's digits, not the widened double's
    (0x7F7FFFFF, "3.402823E38"),  # Float.MAX_VALUE 3.4028235E38: 7 digits, rounded half even on the value
    (0x4CEB79A3, "1.234568E8"),   # 123456789f is 1.23456792E8: rounded to 7 digits
    (1, "1.4E-45"),
])
def test_reals(bits: int, text: str) -> None:
    assert real_text(struct.unpack("f", struct.pack("I", bits))[0]) == text


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0))
def test_a_double_reads_back_from_its_text(value: float) -> None:
    text = double_text(value)
    assert _SHAPE.fullmatch(text), text
    assert float(text) == value
