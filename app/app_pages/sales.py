"""Sales: KPIs and charts from Athena, refreshing on their own.

Every query goes through `ui.cached_query` / `ui.cached_live_sales`, which run
it at most once per refresh window for all viewers (ten open dashboards cost
one set of scans). The charts' queries are independent and run at once, with
the query for the next watermark (salescdc.analytics.run_live_sales), so a
refresh waits for the slowest, not the sum.
Each chart has an expander with its SQL, run time and data scanned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from app import ui
from salescdc.analytics import NamedQuery, QueryResult
from salescdc.current_state import first_snapshots_sql, tables_empty_at

config = ui.settings()
OP_COLOURS = {"INSERT": "#2e7d32", "MODIFY": "#f9a825", "REMOVE": "#c62828"}

st.title("Sales")
st.caption(
    f"From Athena: `{config.glue_database}.orders` (Iceberg) merged on read with the changes it has not absorbed yet "
    f"(live orders), and `{config.glue_table}` (change events). "
    f"Refreshes every {config.refresh_interval_s} s."
)


def as_of_control() -> dt.datetime | None:
    """The "as of" control: None for now, else a past UTC moment the live-order KPIs and charts travel to."""
    left, right = st.columns([1, 2])
    if not left.toggle("As of a past moment", key="sales_as_of"):
        return None
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None)
    text = right.text_input("Moment (UTC, YYYY-MM-DD HH:MM:SS)", value=now.isoformat(sep=" "), key="sales_as_of_at")
    try:
        return dt.datetime.fromisoformat(text.strip()).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        right.error(f"{text!r} is not a moment like {now.isoformat(sep=' ')}; showing now.")
        return None


def details(queries: dict[str, NamedQuery], name: str, result: QueryResult | None) -> None:
    with st.expander("SQL, run time and data scanned"):
        st.code(queries[name].sql, language="sql")
        if result is not None:
            st.caption(ui.query_stats(result))


def fetch(queries: dict[str, NamedQuery], name: str, shown: set[str],
          answers: dict[str, tuple[QueryResult | None, str | None]]) -> QueryResult | None:
    result, error = answers[queries[name].sql]
    if error:
        # One missing table fails every chart the same way: say it once.
        if error not in shown:
            shown.add(error)
            st.error(f"{queries[name].title}: {error}", icon=":material/error:")
        return None
    return result


def _per_minute(chart: Any) -> Any:
    """Bars a minute wide with minute ticks: with one bucket plotly would otherwise zoom to milliseconds."""
    chart.update_traces(xperiod=60_000, xperiodalignment="start")
    chart.update_xaxes(tickformat="%H:%M", dtick=60_000)
    return chart


def number(frame: pd.DataFrame, column: str) -> float:
    if frame.empty or column not in frame or pd.isna(frame[column].iloc[0]):
        return 0.0
    return float(frame[column].iloc[0])


@st.fragment(run_every=config.refresh_interval_s)
def dashboard(as_of: dt.datetime | None) -> None:
    shown: set[str] = set()
    if as_of is not None:
        st.caption(f"Live orders as the lake knew them at {as_of:%Y-%m-%d %H:%M} UTC (Iceberg time travel); "
                   "the change-event charts still show the last hour.")
    empty_then: frozenset[str] = frozenset()
    if as_of is not None:
        first, error = ui.cached_query(first_snapshots_sql(config))
        empty_then = tables_empty_at(first.frame, as_of) if first is not None else frozenset()
    error, queries, answers = ui.cached_live_sales(as_of, empty_then)
    if error:
        st.info(f"Reading live orders from `{config.view_name}`: the Iceberg table is not readable ({error})",
                icon=":material/info:")
    kpis = fetch(queries, "kpis", shown, answers)
    events = fetch(queries, "events_last_hour", shown, answers)
    cols = st.columns(4)
    if kpis is not None:
        frame = kpis.frame
        cols[0].metric("Revenue", f"{number(frame, 'revenue'):,.2f}")
        cols[1].metric("Live orders", f"{number(frame, 'live_orders'):,.0f}")
        cols[2].metric("Units", f"{number(frame, 'units'):,.0f}")
        cols[3].metric("Average order value", f"{number(frame, 'avg_order_value'):,.2f}")
    details(queries, "kpis", kpis)

    st.subheader("Change events in the last hour")
    cols = st.columns(3)
    if events is not None:
        counts = dict(zip(events.frame.get("op", []), events.frame.get("events", [])))
        for col, (op, label) in zip(cols, [("INSERT", "Inserts"), ("MODIFY", "Updates"), ("REMOVE", "Deletes")]):
            col.metric(label, f"{int(counts.get(op, 0)):,}")
    details(queries, "events_last_hour", events)

    left, right = st.columns(2)
    with left:
        st.subheader("Revenue and units by product")
        result = fetch(queries, "by_product", shown, answers)
        if result is not None and not result.empty:
            frame = result.frame
            chart = px.bar(frame, x="product_name", y="revenue", hover_data=["units", "orders"],
                           labels={"product_name": "product", "revenue": "revenue"})
            st.plotly_chart(chart, key="sales_by_product_revenue")
            chart = px.bar(frame, x="product_name", y="units", labels={"product_name": "product"})
            st.plotly_chart(chart, key="sales_by_product_units")
        elif result is not None:
            st.info("No live orders yet.")
        details(queries, "by_product", result)
    with right:
        st.subheader("Revenue over time")
        result = fetch(queries, "revenue_over_time", shown, answers)
        if result is not None and not result.empty:
            chart = px.bar(result.frame, x="minute", y="revenue", hover_data=["orders"])
            st.plotly_chart(_per_minute(chart), key="sales_revenue_over_time")
        elif result is not None:
            st.info("No new orders in the last hour.")
        details(queries, "revenue_over_time", result)

        st.subheader("Operation mix over time")
        result = fetch(queries, "op_mix_over_time", shown, answers)
        if result is not None and not result.empty:
            chart = px.bar(result.frame, x="minute", y="events", color="op", color_discrete_map=OP_COLOURS)
            st.plotly_chart(_per_minute(chart), key="sales_op_mix")
        elif result is not None:
            st.info("No change events in the last hour.")
        details(queries, "op_mix_over_time", result)

    left, right = st.columns(2)
    with left:
        st.subheader("Top orders")
        result = fetch(queries, "top_orders", shown, answers)
        if result is not None and not result.empty:
            st.dataframe(result.frame, hide_index=True, width="stretch", key="sales_top_orders")
            top = result.frame.iloc[0]
            st.caption(f"Largest order: {top['orderid']} — {top['product_name']}, {int(top['quantity'])} × "
                       f"{float(top['price']):,.2f} = {float(top['order_value']):,.2f}")
        elif result is not None:
            st.info("No live orders yet.")
        details(queries, "top_orders", result)
    with right:
        st.subheader("Price distribution")
        result = fetch(queries, "price_distribution", shown, answers)
        if result is not None and not result.empty:
            chart = px.bar(result.frame, x="price_from", y="orders", labels={"price_from": "unit price from"})
            st.plotly_chart(chart, key="sales_price_distribution")
        elif result is not None:
            st.info("No live orders yet.")
        details(queries, "price_distribution", result)
    st.caption(f"Updated {pd.Timestamp.now(tz='UTC'):%H:%M:%S} UTC")


dashboard(as_of_control())
