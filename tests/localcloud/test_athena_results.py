"""A result set written to its result file and read back (GetQueryResults after it left memory)
is the same result set: every value, NULL and '' told apart, the header row and UpdateCount."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.athena.results import ResultSet, _parse_csv
from localcloud.athena.types import column_info

# Any text (results are UTF-8), with the characters the CSV format must escape or could mistake for structure.
characters = st.sampled_from('a,"\n\r\t ü\'') | st.characters(codec="utf-8")
values = st.one_of(st.none(), st.text(alphabet=characters, max_size=12))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=4).flatmap(
    lambda width: st.lists(st.lists(values, min_size=width, max_size=width), max_size=6)))
def test_a_csv_result_reads_back_exactly(rows: list[list[str | None]]) -> None:
    width = len(rows[0]) if rows else 2
    result = ResultSet(columns=[column_info(f"c{i}", "varchar") for i in range(width)], rows=rows)
    back = ResultSet.from_file(result.to_csv(), result.shape, csv=True)
    assert back == result


def test_a_written_result_keeps_its_update_count() -> None:
    result = ResultSet.written(12)
    assert ResultSet.from_file(result.to_csv(), result.shape, csv=True) == result


def test_a_utility_result_reads_back_with_the_tabs_inside_its_one_column() -> None:
    result = ResultSet.utility(["col_name"], [["orderid                 \tstring                  \t"], [""],
                                              ["# Partition Information"]])
    back = ResultSet.from_file(result.to_txt(), result.shape, csv=False)
    assert back == result
    empty = ResultSet.utility([], [])
    assert ResultSet.from_file(empty.to_txt(), empty.shape, csv=False) == empty


def test_text_that_is_not_a_result_csv_is_refused() -> None:
    with pytest.raises(ValueError, match="not a result CSV"):
        _parse_csv('"a"x,"b"\n')
