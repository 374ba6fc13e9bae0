"""Query: an Athena SQL editor for ad-hoc questions (the tutorial's Step 11), with CSV export.

Run query acts in an `on_click` callback (run before the next script run): it reads
the SQL first thing, then runs it and keeps the result only in plain objects fetched
while rendering (see app/app_pages/pipeline.py), so the query runs and its outcome
is announced even if the person moves to another page.
"""

from __future__ import annotations

import streamlit as st

from app import ui
from salescdc.analytics import QueryError, dataframe_to_csv
from salescdc.errors import explain

config = ui.settings()
analytics = ui.analytics()
outbox = ui.outbox()
view = st.session_state.setdefault("query_view", {"result": None, "error": None})

st.title("Query")
st.caption(
    f"Athena SQL (Trino dialect) in database `{config.glue_database}`, workgroup `{config.athena_workgroup}`. "
    f"Tables: `{config.glue_table}` (every change event), `{config.view_name}` (one row per live order)."
)

if "query_sql" not in st.session_state:
    # The dt filter prunes partitions: Athena bills by data scanned.
    st.session_state["query_sql"] = (
        f"SELECT *\nFROM {config.glue_table}\nWHERE dt >= CAST(current_date - INTERVAL '1' DAY AS varchar)\n"
        "ORDER BY arrival_time DESC\nLIMIT 20"
    )


def on_run() -> None:
    sql = st.session_state["query_sql"]  # the only session-state access, first thing
    try:
        result = analytics.run(sql)
    except QueryError as exc:
        view["result"], view["error"] = None, str(exc)
    except Exception as exc:  # noqa: BLE001 - any other failure is a sentence on the page
        view["result"], view["error"] = None, explain(exc)
    else:
        view["result"], view["error"] = result, None
        outbox.announce("success", f"Query finished: {len(result.frame)} rows.", "Query")
        return
    outbox.announce("error", f"The query failed: {view['error'][:300]}", "Query")


st.text_area("SQL", key="query_sql", height=180)
st.button("Run query", key="query_run", type="primary", on_click=on_run)

error = view["error"]
result = view["result"]
if error:
    st.error(error, icon=":material/error:")
elif result is not None:
    st.caption(ui.query_stats(result))
    st.dataframe(result.frame, width="stretch", hide_index=True)
    st.download_button(
        "Download CSV",
        data=dataframe_to_csv(result.frame),
        file_name=f"athena-{result.query_id or 'result'}.csv",
        mime="text/csv",
        key="query_download",
    )
