"""Pipeline: where it runs, Provision / Teardown / Run crawler, live status and diagram, the generator.

Every button acts in an `on_click` callback, which Streamlit runs before the next
script run. Streamlit can stop a superseded run at any st.* call or session-state
access, so a callback reads its inputs from session state first thing, then acts
and records the outcome only in plain objects fetched while rendering (the
session's `ui.Outbox`, `actions.Registry`): moving to another page at once cannot
cut an action off. Provision and Teardown take long, so their callbacks start
them in a thread (`app.actions`) whose progress this page shows live; every
outcome is announced on whatever page the person is on by then.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from app import actions, ui
from salescdc import cost, infra
from salescdc.errors import explain
from salescdc.generator import GeneratorOptions, GeneratorProcess
from salescdc.generator.process import GeneratorState
from salescdc.infra import Presence
from salescdc.infra import resources as declared
from salescdc.settings import Settings

PAGE = "Pipeline"

config = ui.settings()
factory = ui.factory()
outbox = ui.outbox()
registry = actions.registry()
ss = st.session_state

st.title("Pipeline")


# -- target ------------------------------------------------------------------------
@st.cache_data(ttl=300, show_spinner=False)
def _account(config: Settings) -> str:
    return ui.factory_for(config).account_id()


with st.container(border=True):
    st.markdown(f"**Target:** {ui.target_caption(config)}")
    if not config.is_local:
        with ui.shown_errors("Cannot identify the AWS account: "):
            st.markdown(f"**Account:** {_account(config)}")
    st.caption(
        f"Table `{config.table_name}` → pipe `{config.pipe_name}` → stream `{config.stream_name}` → "
        f"Firehose `{config.firehose_name}` (Lambda `{config.lambda_name}`) → S3 → Glue `{config.glue_database}` "
        f"→ Athena `{config.athena_workgroup}`"
    )


# -- provision / teardown / crawler ------------------------------------------------------
def _progress_table(events: list[Any]) -> pd.DataFrame:
    return pd.DataFrame([{"resource": f"{e.kind} {e.name}", "step": e.phase, "reason": e.reason} for e in events])


@st.cache_data(ttl=5, show_spinner=False)
def _inspect(config: Settings) -> list[infra.ResourceStatus]:
    return infra.inspect(config, ui.factory_for(config))


def on_provision() -> None:
    registry.start("infra", "Provisioning", PAGE, lambda p: infra.provision(config, factory, progress=p),
                   on_done=_inspect.clear)


def on_teardown() -> None:
    delete_data = str(ss["pipeline_teardown_data"]).startswith("Delete")
    registry.start("infra", "Tearing down", PAGE,
                   lambda p: infra.teardown(config, factory, delete_data=delete_data, progress=p),
                   on_done=_inspect.clear)


def on_run_crawler() -> None:
    try:
        state = infra.start_crawler(config, factory)
        outbox.announce("success", f"Crawler {config.crawler_name}: {state}.", PAGE)
    except Exception as exc:  # noqa: BLE001 - shown as a sentence
        outbox.announce("error", explain(exc), PAGE)


busy = registry.get("infra")
busy = busy if busy is not None and busy.running else None
buttons = st.columns([1, 1, 1, 3])
buttons[0].button("Provision", key="pipeline_provision", type="primary", on_click=on_provision,
                  disabled=busy is not None)
buttons[1].button("Run crawler", key="pipeline_crawler", on_click=on_run_crawler)
buttons[2].button("Refresh status", key="pipeline_refresh", on_click=_inspect.clear)

with st.expander("Teardown"):
    st.write("Deletes every resource this project created (only resources carrying its tag).")
    st.radio(
        "Lake data",
        ["Keep the data (the bucket stays if it holds objects)", "Delete the data too"],
        key="pipeline_teardown_data",
    )
    typed = st.text_input(f"Type the table name `{config.table_name}` to confirm", key="pipeline_teardown_confirm")
    st.button("Teardown", key="pipeline_teardown", disabled=typed.strip() != config.table_name or busy is not None,
              on_click=on_teardown)

if busy is not None:

    @st.fragment(run_every=1)
    def progress_view() -> None:
        action = registry.get("infra")
        if action is None or not action.running:
            st.rerun(scope="app")  # done: the whole page shows the outcome and the new status
            return
        with st.status(f"{action.label}…", expanded=True):
            events = action.snapshot()
            if events:
                st.dataframe(_progress_table(events), hide_index=True, width="stretch")

    progress_view()

# The outcome of this page's last action (also announced as a toast on whatever page is open).
last = outbox.last_of(PAGE)
if last is not None and busy is None:
    (st.success if last.kind == "success" else st.error if last.kind == "error" else st.info)(last.text)

# -- status + diagram ------------------------------------------------------------------
def _node_status(statuses: dict[str, infra.ResourceStatus], kind: str) -> tuple[str, str]:
    found = statuses.get(kind)
    if found is None:
        return Presence.MISSING, ""
    return found.status, found.state


def diagram(statuses: list[infra.ResourceStatus]) -> str:
    """The pipeline as Graphviz DOT, each box coloured by what `inspect` found."""
    by_kind = {s.kind: s for s in statuses if s.kind != declared.ROLE}
    nodes = [
        (declared.TABLE, "DynamoDB table"),
        (declared.PIPE, "EventBridge Pipe"),
        (declared.STREAM, "Kinesis stream"),
        (declared.FIREHOSE, "Firehose"),
        (declared.FUNCTION, "Lambda transform"),
        (declared.BUCKET, "S3 lake"),
        (declared.CRAWLER, "Glue crawler"),
        (declared.GLUE_TABLE, f"Glue table\n{config.glue_table}"),
        (declared.VIEW, f"Athena view\n{config.view_name}"),
    ]
    lines = [
        "digraph pipeline {",
        # Two rows (capture, then lake and catalogue) so the boxes stay readable at page width.
        "  rankdir=TB; bgcolor=transparent; nodesep=0.35; ranksep=0.45;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=16, margin="0.15,0.08"];',
        '  edge [fontname="Helvetica", fontsize=12];',
    ]
    for kind, label in nodes:
        status, state = _node_status(by_kind, kind)
        text = label + (f"\n{state}" if state else f"\n{status}")
        lines.append(f'  "{kind}" [label="{text}", fillcolor="{ui.background_colour(status)}"];')
    edges = [
        (declared.TABLE, declared.PIPE, "stream"),
        (declared.PIPE, declared.STREAM, ""),
        (declared.STREAM, declared.FIREHOSE, ""),
        (declared.FIREHOSE, declared.FUNCTION, "transform"),
        (declared.FIREHOSE, declared.BUCKET, "NDJSON"),
        (declared.BUCKET, declared.CRAWLER, ""),
        (declared.CRAWLER, declared.GLUE_TABLE, ""),
        (declared.GLUE_TABLE, declared.VIEW, ""),
    ]
    for a, b, label in edges:
        lines.append(f'  "{a}" -> "{b}" [label="{label}"];')
    top = [declared.TABLE, declared.PIPE, declared.STREAM, declared.FIREHOSE, declared.FUNCTION]
    bottom = [declared.BUCKET, declared.CRAWLER, declared.GLUE_TABLE, declared.VIEW]
    for row in (top, bottom):
        lines.append("  { rank=same; " + " ".join(f'"{kind}";' for kind in row) + " }")
    lines.append("}")
    return "\n".join(lines)


st.subheader("Resources")
statuses: list[infra.ResourceStatus] = []
try:
    statuses = _inspect(config)
except Exception as exc:
    ui.show_error(exc, "Cannot read the pipeline's resources: ")
st.graphviz_chart(diagram(statuses), width="stretch")
if statuses:
    st.dataframe(
        pd.DataFrame(
            [
                {"kind": s.kind, "name": s.name, "status": s.status, "state": s.state, "detail": s.detail}
                for s in statuses
            ]
        ).pipe(ui.styled_status),
        hide_index=True,
        width="stretch",
        key="pipeline_status_table",
    )


# -- generator ---------------------------------------------------------------------------
def generator() -> GeneratorProcess:
    return GeneratorProcess(config.state_dir, config)


st.subheader("Order generator")
rate_col, update_col, delete_col = st.columns(3)
rate_col.number_input("Orders per second", min_value=0.05, max_value=500.0, value=1.0, step=0.5,
                      key="pipeline_rate")
update_col.slider("Share of updates", 0.0, 1.0, 0.2, 0.05, key="pipeline_update_share")
delete_col.slider("Share of deletes", 0.0, 1.0, 0.05, 0.05, key="pipeline_delete_share")


def on_start_generator() -> None:
    # Inputs first, in one go: the only moment this callback touches session state (see the docstring).
    rate_per_s, update_share, delete_share = (ss["pipeline_rate"], ss["pipeline_update_share"],
                                              ss["pipeline_delete_share"])
    try:
        options = GeneratorOptions(rate_per_s=float(rate_per_s), update_share=float(update_share),
                                   delete_share=float(delete_share))
        status = generator().start(options)
        outbox.announce("success", f"Generator started at {options.rate_per_s:g} orders/s"
                        + (f" (pid {status.pid})." if status.pid else "."), PAGE)
    except Exception as exc:  # noqa: BLE001 - shown as a sentence
        outbox.announce("error", f"The generator did not start: {explain(exc)}", PAGE)


def on_stop_generator() -> None:
    try:
        status = generator().stop()
        outbox.announce("success", f"Generator stopped ({status.state}).", PAGE)
    except Exception as exc:  # noqa: BLE001 - shown as a sentence
        outbox.announce("error", f"The generator did not stop: {explain(exc)}", PAGE)


start_col, stop_col, _ = st.columns([1, 1, 4])
start_col.button("Start generator", key="pipeline_start_generator", type="primary", on_click=on_start_generator)
stop_col.button("Stop generator", key="pipeline_stop_generator", on_click=on_stop_generator)


def _generator_live() -> bool:
    try:
        return generator().status().state in (GeneratorState.STARTING, GeneratorState.RUNNING)
    except Exception:  # noqa: BLE001 - unknown: keep refreshing, the view shows the error
        return True


# Refreshes itself only while a generator runs: fewer fragment runs racing a person's clicks.
@st.fragment(run_every=2 if _generator_live() else None)
def generator_view() -> None:
    try:
        status = generator().status()
    except Exception as exc:
        ui.show_error(exc, "Cannot read the generator's status: ")
        return
    stats = status.stats
    cols = st.columns(6)
    cols[0].metric("Generator", status.state)
    counts = stats.by_kind() if stats else {"insert": 0, "update": 0, "delete": 0}
    cols[1].metric("Inserts", f"{counts['insert']:,}")
    cols[2].metric("Updates", f"{counts['update']:,}")
    cols[3].metric("Deletes", f"{counts['delete']:,}")
    cols[4].metric("Errors", f"{sum(stats.errors.values()) if stats else 0:,}")
    cols[5].metric("Rate", f"{stats.achieved_rate_per_s:.2f}/s" if stats else "—")
    if stats and stats.last_write_at:
        st.caption(f"Last write {time.strftime('%H:%M:%S', time.gmtime(stats.last_write_at))} UTC"
                   + (f" · pid {status.pid}" if status.pid else ""))
    if status.last_error:
        st.warning(status.last_error)
    if not config.is_local:
        running_rate = status.options.rate_per_s if status.running and status.options else 0.0
        queries_per_hour = len(_sales_query_count()) * 3600 / config.refresh_interval_s
        estimate = cost.estimate_hourly_cost(
            config.region, running_rate, config.effective_buffer_interval_s, queries_per_hour
        )
        with st.container(border=True):
            st.markdown(f"**Estimated cost: ${estimate.total_usd_per_hour:.3f} per hour** "
                        f"({running_rate:g} changes/s, Sales page open)")
            st.dataframe(
                pd.DataFrame([{"service": line.service, "usage per hour": line.usage,
                               "USD per hour": round(line.usd_per_hour, 4)} for line in estimate.lines]),
                hide_index=True, width="stretch",
            )
            st.caption(estimate.note)


def _sales_query_count() -> list[str]:
    from salescdc.analytics import sales_queries

    return list(sales_queries(config))


generator_view()
