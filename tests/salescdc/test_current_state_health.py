"""What Health shows of the Iceberg table: last commit, snapshots, files, live rows, changes not merged yet."""

from __future__ import annotations

import datetime as dt
import threading

from salescdc.analytics import Analytics
from salescdc.clients import ClientFactory
from salescdc.current_state import absorbed_until, maintain_now, merge_now, table_health
from salescdc.generator import GeneratorOptions, OrderGenerator
from salescdc.settings import Settings
from tests.support.pipeline import all_events_in_lake, dynamodb_rows


def test_table_health_counts_pending_changes_until_merged(pipeline_merged_by_test: tuple[Settings, ClientFactory]) -> None:
    settings, factory = pipeline_merged_by_test
    analytics = Analytics(settings, factory)
    empty = table_health(analytics)
    assert (empty.live_orders, empty.pending_changes, empty.files, empty.absorbed_until) == (0, 0, 0, None)

    options = GeneratorOptions(rate_per_s=150, count=60, update_share=0.3, delete_share=0.1, seed=5)
    OrderGenerator(settings, factory, options).run(threading.Event())
    all_events_in_lake(settings, factory, {})
    events = int(analytics.run("SELECT count(DISTINCT event_id) AS n FROM order_changes").frame["n"].iloc[0])
    before = table_health(analytics)
    assert before.pending_changes == events and before.live_orders == 0

    merge_now(analytics)
    after = table_health(analytics)
    assert after.pending_changes == 0
    assert after.live_orders == len(dynamodb_rows(settings, factory))
    assert after.snapshots > before.snapshots and after.files >= 1 and after.absorbed_until is not None
    assert after.last_commit is not None and after.last_commit != before.last_commit

    maintain_now(analytics)
    compacted = table_health(analytics)
    assert compacted.files == 1 and compacted.live_orders == after.live_orders


def test_the_watermark_is_the_older_tables_so_a_table_left_behind_is_caught_up(
        pipeline_merged_by_test: tuple[Settings, ClientFactory]) -> None:
    """After a pause, the two MERGEs (separate statements, on AWS separate schedules) can leave one
    table days behind the other: merges and merge-on-read must read from the older one's day."""
    settings, factory = pipeline_merged_by_test
    analytics = Analytics(settings, factory)
    db = settings.glue_database
    for table in ("orders", "orders_tombstones"):  # the cloud is shared: start from empty tables
        analytics.run(f'DELETE FROM "{db}"."{table}"')
    assert absorbed_until(analytics) is None
    analytics.run(f"""INSERT INTO "{db}"."orders" VALUES ('o-1', 'Laptop', 1, DECIMAL '10.00',
        TIMESTAMP '2026-11-20 09:00:00', '100', TIMESTAMP '2026-11-20 09:00:00')""")
    # No order deleted yet: an empty tombstones table does not hold the watermark back.
    assert absorbed_until(analytics) == dt.datetime(2026, 11, 20, 9, 0)
    analytics.run(f"""INSERT INTO "{db}"."orders_tombstones" VALUES ('o-2', '200', TIMESTAMP '2026-11-27 18:30:00')""")
    assert absorbed_until(analytics) == dt.datetime(2026, 11, 20, 9, 0)  # orders is a week behind
    analytics.run(f"""INSERT INTO "{db}"."orders" VALUES ('o-3', 'Phone', 2, DECIMAL '5.00',
        TIMESTAMP '2026-11-28 08:00:00', '300', TIMESTAMP '2026-11-28 08:00:00')""")
    assert absorbed_until(analytics) == dt.datetime(2026, 11, 27, 18, 30)
