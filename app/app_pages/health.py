"""Health: every stage's state, throughput and lag, lake freshness, failed records, latest objects."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import ui
from salescdc import current_state, health, lake, launcher, redrive
from salescdc.analytics import Analytics
from salescdc.settings import Settings

config = ui.settings()

st.title("Health")
st.caption("State from each service's describe call; throughput and lag from CloudWatch (last 5 minutes).")


@st.cache_data(ttl=3600, show_spinner=False)
def _stages(config: Settings, bucket: int) -> list[health.StageHealth]:
    return health.pipeline_health(config, ui.factory_for(config))


@st.cache_data(ttl=3600, show_spinner=False)
def _lake(config: Settings, bucket: int) -> tuple[list[lake.LakeObject], list[lake.FailedRecord]]:
    factory = ui.factory_for(config)
    return lake.newest_objects(config, factory, limit=10), lake.processing_failed_records(config, factory)


def _metric_lines(stage: health.StageHealth) -> list[str]:
    labels = {spec.key: spec.label for spec in health.stage_metrics(config).get(stage.stage, [])}
    lines = []
    for key, value in stage.metrics.items():
        shown = "—" if value is None else (f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2f}")
        lines.append(f"{labels.get(key, key)}: **{shown}**")
    if stage.dead_letter_queue:
        depth = "—" if stage.dead_letter_depth is None else f"{stage.dead_letter_depth:,}"
        lines.append(f"dead-letter queue: **{depth}**")
    return lines


@st.fragment(run_every=config.refresh_interval_s)
def stages_view() -> None:
    window = ui.time_bucket(min(5, config.refresh_interval_s))
    with ui.shown_errors("Could not read the pipeline's health: "):
        stages = _stages(config, window)
        for start in range(0, len(stages), 4):
            for column, stage in zip(st.columns(4), stages[start:start + 4]):
                with column.container(border=True):
                    st.markdown(f"**{stage.stage}**")
                    st.badge(f"{stage.status} · {stage.state}", color=ui.badge_colour(stage.status))
                    st.caption(f"`{stage.resource}`")
                    metrics = _metric_lines(stage)
                    if metrics:
                        st.markdown("  \n".join(metrics))
                    if stage.detail:
                        st.caption(stage.detail)

    with ui.shown_errors("Could not read the lake: "):
        objects, failed = _lake(config, window)
        fresh_col, failed_col = st.columns(2)
        if objects:
            newest = objects[0]
            age = (pd.Timestamp.now(tz="UTC") - pd.Timestamp(newest.last_modified)).total_seconds()
            fresh_col.metric("Lake freshness (age of newest object)", f"{max(age, 0):.0f} s")
        else:
            fresh_col.metric("Lake freshness (age of newest object)", "no data yet")
        failed_col.metric("Processing-failed records (newest)", len(failed))

        st.subheader("Latest objects in the lake")
        if objects:
            st.dataframe(
                pd.DataFrame([{"key": o.key, "size (bytes)": o.size, "last modified (UTC)": o.last_modified}
                              for o in objects]),
                hide_index=True, width="stretch", key="health_objects",
            )
        else:
            st.info("No objects under orders/ yet.")

        st.subheader("Processing-failed records")
        if not failed:
            st.success("No records failed the transform.")
        for i, record in enumerate(failed):
            title = f"{record.error_code}: {record.error_message}"
            with st.expander(title[:150]):
                st.caption(f"{record.object_key} · arrived {record.arrival} · attempts {record.attempts}")
                st.code(record.payload, language="json")

    if config.is_local:
        st.subheader("Local cloud runners")
        body = launcher.health(config.endpoint_url or "")
        if body is None:
            st.warning(f"The local cloud at {config.endpoint_url} is not answering.")
        else:
            runners = body.get("runners") or {}
            rows = [
                {"runner": name, "state": str((info or {}).get("state", "")),
                 "last error": str((info or {}).get("last_error") or "")}
                for name, info in runners.items()
            ]
            if rows:
                st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="health_runners")
                with st.expander("Runner details (positions, lag)"):
                    st.json(runners, expanded=False)
            else:
                st.caption("No runners reported.")


stages_view()


@st.fragment(run_every=config.refresh_interval_s)
def iceberg_view() -> None:
    st.subheader(f"Current orders: Iceberg table `{config.glue_database}.{current_state.ORDERS_TABLE}`")
    with ui.shown_errors("Could not read the Iceberg table: "):
        table = current_state.table_health(Analytics(config, ui.factory_for(config)))
        cols = st.columns(5)
        last = "never" if table.last_commit is None or pd.isna(table.last_commit) else f"{table.last_commit:%H:%M:%S}"
        cols[0].metric("Last commit (UTC)", last)
        cols[1].metric("Snapshots", f"{table.snapshots:,}")
        cols[2].metric("Data files", f"{table.files:,}")
        cols[3].metric("Live orders", f"{table.live_orders:,}")
        cols[4].metric("Changes not merged yet", f"{table.pending_changes:,}")
        st.caption(f"Merged on a schedule ({current_state.SCHEDULE_EXPRESSION}); compacted and old snapshots "
                   f"expired {current_state.MAINTENANCE_EXPRESSION} (retention {config.snapshot_retention_s:,} s). "
                   "The Sales page adds the changes not merged yet on read.")


iceberg_view()
merge_col, maintain_col = st.columns(2)
if merge_col.button("Merge now", key="health_merge_now"):
    with st.spinner("Merging new changes into the Iceberg table…"), ui.shown_errors("Merge failed: "):
        run = current_state.merge_now(Analytics(config, ui.factory_for(config)))
        st.success(f"Merged the changes from {run.since or 'the beginning'} on.")
if maintain_col.button("Compact and expire snapshots (OPTIMIZE + VACUUM)", key="health_maintain_now"):
    with st.spinner("Compacting and expiring old snapshots…"), ui.shown_errors("Maintenance failed: "):
        current_state.maintain_now(Analytics(config, ui.factory_for(config)))
        st.success("Compacted the small files and expired the snapshots past the retention.")

st.subheader("Redrive failed records")
st.caption("After fixing what made the transform fail, send every record under errors/processing-failed/ back "
           "through the pipeline, each once. Records that fail again come back as new failed records.")
if st.button("Redrive processing-failed records", key="health_redrive"):
    with st.spinner("Sending the failed records back through the pipeline…"), ui.shown_errors("Redrive failed: "):
        report = redrive.redrive(config, ui.factory_for(config))
        (st.warning if report.errors or report.left_alone or report.not_sent or report.refused
         else st.success)(report.summary())
