"""Decimal columns read from JSON lines keep the number's own digits (localcloud/athena/json_decimals.py).

The engine's decoder runs on real DuckDB over real files, without a cloud: every
value is checked against Python's Decimal of the token's text, rounded half away
from zero to the column's scale (how the engine casts a decimal with more digits).
The pyathena end of it is in tests/localcloud/test_athena_json_numbers.py.
"""

from __future__ import annotations

import decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localcloud.athena import json_decimals
from localcloud.athena.engine import Engine
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import LakeObject, TableSource

D = decimal.Decimal


def source(columns: list[tuple[str, str]], files: int = 1, ignore_malformed: bool = False) -> TableSource:
    objects = [LakeObject("b", f"k{i}", f"e{i}", 1, (("dt", f"2024-05-0{i + 1}"),)) for i in range(files)]
    return TableSource("awsdatacatalog", "db", "t", columns, [("dt", "string")], "json", ignore_malformed, objects)


def decode(engine: Engine, tmp: Path, columns: list[tuple[str, str]], files: list[str],
           ignore_malformed: bool = False) -> list[dict]:
    paths = []
    for i, body in enumerate(files):
        path = engine.cache_dir / f"f{i}.json"  # the loader may read only its cache directory
        path.write_text(body)
        paths.append(path)
    table = engine._decode(source(columns, len(files), ignore_malformed), paths, list(range(len(files))))
    # In file order, then by the values' text (None first): rows of a table have no order of their own.
    return sorted(table.to_pylist(), key=lambda r: (r["__part"], [(v is not None, str(v)) for v in r.values()]))


@pytest.fixture()
def engine(tmp_path: Path):
    e = Engine(tmp_path / "cache")
    yield e
    e.close()


