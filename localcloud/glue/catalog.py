"""Catalog writing: make moto's Data Catalog say what a crawl planned, counting every change on the run.

The catalog is moto's glue backend, the same state GetTable/GetPartitions answer
from, reached in-process because it is Glue's own (the crawler is part of the
Glue service). What to write comes from `planning.py`; this module only
compares it with what is there and applies SchemaChangePolicy (UpdateBehavior,
DeleteBehavior) and the recrawl policy, logging each change like AWS's crawl log.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from localcloud import moto_patches
from localcloud.glue.crawllog import CrawlLog
from localcloud.glue.models import CrawlRun
from localcloud.glue.planning import (
    TablePlan,
    crawled_table_input,
    describe_change,
    merged_partition,
    normalise,
    partition_input,
    updated_table_input,
    without_run_id,
)
from localcloud.glue.s3source import S3PathError, split_s3_path
from localcloud.glue.settings import CrawlerSettings


class CatalogWriter:
    """Writes one crawl's tables and partitions into moto's glue backend `glue`."""

    def __init__(self, glue: Any, settings: CrawlerSettings, crawler_name: str, account_id: str, run: CrawlRun,
                 log: CrawlLog, check_stop: Callable[[], None], changed: Callable[[], None] = lambda: None):
        self.glue = glue
        # Called after each write: the catalog is written here in-process, not by a Glue request, so the
        # plane's Glue generation (localcloud/generations.py) moves on only when told.
        self.changed = changed
        self.settings = settings
        self.crawler_name = crawler_name
        self.account_id = account_id
        self.run = run
        self.log = log
        self.check_stop = check_stop  # raises CrawlStopped when StopCrawler was called

    # -- reading what is there ------------------------------------------
    def has_database(self, database: str) -> bool:
        return database in self.glue.databases

    def table_names(self, database: str) -> set[str]:
        return set(self.glue.databases[database].tables)

    def table_input(self, database: str, name: str) -> dict[str, Any] | None:
        """The current TableInput of table `name`, or None when there is no such table."""
        table = self.glue.databases[database].tables.get(name)
        return None if table is None else moto_patches.glue_table_input(table)

    def location_of(self, database: str, name: str) -> str | None:
        """The table's StorageDescriptor.Location ("" if it has none), or None when there is no such table."""
        table_input = self.table_input(database, name)
        if table_input is None:
            return None
        return (table_input.get("StorageDescriptor") or {}).get("Location") or ""

    # -- writing ----------------------------------------------------------
    def write_table(self, plan: TablePlan) -> None:
        self.check_stop()
        database = plan.database or self.settings.database
        crawled = crawled_table_input(plan, self.crawler_name, self.settings.role, self.account_id)
        existing = self.table_input(database, plan.name)
        if existing is None:
            if not plan.scans:
                return
            crawled["Parameters"]["CRAWL_RUN_ID"] = self.run.crawl_id
            self.glue.create_table(database, plan.name, crawled)
            self.changed()
            self.run.tables_created += 1
            self.log.info(f"Created table {plan.name} in database {database}")
            table_input = crawled
        else:
            current = copy.deepcopy(existing)
            desired = (updated_table_input(current, crawled, self.settings.merge_new_columns)
                       if plan.scans else current)
            if without_run_id(desired) == without_run_id(current):
                table_input = current
            elif self.settings.update_behavior == "LOG":
                self.log.info(f"Table {database}.{plan.name} has changes that were not applied "
                              f"(SchemaChangePolicy.UpdateBehavior is LOG): {describe_change(current, desired)}")
                table_input = current
            else:
                desired.setdefault("Parameters", {})["CRAWL_RUN_ID"] = self.run.crawl_id
                self.glue.update_table(database, plan.name, desired)
                self.changed()
                self.run.tables_updated += 1
                self.log.info(f"Updated table {database}.{plan.name}: {describe_change(current, desired)}")
                table_input = desired
        self.write_partitions(database, plan, table_input)

    def write_partitions(self, database: str, plan: TablePlan, table_input: dict[str, Any]) -> None:
        table = self.glue.databases[database].tables[plan.name]
        settings = self.settings
        wanted: dict[str, dict[str, Any]] = {}
        for values in sorted(plan.partitions):
            wanted[str(list(values))] = partition_input(plan, values, table_input, self.crawler_name,
                                                        settings.inherit_partitions_from_table)
        added, updated = [], []
        for key, desired in wanted.items():
            self.check_stop()
            existing = table.partitions.get(key)
            if existing is None:
                table.create_partition(desired)
                self.changed()
                added.append(desired["Values"])
                continue
            current = copy.deepcopy(existing.partition_input)
            if settings.merge_new_columns and not settings.inherit_partitions_from_table:
                desired = merged_partition(current, desired)
            if desired != current and settings.update_behavior == "UPDATE_IN_DATABASE":
                table.update_partition(current["Values"], desired)
                self.changed()
                updated.append(desired["Values"])
        if added:
            self.run.partitions_added += len(added)
            self.log.info(f"Created partitions with values {added} for table {database}.{plan.name}")
        if updated:
            self.run.partitions_updated += len(updated)
            self.log.info(f"Updated partitions with values {updated} for table {database}.{plan.name}")
        if settings.recrawl_behavior == "CRAWL_NEW_FOLDERS_ONLY":
            return  # an incremental crawl does not look at partitions it already knows
        gone = [p for key, p in list(table.partitions.items()) if key not in wanted]
        for partition in gone:
            values = partition.partition_input.get("Values", [])
            if settings.delete_behavior == "DELETE_FROM_DATABASE":
                table.delete_partition(values)
                self.changed()
                self.run.partitions_deleted += 1
                self.log.info(f"Deleted partition {values} of table {database}.{plan.name}: its data is gone")
            else:
                self.log.info(f"Partition {values} of table {database}.{plan.name} has no data any more "
                              f"(DeleteBehavior {settings.delete_behavior}: kept)")

    def handle_vanished_tables(self, written: set[str]) -> None:
        """Tables this crawler made under its S3 paths whose data is gone: DeleteBehavior decides."""
        settings = self.settings
        paths = []
        for target in settings.s3_targets:
            try:
                paths.append("s3://%s/%s" % split_s3_path(target.get("Path", "")))
            except S3PathError:
                continue
        database = self.glue.databases[settings.database]
        for name, table in list(database.tables.items()):
            table_input = moto_patches.glue_table_input(table)
            location = normalise(((table_input.get("StorageDescriptor") or {}).get("Location") or ""))
            params = table_input.get("Parameters") or {}
            if name in written or params.get("UPDATED_BY_CRAWLER") != self.crawler_name:
                continue
            if not any(location.startswith(path) for path in paths):
                continue
            if settings.delete_behavior == "DELETE_FROM_DATABASE":
                self.glue.delete_table(settings.database, name)
                self.changed()
                self.run.tables_deleted += 1
                self.log.info(f"Deleted table {name}: no data at {location} any more")
            elif settings.delete_behavior == "DEPRECATE_IN_DATABASE":
                if "DEPRECATED_BY_CRAWLER" not in params:
                    deprecated = copy.deepcopy(table_input)
                    # AWS stamps the deprecation time in epoch milliseconds
                    deprecated.setdefault("Parameters", {})["DEPRECATED_BY_CRAWLER"] = str(int(time.time() * 1000))
                    self.glue.update_table(settings.database, name, deprecated)
                    self.changed()
                    self.run.tables_updated += 1
                    self.log.info(f"Marked table {name} deprecated: no data at {location} any more")
            else:
                self.log.info(f"Table {name} has no data at {location} any more (DeleteBehavior LOG: kept)")
