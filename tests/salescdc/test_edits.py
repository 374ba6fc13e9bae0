"""The Orders edit session without a cloud: the grid's edits -> Changes, and outcomes folded back per row."""

from __future__ import annotations

from decimal import Decimal

from salescdc.edits import EditSession, SaveResult, differs
from salescdc.orders import CONFLICT, FAILED, INVALID, SAVED, Changes, RowOutcome


def item(orderid: str, quantity: int = 2, price: str = "193.72", **extra) -> dict:
    return {"orderid": orderid, "product_name": "Phone", "quantity": quantity, "price": Decimal(price),
            "updated_at": "2026-01-01T00:00:00.000Z", **extra}


def loaded(*items: dict) -> EditSession:
    session = EditSession()
    session.load(items)
    return session


def test_load_shows_floats_keeps_exact_baseline_and_bumps_the_version():
    session = loaded(item("1"), item("2", price="0.10"))
    assert session.version == 1
    assert [r["price"] for r in session.rows] == [193.72, 0.1]
    assert session.loaded[1]["price"] == Decimal("0.10")
    assert [r["_base"] for r in session.rows] == [0, 1]


def test_unedited_rows_are_no_change_even_through_floats():
    session = loaded(item("1", price="193.72"), item("2", price="0.29"))
    assert not session.changes(session.rows_after(None))
    assert not session.changes(session.rows_after({"edited_rows": {0: {"price": 193.72}}}))
    assert not differs(session.loaded[0], {**session.rows[0], "quantity": 2.0})


def test_grid_edits_become_edited_added_and_deleted():
    session = loaded(item("1", extra_attr="kept"), item("2"), item("3"))
    rows = session.rows_after({
        "edited_rows": {"0": {"quantity": 5}},  # the browser sends positions as text
        "added_rows": [{"orderid": "9", "product_name": "Tablet", "quantity": 1, "price": 9.99}, {}],
        "deleted_rows": [2],
    })
    changes = session.changes(rows)
    [(before, after)] = changes.edited
    assert before is session.loaded[0] and after["quantity"] == 5 and after["extra_attr"] == "kept"
    assert changes.added == [{"orderid": "9", "product_name": "Tablet", "quantity": 1, "price": 9.99}]
    assert changes.deleted == [session.loaded[2]]


def test_outcomes_fold_back_one_message_per_row():
    session = loaded(item("1"), item("2"), item("3"), item("4"))
    rows = session.rows_after({
        "edited_rows": {0: {"quantity": 5}, 1: {"quantity": 0}, 2: {"quantity": 7}},
        "added_rows": [{"orderid": " 9", "product_name": "Tablet", "quantity": 1, "price": 1}],
        "deleted_rows": [3],
    })
    changes = session.changes(rows)
    saved = {**session.loaded[0], "quantity": 5, "updated_at": "2026-02-02T00:00:00.000Z"}
    current = {**session.loaded[2], "quantity": 4}
    outcomes = [
        RowOutcome("edit", "1", SAVED, item=saved),
        RowOutcome("edit", "2", INVALID, ("quantity must be a whole number from 1 to 2,147,483,647, not 0.",)),
        RowOutcome("edit", "3", CONFLICT, ("Order 3 changed since it was loaded.",), current=current),
        RowOutcome("add", " 9", INVALID, ("orderid must not start or end with spaces, not ' 9'.",)),
        RowOutcome("delete", "4", FAILED, ("Throttled. Try again in a moment.",)),
    ]
    version = session.version
    session.apply(changes, rows, outcomes)
    assert session.version == version + 1
    by_id = {r["orderid"]: r for r in session.rows}
    assert by_id["1"]["message"] == "saved" and by_id["1"]["quantity"] == 5
    assert by_id["2"]["message"].startswith("invalid: quantity") and by_id["2"]["quantity"] == 0  # as typed
    assert by_id["3"]["message"].startswith("conflict:") and by_id["3"]["quantity"] == 4  # the current value
    assert by_id[" 9"]["message"].startswith("invalid: orderid") and by_id[" 9"]["_base"] is None
    assert by_id["4"]["message"].startswith("failed:")  # the delete did not happen: the row is back
    # The baseline follows: the saved and the conflicting rows compare against what the table now holds.
    assert session.loaded[0] == saved and session.loaded[2] == current
    for orderid in ("1", "3"):
        assert not differs(session.loaded[by_id[orderid]["_base"]], by_id[orderid])


def test_a_conflict_with_a_deleted_item_drops_the_row():
    session = loaded(item("1"))
    rows = session.rows_after({"edited_rows": {0: {"quantity": 3}}})
    changes = session.changes(rows)
    session.apply(changes, rows, [RowOutcome("edit", "1", CONFLICT, ("deleted by someone else",), current=None)])
    assert session.rows == []


def test_save_result_sentences():
    assert SaveResult([], nothing_to_save=True).summary() == "Nothing to save."
    assert SaveResult([], error="The table does not exist.").summary() == "Save failed: The table does not exist."
    mixed = SaveResult([RowOutcome("edit", "1", SAVED, item=item("1")), RowOutcome("add", "2", INVALID, ("x",))])
    assert mixed.summary().startswith("Saved 1 of 2 changed rows; 1 need attention")
    assert mixed.followed is not None and mixed.followed.orderid == "1"


def test_save_with_nothing_changed_does_not_call_the_repository():
    class Unreachable:
        def save(self, changes: Changes, now=None):  # pragma: no cover - must not be called
            raise AssertionError("save called without changes")

    session = loaded(item("1"))
    assert session.save(Unreachable(), {"edited_rows": {}, "added_rows": [{}], "deleted_rows": []}).nothing_to_save