def rounded(token: str, scale: int) -> D:
    with decimal.localcontext(decimal.Context(prec=80)):
        return D(token).quantize(D(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)


def test_a_decimal_38_10_and_a_bigint_past_2_to_the_53_keep_every_digit(engine: Engine, tmp_path: Path) -> None:
    rows = decode(engine, tmp_path, [("price", "decimal(38,10)"), ("qty", "bigint")], [
        '{"price": 12345678901234567890.123456789, "qty": 9007199254740993}\n'
        '{"price": -98765432109876543210.9876543210, "qty": -9223372036854775808}\n'])
    assert [(r["price"], r["qty"]) for r in rows] == [
        (D("-98765432109876543210.9876543210"), -9223372036854775808),
        (D("12345678901234567890.1234567890"), 9007199254740993)]


def test_a_long_token_rounds_by_its_digits_not_by_the_doubles(engine: Engine, tmp_path: Path) -> None:
    # 1.00499999999999999999 is the double 1.005: read through it, it rounds to 1.01.
    rows = decode(engine, tmp_path, [("price", "decimal(10,2)")], [
        '{"price": 1.00499999999999999999}\n{"price": 1.005}\n{"price": 2.5E-1}\n'])
    assert sorted(r["price"] for r in rows) == [D("0.25"), D("1.00"), D("1.01")]


def test_non_numbers_keep_their_answers_in_files_read_again_or_not(engine: Engine, tmp_path: Path) -> None:
    cols = [("price", "decimal(38,10)")]
    for long_number in ("", '{"price": 12345678901234567890.123456789}\n'):  # fast read; exact read again
        rows = decode(engine, tmp_path, cols, [long_number + '{"price": "12.5"}\n{"price": null}\n{"other": 1}\n'])
        assert sorted((r["price"] for r in rows), key=str) == sorted(
            [D("12.5000000000"), None, None] + ([D("12345678901234567890.1234567890")] if long_number else []), key=str)
        for bad in ('{"price": true}', '{"price": {"a": 1}}', '{"price": [1]}', '{"price": "abc"}',
                    '{"price": 1e40}'):
            with pytest.raises(QueryFailed) as failed:
                decode(engine, tmp_path, cols, [long_number + bad + "\n"])
            assert failed.value.error_type == "HIVE_BAD_DATA"


def test_a_batch_is_read_again_only_when_it_holds_a_doubtful_decimal(engine: Engine, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    scans = []
    real_scan = engine._scan

    def counting(cur, source, paths, *args, exact):
        scans.append((exact, [p.name for p in paths]))
        return real_scan(cur, source, paths, *args, exact=exact)

    monkeypatch.setattr(engine, "_scan", counting)
    cols = [("price", "decimal(10,2)"), ("name", "string")]
    plain = ['{"price": 193.72, "name": "a"}\n{"price": 0.1, "name": "b"}\n{"price": "7", "name": "c"}\n',
             '{"price": 99999999.99, "name": "e"}\n{"price": -5, "name": "f"}\n']
    rows = decode(engine, tmp_path, cols, plain)
    assert scans == [(False, ["f0.json", "f1.json"])]  # digits the scale holds: read once
    assert sorted((r["name"], r["price"], r["dt"]) for r in rows) == [
        ("a", D("193.72"), "2024-05-01"), ("b", D("0.10"), "2024-05-01"), ("c", D("7.00"), "2024-05-01"),
        ("e", D("99999999.99"), "2024-05-02"), ("f", D("-5.00"), "2024-05-02")]
    scans.clear()
    rows = decode(engine, tmp_path, cols, [plain[0], plain[1] + '{"price": 1.00499999999999999999, "name": "d"}\n'])
    assert scans == [(False, ["f0.json", "f1.json"]), (True, ["f0.json", "f1.json"])]
    assert sorted((r["name"], r["price"], r["dt"]) for r in rows) == [
        ("a", D("193.72"), "2024-05-01"), ("b", D("0.10"), "2024-05-01"), ("c", D("7.00"), "2024-05-01"),
        ("d", D("1.00"), "2024-05-02"), ("e", D("99999999.99"), "2024-05-02"), ("f", D("-5.00"), "2024-05-02")]


def test_a_malformed_line_of_a_lenient_table_stays_a_row_of_nulls_when_read_again(engine: Engine,
                                                                               tmp_path: Path) -> None:
    rows = decode(engine, tmp_path, [("price", "decimal(38,10)"), ("name", "string")], [
        '{"price": 12345678901234567890.123456789, "name": "a"}\n{"price": oops\n'], ignore_malformed=True)
    assert [(r["name"], r["price"]) for r in rows] == [(None, None), ("a", D("12345678901234567890.1234567890"))]


digits = st.text(alphabet="0123456789", min_size=1, max_size=22)


@st.composite
def number_tokens(draw) -> str:
    whole = draw(digits).lstrip("0") or "0"
    # Often right at a rounding boundary, or nudged off it by far less than a double can hold.
    fraction = draw(st.one_of(digits, st.builds(lambda head, tail: head + tail, st.text("0123456789", max_size=6),
                                                st.sampled_from(["5", "4" + "9" * 20, "5" + "0" * 18 + "1"]))))
    return f"{draw(st.sampled_from(['', '-']))}{whole}.{fraction}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.lists(number_tokens(), min_size=1, max_size=8), scale=st.integers(0, 10))
def test_any_number_token_reads_as_its_digits_rounded_to_the_scale(engine: Engine, tmp_path: Path,
                                                                    tokens: list[str], scale: int) -> None:
    column = f"decimal(38,{scale})"
    fitting = [t for t in tokens if abs(rounded(t, scale)) < D(10) ** (38 - scale)]
    rows = decode(engine, tmp_path, [("v", column)], ["".join(f'{{"v": {t}}}\n' for t in fitting)]) if fitting else []
    assert sorted(r["v"] for r in rows) == sorted(rounded(t, scale) for t in fitting)


def test_decimal_types_are_read_from_glue_type_names() -> None:
    assert json_decimals.decimal_type("decimal(38,10)") == (38, 10)
    assert json_decimals.decimal_type("DECIMAL( 12 )") == (12, 0)
    assert json_decimals.decimal_type("decimal") == (10, 0)
    assert json_decimals.decimal_type("double") is None
    assert json_decimals.decimal_type("array<decimal(10,2)>") is None  # nested: DuckDB reads those typed
