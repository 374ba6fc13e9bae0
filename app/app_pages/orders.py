"""Orders: page through, search, edit, add and delete orders; then follow a saved change to the lake.

The page keeps three things in session state: the items as LOADED (the baseline
every conditional write compares against), the working rows shown in the
editor (with a hidden `_base` column pointing at their loaded item, and a
`message` column with each row's outcome), and the editor's version (bumped
after a save so the editor shows the new working rows).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from app import ui
from salescdc import journey as journeys
from salescdc.errors import explain
from salescdc.orders import (
    CONFLICT,
    EDITABLE,
    KEY,
    SAVED,
    Changes,
    OrderRepository,
    describe,
)

PAGE_SIZES = (25, 50, 100)
SHOWN = (KEY, *EDITABLE, "updated_at")

config = ui.settings()
repo = OrderRepository(config, ui.factory())
ss = st.session_state

ss.setdefault("orders_loaded", None)  # list of items as loaded (baseline)
ss.setdefault("orders_rows", [])  # working rows: dicts with _base, SHOWN columns and message
ss.setdefault("orders_keys", [None])  # start key of each page visited
ss.setdefault("orders_next_key", None)
ss.setdefault("orders_editor_version", 0)
ss.setdefault("orders_outcomes", [])
ss.setdefault("orders_journey", None)
ss.setdefault("orders_load_error", None)


def _row(item: dict[str, Any], base: int | None, message: str = "") -> dict[str, Any]:
    price = item.get("price")
    return {
        "_base": base,
        KEY: item.get(KEY, ""),
        "product_name": item.get("product_name", ""),
        "quantity": item.get("quantity"),
        # The editor works in floats; the baseline keeps the exact Decimal for the conditional write.
        "price": float(price) if isinstance(price, (Decimal, int, float)) else price,
        "updated_at": item.get("updated_at", ""),
        "message": message,
    }


def load(start_key: Any = None) -> None:
    search = ss.get("orders_search", "").strip()
    exact = ss.get("orders_exact", False)
    try:
        page = repo.page(limit=ss.get("orders_page_size", PAGE_SIZES[0]), start_key=start_key,
                         search=search, exact=exact)
    except Exception as exc:  # shown as a sentence, the page stays usable
        ss["orders_load_error"] = explain(exc)
        ss["orders_loaded"], ss["orders_rows"] = [], []
        return
    ss["orders_load_error"] = None
    ss["orders_loaded"] = page.items
    ss["orders_rows"] = [_row(item, i) for i, item in enumerate(page.items)]
    ss["orders_next_key"] = page.next_key
    ss["orders_editor_version"] += 1


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, (list, dict, tuple)) and pd.isna(value):
        return None
    if hasattr(value, "item"):  # numpy scalars -> Python
        return value.item()
    return value


def _differs(loaded: dict[str, Any], row: dict[str, Any]) -> bool:
    for column in (KEY, *EDITABLE):
        before, after = loaded.get(column), row.get(column)
        if column == "price" and before is not None and after is not None:
            try:
                if Decimal(str(before)) == Decimal(repr(float(after))):
                    continue
            except (ValueError, ArithmeticError):
                pass
            return True
        if column == "quantity" and before is not None and after is not None:
            try:
                if float(before) == float(after):
                    continue
            except (TypeError, ValueError):
                pass
            return True
        if (before if before is not None else "") != (after if after is not None else ""):
            return True
    return False


def changes_from(edited: pd.DataFrame) -> tuple[Changes, list[dict[str, Any]]]:
    """The editor's output vs the loaded baseline -> Changes, plus the working rows in order."""
    loaded: list[dict[str, Any]] = ss["orders_loaded"] or []
    rows = [{k: _clean(v) for k, v in record.items()} for record in edited.to_dict("records")]
    changes = Changes()
    kept: set[int] = set()
    for row in rows:
        base = row.get("_base")
        if base is None:
            if any(row.get(c) not in (None, "") for c in (KEY, *EDITABLE)):
                changes.added.append({c: row.get(c) for c in (KEY, *EDITABLE)})
            continue
        base = int(base)
        row["_base"] = base
        kept.add(base)
        if _differs(loaded[base], row):
            changes.edited.append((loaded[base], {**loaded[base], **{c: row.get(c) for c in (KEY, *EDITABLE)}}))
    for row_base in {r.get("_base") for r in ss["orders_rows"]} - kept - {None}:
        changes.deleted.append(loaded[int(row_base)])
    return changes, rows


def apply_outcomes(changes: Changes, rows: list[dict[str, Any]], outcomes: list[Any]) -> None:
    """Fold the save's outcomes back into the baseline and the working rows, with a message per row."""
    loaded: list[dict[str, Any]] = list(ss["orders_loaded"] or [])
    n_edit, n_add = len(changes.edited), len(changes.added)
    edit_out, add_out, del_out = outcomes[:n_edit], outcomes[n_edit:n_edit + n_add], outcomes[n_edit + n_add:]
    by_base = {id(pair[0]): o for pair, o in zip(changes.edited, edit_out)}
    added = iter(zip(changes.added, add_out))
    new_rows: list[dict[str, Any]] = []
    for row in rows:
        base = row.get("_base")
        if base is None:
            if not any(row.get(c) not in (None, "") for c in (KEY, *EDITABLE)):
                continue
            _, outcome = next(added)
            if outcome.status == SAVED:
                loaded.append(outcome.item)
                new_rows.append(_row(outcome.item, len(loaded) - 1, "added"))
            else:
                new_rows.append({**row, "message": _mark(outcome)})
            continue
        outcome = by_base.get(id(ss["orders_loaded"][base]))
        if outcome is None:
            new_rows.append({**row, "message": ""})
        elif outcome.status == SAVED:
            loaded[base] = outcome.item
            new_rows.append(_row(outcome.item, base, "saved"))
        elif outcome.status == CONFLICT:
            if outcome.current is None:
                continue  # deleted by someone else: the outcome list says so
            loaded[base] = outcome.current  # the current value becomes the new baseline
            new_rows.append(_row(outcome.current, base, _mark(outcome)))
        else:
            new_rows.append({**row, "message": _mark(outcome)})
    for deleted, outcome in zip(changes.deleted, del_out):
        if outcome.status == CONFLICT and outcome.current is not None:
            loaded.append(outcome.current)
            new_rows.append(_row(outcome.current, len(loaded) - 1, _mark(outcome)))
        elif outcome.status != SAVED:
            base = next(i for i, item in enumerate(ss["orders_loaded"]) if item is deleted)
            new_rows.append(_row(deleted, base, _mark(outcome)))
    ss["orders_loaded"] = loaded
    ss["orders_rows"] = new_rows
    ss["orders_editor_version"] += 1


