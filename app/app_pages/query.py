"""Query: an Athena SQL editor for ad-hoc questions (the tutorial's Step 11), with CSV export."""

from __future__ import annotations

import streamlit as st

from app import ui
from salescdc.analytics import QueryError, dataframe_to_csv
from salescdc.errors import explain

config = ui.settings()

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

st.text_area("SQL", key="query_sql", height=180)
run = st.button("Run query", key="query_run", type="primary")

if run:
    try:
        with st.spinner("Running on Athena…"):
            st.session_state["query_result"] = ui.analytics().run(st.session_state["query_sql"])
        st.session_state["query_error"] = None
    except QueryError as exc:
        st.session_state["query_result"] = None
        st.session_state["query_error"] = str(exc)
    except Exception as exc:  # any other failure is a sentence on the page
        st.session_state["query_result"] = None
        st.session_state["query_error"] = explain(exc)

error = st.session_state.get("query_error")
result = st.session_state.get("query_result")
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
