"""Orders: page through, search, edit, add and delete orders; then follow a saved change to the lake.

The page only renders: the edit session (baseline, working rows, what a save did
to each row) is `salescdc.edits.EditSession`, kept in session state. Load, the
paging buttons and Save run as `on_click` callbacks, which Streamlit runs before
the next rerun's script: a save takes effect even when the person moves to
another page at once, and its outcome is announced wherever they land.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from app import ui
from salescdc import journey as journeys
from salescdc.edits import BASE, MESSAGE, SHOWN, EditSession
from salescdc.errors import explain
from salescdc.orders import KEY, OrderRepository

PAGE_SIZES = (25, 50, 100)

config = ui.settings()
repo = OrderRepository(config, ui.factory())
ss = st.session_state

ss.setdefault("orders_edit", EditSession())
ss.setdefault("orders_keys", [None])  # start key of each page visited
ss.setdefault("orders_next_key", None)
ss.setdefault("orders_journey", None)
ss.setdefault("orders_load_error", None)


def session() -> EditSession:
    return ss["orders_edit"]


def editor_key() -> str:
    return f"orders_editor_{session().version}"


def load(start_key: Any = None) -> None:
    try:
        page = repo.page(limit=ss.get("orders_page_size", PAGE_SIZES[0]), start_key=start_key,
                         search=ss.get("orders_search", "").strip(), exact=ss.get("orders_exact", False))
    except Exception as exc:  # shown as a sentence, the page stays usable
        ss["orders_load_error"] = explain(exc)
        session().clear()
        return
    ss["orders_load_error"] = None
    session().load(page.items)
    ss["orders_next_key"] = page.next_key


def on_load() -> None:
    ss["orders_keys"] = [None]
    load()


def on_previous() -> None:
    ss["orders_keys"].pop()
    load(ss["orders_keys"][-1])


def on_next() -> None:
    ss["orders_keys"].append(ss["orders_next_key"])
    load(ss["orders_next_key"])


def on_save() -> None:
    """Save the grid's edits (a callback: no st.* element calls, so nothing can cut it off)."""
    result = session().save(repo, ss.get(editor_key()))
    followed = result.followed
    if followed is not None and followed.item is not None:
        ss["orders_journey"] = journeys.start(
            followed.orderid, saved_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1),
            saved_stamp=followed.item.get("updated_at"),
        )
    ok = result.error is None and all(o.ok for o in result.outcomes)
    ui.announce("info" if result.nothing_to_save else "success" if ok else "error", result.summary(), "Orders")


# -- page ------------------------------------------------------------------------
st.title("Orders")
st.caption(f"Table `{config.table_name}`. Edits are saved with conditional writes: a row someone else changed "
           "since you loaded it is not overwritten.")

search_col, exact_col, size_col, button_col = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
search_col.text_input("Search by orderid (prefix)", key="orders_search")
exact_col.checkbox("Exact", key="orders_exact")
size_col.selectbox("Rows per page", PAGE_SIZES, key="orders_page_size")
button_col.button("Load", key="orders_load", type="primary", on_click=on_load)
if session().loaded is None:
    on_load()

if ss["orders_load_error"]:
    st.error(ss["orders_load_error"], icon=":material/error:")

frame = pd.DataFrame(session().rows, columns=[BASE, *SHOWN, MESSAGE])
frame[BASE] = frame[BASE].astype("Int64")
frame["quantity"] = frame["quantity"].astype("Int64")
frame["price"] = frame["price"].astype("float64")
st.data_editor(
    frame,
    key=editor_key(),
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    disabled=["updated_at", MESSAGE],
    column_config={
        BASE: None,
        KEY: st.column_config.TextColumn("orderid", help="Unique; cannot be changed once saved."),
        "product_name": st.column_config.TextColumn("product"),
        "quantity": st.column_config.NumberColumn("quantity", step=1, format="%d"),
        "price": st.column_config.NumberColumn("price", step=0.01, format="%.2f"),
        "updated_at": st.column_config.TextColumn("updated_at (UTC)"),
        MESSAGE: st.column_config.TextColumn("message", width="large"),
    },
)

prev_col, next_col, save_col, _ = st.columns([1, 1, 1, 3])
page_number = len(ss["orders_keys"])
prev_col.button("◀ Previous", key="orders_prev", disabled=page_number <= 1, on_click=on_previous)
next_col.button("Next ▶", key="orders_next", disabled=ss["orders_next_key"] is None, on_click=on_next)
save_col.button("Save changes", key="orders_save", type="primary", on_click=on_save)
st.caption(f"Page {page_number} · {len(session().rows)} rows")

if session().last_save:
    st.subheader("Last save")
    outcome_frame = pd.DataFrame(session().last_save, columns=["status", "action", "orderid", "outcome"])
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