def _mark(outcome: Any) -> str:
    return f"{outcome.status}: {outcome.message}"


def save(edited: pd.DataFrame) -> None:
    changes, rows = changes_from(edited)
    if not changes:
        st.toast("Nothing to save.")
        return
    try:
        outcomes = repo.save(changes)
    except Exception as exc:
        ss["orders_outcomes"] = [("failed", "", "", explain(exc))]
        return
    apply_outcomes(changes, rows, outcomes)
    ss["orders_outcomes"] = [
        (o.status, o.action, o.orderid,
         o.message or ("saved" if o.ok else o.status)
         + (f" (current: {describe(o.current)})" if o.status == CONFLICT and o.current and o.action != "edit" else ""))
        for o in outcomes
    ]
    followed = next((o for o in outcomes if o.ok and o.action in ("edit", "add")), None)
    if followed is not None:
        ss["orders_journey"] = journeys.start(
            followed.orderid, saved_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1),
            saved_stamp=followed.item.get("updated_at"),
        )


# -- page ------------------------------------------------------------------------
st.title("Orders")
st.caption(f"Table `{config.table_name}`. Edits are saved with conditional writes: a row someone else changed "
           "since you loaded it is not overwritten.")

search_col, exact_col, size_col, button_col = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
search_col.text_input("Search by orderid (prefix)", key="orders_search")
exact_col.checkbox("Exact", key="orders_exact")
size_col.selectbox("Rows per page", PAGE_SIZES, key="orders_page_size")
if button_col.button("Load", key="orders_load", type="primary") or ss["orders_loaded"] is None:
    ss["orders_keys"] = [None]
    load()

if ss["orders_load_error"]:
    st.error(ss["orders_load_error"], icon=":material/error:")

frame = pd.DataFrame(ss["orders_rows"], columns=["_base", *SHOWN, "message"])
frame["_base"] = frame["_base"].astype("Int64")
frame["quantity"] = frame["quantity"].astype("Int64")
frame["price"] = frame["price"].astype("float64")
edited = st.data_editor(
    frame,
    key=f"orders_editor_{ss['orders_editor_version']}",
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    disabled=["updated_at", "message"],
    column_config={
        "_base": None,
        KEY: st.column_config.TextColumn("orderid", help="Unique; cannot be changed once saved."),
        "product_name": st.column_config.TextColumn("product"),
        "quantity": st.column_config.NumberColumn("quantity", step=1, format="%d"),
        "price": st.column_config.NumberColumn("price", step=0.01, format="%.2f"),
        "updated_at": st.column_config.TextColumn("updated_at (UTC)"),
        "message": st.column_config.TextColumn("message", width="large"),
    },
)

prev_col, next_col, save_col, _ = st.columns([1, 1, 1, 3])
page_number = len(ss["orders_keys"])
if prev_col.button("◀ Previous", key="orders_prev", disabled=page_number <= 1):
    ss["orders_keys"].pop()
    load(ss["orders_keys"][-1])
    st.rerun()
if next_col.button("Next ▶", key="orders_next", disabled=ss["orders_next_key"] is None):
    ss["orders_keys"].append(ss["orders_next_key"])
    load(ss["orders_next_key"])
    st.rerun()
if save_col.button("Save changes", key="orders_save", type="primary"):
    save(edited)
    st.rerun()
st.caption(f"Page {page_number} · {len(ss['orders_rows'])} rows")

if ss["orders_outcomes"]:
    st.subheader("Last save")
    outcome_frame = pd.DataFrame(ss["orders_outcomes"], columns=["status", "action", "orderid", "outcome"])
    st.dataframe(ui.styled_status(outcome_frame), hide_index=True, width="stretch", key="orders_outcome_table")

journey = ss["orders_journey"]
if journey is not None:

    @st.fragment(run_every=None if journey.complete else 2)
    def journey_view() -> None:
        current = ss["orders_journey"]
        if not current.complete:
            journeys.refresh(current, config, ui.factory(), ui.analytics())
        st.subheader(f"Change journey of order {current.orderid}")
        st.caption("When the change reached each stage: DynamoDB write → Kinesis arrival → S3 object → "
                   "queryable in Athena (seconds after the write in the +s columns; S3 records whole seconds, "
                   "so its delay is an upper bound).")
        if current.last_error:
            st.warning(current.last_error)
        rows = current.rows()
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="orders_journey_table")
        else:
            st.info("Waiting for the change to reach the lake…")
        if current.complete:
            st.success("The saved change is queryable in Athena.")
        elif current.last_checked:
            st.caption(f"Checked {current.last_checked:%H:%M:%S} UTC; refreshing every 2 s until it is queryable.")

    journey_view()
