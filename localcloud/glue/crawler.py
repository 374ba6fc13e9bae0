"""One crawl's lifecycle: the run's states on its thread, reading the targets, then planning and writing.

Runs in a background thread started by `CrawlerRunner.launch` (StartCrawler), so
callers see RUNNING first, then STOPPING while it finishes, then READY — as on
AWS. The crawl reads the targets' objects from S3 over HTTP (`s3source.py`),
infers their schemas (`scanning.py`), asks `planning.py` (pure) which tables and
partitions they make, and has `catalog.py` write them into the Data Catalog.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from localcloud.glue.catalog import CatalogWriter
from localcloud.glue.crawllog import CrawlLog
from localcloud.glue.models import CrawlRun, GlueExtrasBackend
from localcloud.glue.planning import TablePlan, folder_url, plan_partitions, plan_s3_target, sample, wanted
from localcloud.glue.s3source import S3PathError, S3Reader, split_s3_path
from localcloud.glue.scanning import FileScan, scan_object
from localcloud.glue.settings import CrawlerConfigError, CrawlerSettings

if TYPE_CHECKING:
    from localcloud.plane import LogWriter

log = logging.getLogger("localcloud.glue.crawler")

# AWS crawls take a minute or more; locally they take milliseconds. A crawl stays
# RUNNING at least this long so a caller polling GetCrawler sees it, then
# STOPPING for a moment while "finishing", like AWS's three states.
MIN_RUNNING_SECONDS = 1.0
STOPPING_SECONDS = 0.2


class CrawlFailed(Exception):
    """The crawl cannot go on; the message becomes LastCrawl.ErrorMessage."""


class CrawlStopped(Exception):
    """StopCrawler was called."""


class Crawl:
    """Everything one crawler run does; `execute()` is the thread body."""

    def __init__(
        self,
        *,
        account_id: str,
        region: str,
        crawler: Any,
        run: CrawlRun,
        extras: GlueExtrasBackend,
        glue: Any,
        logs: LogWriter,
        s3: Any,
        glue_written: Callable[[], None] = lambda: None,
    ):
        """`crawler` is moto's FakeCrawler, `glue` moto's glue backend, `s3` an S3 client (the plane's)."""
        self.account_id = account_id
        self.region = region
        self.crawler = crawler
        self.run = run
        self.extras = extras
        self.glue = glue
        self.glue_written = glue_written  # after each catalog write (CatalogWriter.changed)
        self.reader = S3Reader(s3)
        self.log = CrawlLog(logs, account_id, region, crawler.name, run.crawl_id)
        self.seen_folders: set[str] = set()

    # -- lifecycle -----------------------------------------------------
    def execute(self) -> None:
        started = time.monotonic()
        outcome, error = "COMPLETED", None
        self.log.benchmark(f"Running Start Crawl for Crawler {self.crawler.name}")
        try:
            self._crawl()
        except CrawlStopped:
            outcome = "STOPPED"
            self.log.benchmark("Crawler was stopped before writing to the catalog")
        except (CrawlFailed, CrawlerConfigError, S3PathError) as exc:
            outcome, error = "FAILED", str(exc)
            self.log.error(error)
        except Exception as exc:  # a bug here must end the run as FAILED, never leave it RUNNING
            log.exception("crawl %s of %s failed", self.run.crawl_id, self.crawler.name)
            outcome, error = "FAILED", f"Internal Service Exception: {type(exc).__name__}: {exc}"
            self.log.error(error)
        remaining = MIN_RUNNING_SECONDS - (time.monotonic() - started)
        if remaining > 0 and not self.run.stop_requested.is_set():
            self.run.stop_requested.wait(remaining)
        if self.run.stop_requested.is_set() and outcome == "COMPLETED":
            # Stopped after its writes: AWS still reports the run as cancelled; what it wrote stays.
            outcome = "STOPPED"
            self.log.benchmark("Crawler was stopped; what it had written to the catalog stays")
        self.run.state = "STOPPING"
        time.sleep(STOPPING_SECONDS)
        with self.extras.lock:
            if outcome == "COMPLETED":
                self.extras.crawled_folders.setdefault(self.crawler.name, set()).update(self.seen_folders)
            self.run.error_message = error
            self.run.end_time = datetime.now(timezone.utc)
            self.run.state = outcome
        self.log.benchmark(f"Crawler has finished running and is in state READY ({outcome})")

    def _check_stop(self) -> None:
        if self.run.stop_requested.is_set():
            raise CrawlStopped()

    # -- the crawl -----------------------------------------------------
    def _crawl(self) -> None:
        settings = CrawlerSettings.from_crawler(self.crawler, self.extras.classifiers_snapshot())
        self.settings = settings
        for kind, targets in (self.crawler.targets or {}).items():
            if targets and kind not in ("S3Targets", "CatalogTargets"):
                self.log.warning(f"{kind} are not crawled by the local cloud; only S3 and catalog targets are")
        for name in settings.missing_classifiers:
            self.log.warning(f"Classifier {name} does not exist; the built-in classifiers are used instead")
        self.catalog = CatalogWriter(self.glue, settings, self.crawler.name, self.account_id, self.run, self.log,
                                     self._check_stop, self.glue_written)
        if not self.catalog.has_database(settings.database):
            raise CrawlFailed(f"Database {settings.database} not found. Create it before running the crawler.")
        plans: list[TablePlan] = []
        for target in settings.s3_targets:
            plans.extend(self._plan_s3_target(target))
        for target in settings.catalog_targets:
            plans.extend(self._plan_catalog_target(target))
        self._check_stop()
        if settings.table_threshold is not None:
            known = self.catalog.table_names(settings.database)
            new_tables = [p for p in plans if p.name not in known]
            if len(new_tables) > settings.table_threshold:
                raise CrawlFailed(
                    f"The number of tables detected by crawler: {len(new_tables)} is greater than the table "
                    f"threshold value provided: {settings.table_threshold}"
                )
        self.log.benchmark(f"Classification complete, writing results to database {settings.database}")
        written = set()
        for plan in plans:
            self.catalog.write_table(plan)
            written.add(plan.name)
        if settings.recrawl_behavior != "CRAWL_NEW_FOLDERS_ONLY":
            self.catalog.handle_vanished_tables(written)
        self.log.benchmark("Finished writing to Catalog")
        self.log.info(
            f"Tables created: {self.run.tables_created}, updated: {self.run.tables_updated}, "
            f"deleted: {self.run.tables_deleted}; partitions added: {self.run.partitions_added}, "
            f"updated: {self.run.partitions_updated}, deleted: {self.run.partitions_deleted}; "
            f"malformed records skipped: {self.run.malformed_records}"
        )

    # -- reading -------------------------------------------------------
    def _scan_prefix(self, bucket: str, prefix: str, exclusions: list[str], sample_size: int | None) -> list[FileScan]:
        objects = [o for o in self.reader.list(bucket, prefix) if wanted(o, prefix, exclusions)]
        if self.settings.recrawl_behavior == "CRAWL_NEW_FOLDERS_ONLY":
            known = self.extras.crawled_folders.get(self.crawler.name, set())
            objects = [o for o in objects if folder_url(o) not in known]
        scans = []
        for obj in sample(objects, sample_size):
            self._check_stop()
            scan = scan_object(obj, self.reader.read(obj), self.settings.json_classifiers)
            self.seen_folders.add(folder_url(obj))
            if scan.malformed:
                self.run.malformed_records += scan.malformed
                self.log.warning(
                    f"s3://{obj.bucket}/{obj.key}: skipped {scan.malformed} malformed record(s) "
                    f"that are not JSON objects"
                )
            if scan.usable:
                scans.append(scan)
            else:
                self.log.warning(f"s3://{obj.bucket}/{obj.key} {scan.problem}; it is not catalogued")
        return scans

    # -- planning (the rules are in planning.py) ---------------------------
    def _plan_s3_target(self, target: dict[str, Any]) -> list[TablePlan]:
        bucket, prefix = split_s3_path(target.get("Path", ""))
        scans = self._scan_prefix(bucket, prefix, target.get("Exclusions") or [], target.get("SampleSize"))
        if not scans:
            self.log.warning(f"No data found under {target.get('Path')}; no table is created for it")
            return []
        database = self.settings.database
        return plan_s3_target(bucket, prefix, scans, self.settings,
                              lambda name: self.catalog.location_of(database, name), self.log)

    def _plan_catalog_target(self, target: dict[str, Any]) -> list[TablePlan]:
        database = target.get("DatabaseName") or self.settings.database
        if not self.catalog.has_database(database):
            raise CrawlFailed(f"Database {database} of the catalog target not found")
        plans = []
        for name in target.get("Tables") or []:
            table_input = self.catalog.table_input(database, name)
            if table_input is None:
                raise CrawlFailed(f"Table {database}.{name} of the catalog target not found")
            location = (table_input.get("StorageDescriptor") or {}).get("Location")
            if not location:
                raise CrawlFailed(f"Table {database}.{name} has no StorageDescriptor.Location to crawl")
            bucket, root = split_s3_path(location)
            scans = self._scan_prefix(bucket, root, target.get("Exclusions") or [], None)
            if not scans:
                self.log.warning(f"No data found at {location} for table {database}.{name}")
            declared = [k["Name"] for k in table_input.get("PartitionKeys") or []]
            plan = TablePlan(name, bucket, root, [], scans, database=database)
            plans.append(plan_partitions(plan, declared, self.log))
        return plans
