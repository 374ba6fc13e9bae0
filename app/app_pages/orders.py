"""Orders: page through, search, edit, add and delete orders; then follow a saved change to the lake.

The page only renders: the edit session (baseline, working rows, what a save did
to each row) is `salescdc.edits.EditSession`, kept in session state. Load, the
paging buttons and Save run as `on_click` callbacks, which Streamlit runs before
the next rerun's script; as on the Pipeline page, a callback reads its inputs
from session state first thing and then writes only plain objects fetched while
rendering (the EditSession, `view`, the outbox), so a save takes effect even
when the person moves to another page at once, and its outcome is announced
wherever they land.
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
outbox = ui.outbox()
ss = st.session_state
# Plain objects the callbacks write (never session state itself, see the module docstring).
edit: EditSession = ss.setdefault("orders_edit", EditSession())
view: dict[str, Any] = ss.setdefault("orders_view", {
    "keys": [None],  # start key of each page visited
    "next_key": None,
    "journey": None,
    "load_error": None,
})


def editor_key() -> str:
    return f"orders_editor_{edit.version}"


def load(start_key: Any, search: str, exact: bool, size: int) -> None:
    try:
        page = repo.page(limit=size, start_key=start_key, search=search.strip(), exact=exact)
    except Exception as exc:  # shown as a sentence, the page stays usable
        view["load_error"] = explain(exc)
        edit.clear()
        return
    view["load_error"] = None
    edit.load(page.items)
    view["next_key"] = page.next_key


def _query() -> tuple[str, bool, int]:
    return ss.get("orders_search", ""), bool(ss.get("orders_exact", False)), int(ss.get("orders_page_size",
                                                                                       PAGE_SIZES[0]))


def on_load() -> None:
    query = _query()  # inputs first: the only session-state access
    view["keys"] = [None]
    load(None, *query)


def on_previous() -> None:
    query = _query()
    view["keys"].pop()
    load(view["keys"][-1], *query)


def on_next() -> None:
    query = _query()
    view["keys"].append(view["next_key"])
    load(view["next_key"], *query)


def on_save() -> None:
    """Save the grid's edits; the outcome goes to the rows, the outbox and the journey."""
    edits = ss.get(editor_key())  # inputs first: the only session-state access
    result = edit.save(repo, edits)
    followed = result.followed
    if followed is not None and followed.item is not None:
        view["journey"] = journeys.start(
            followed.orderid, saved_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1),
            saved_stamp=followed.item.get("updated_at"),
        )
    ok = result.error is None and all(o.ok for o in result.outcomes)
    outbox.announce("info" if result.nothing_to_save else "success" if ok else "error", result.summary(), "Orders")


# -- page ------------------------------------------------------------------------
st.title("Orders")
st.caption(f"Table `{config.table_name}`. Edits are saved with conditional writes: a row someone else changed "
           "since you loaded it is not overwritten.")

search_col, exact_col, size_col, button_col = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
search_col.text_input("Search by orderid (prefix)", key="orders_search")
exact_col.checkbox("Exact", key="orders_exact")
size_col.selectbox("Rows per page", PAGE_SIZES, key="orders_page_size")
button_col.button("Load", key="orders_load", type="primary", on_click=on_load)
if edit.loaded is None:
    on_load()

if view["load_error"]:
    st.error(view["load_error"], icon=":material/error:")

frame = pd.DataFrame(edit.rows, columns=[BASE, *SHOWN, MESSAGE])
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
page_number = len(view["keys"])
prev_col.button("◀ Previous", key="orders_prev", disabled=page_number <= 1, on_click=on_previous)
next_col.button("Next ▶", key="orders_next", disabled=view["next_key"] is None, on_click=on_next)
save_col.button("Save changes", key="orders_save", type="primary", on_click=on_save)
st.caption(f"Page {page_number} · {len(edit.rows)} rows")

if edit.last_save:
    st.subheader("Last save")
    outcome_frame = pd.DataFrame(edit.last_save, columns=["status", "action", "orderid", "outcome"])
    st.dataframe(ui.styled_status(outcome_frame), hide_index=True, width="stretch", key="orders_outcome_table")

journey = view["journey"]
if journey is not None:

    @st.fragment(run_every=None if journey.absorbed else 2)
    def journey_view() -> None:
        current = view["journey"]
        if not current.absorbed:
            journeys.refresh(current, config, ui.factory(), ui.analytics())
        st.subheader(f"Change journey of order {current.orderid}")
        st.caption("When the change reached each stage: DynamoDB write → Kinesis arrival → S3 object → "
                   "queryable in Athena → in the Iceberg table `orders` (seconds after the write in the +s "
                   "columns; S3 records whole seconds, so its delay is an upper bound).")
        if current.last_error:
            st.warning(current.last_error)
        rows = current.rows()
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="orders_journey_table")
        else:
            st.info("Waiting for the change to reach the lake…")
        if current.absorbed:
            st.success("The saved change is in the Iceberg table.")
        elif current.complete:
            st.success("The saved change is queryable in Athena.")
            st.caption("The next scheduled MERGE (or Health → Merge now) puts it in the Iceberg table; "
                       f"checked {current.last_checked:%H:%M:%S} UTC, refreshing every 2 s.")
        elif current.last_checked:
            st.caption(f"Checked {current.last_checked:%H:%M:%S} UTC; refreshing every 2 s until it is queryable.")

    journey_view()
