"""One crawl: read the crawler's targets, infer tables and partitions, write them to the catalog.

Runs in a background thread started by StartCrawler, so callers see RUNNING
first, then STOPPING while it finishes, then READY — as on AWS. The catalog is
moto's glue backend (the same state GetTable/GetPartitions answer from), and
the data is moto's S3.

How tables are found, as Glue documents it:
- an S3 target's include path is a table root unless its sub-folders hold
  dissimilar schemas (less than 70 % of columns shared), in which case each
  sub-folder is tried as a table root; `CombineCompatibleSchemas` always keeps
  one table and `TableLevelConfiguration` fixes the level;
- folders below a table root are partitions: `key=value` folders give the
  partition column `key`, other folders `partition_<n>`; partition columns are strings;
- a table is named after its root folder (the bucket name at the bucket root),
  lowercased with every other character than a-z, 0-9 and _ turned into _,
  prefixed with TablePrefix; a name already used by a table at another location
  gets a short hash of the location appended;
- a catalog target crawls the location of an existing table and updates that
  table, keeping its name and partition keys.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from localcloud import moto_patches
from localcloud.glue.crawllog import CrawlLog
from localcloud.glue.inference import Struct, columns_of, lowercase_columns, merge_struct, similarity
from localcloud.glue.models import CrawlRun, GlueExtrasBackend
from localcloud.glue.s3source import S3Object, S3PathError, S3Reader, split_s3_path
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

# Below this share of common columns, sibling folders are separate tables (Glue's similarity rule).
SIMILARITY_THRESHOLD = 0.7

JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

# Parameters the crawler owns: MergeNewColumns may overwrite these and no others.
CRAWLER_PARAMETERS = (
    "CRAWL_RUN_ID", "CrawlerSchemaDeserializerVersion", "CrawlerSchemaSerializerVersion", "UPDATED_BY_CRAWLER",
    "averageRecordSize", "classification", "compressionType", "objectCount", "recordCount", "sizeKey", "typeOfData",
)


class CrawlFailed(Exception):
    """The crawl cannot go on; the message becomes LastCrawl.ErrorMessage."""


class CrawlStopped(Exception):
    """StopCrawler was called."""


@dataclass
class TablePlan:
    """One table the crawl found: where it is, its partition keys, its files by partition."""

    name: str
    bucket: str
    root: str  # key prefix, '' or ending in '/'
    partition_keys: list[str]
    scans: list[FileScan]
    # partition values -> files; files at the table root have no partition
    partitions: dict[tuple[str, ...], list[FileScan]] = field(default_factory=dict)
    # the catalog target's database; None means the crawler's own
    database: str | None = None

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.root}"

    def partition_location(self, values: tuple[str, ...]) -> str:
        folder = self.partitions[values][0].obj.key[len(self.root):].split("/")[: len(values)]
        return f"{self.location}{'/'.join(folder)}/"


def table_name_for(bucket: str, root: str, prefix: str) -> str:
    last = root.rstrip("/").rsplit("/", 1)[-1] if root else bucket
    return prefix + re.sub(r"[^a-z0-9_]", "_", last.lower())


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
    ):
        self.account_id = account_id
        self.region = region
        self.crawler = crawler
        self.run = run
        self.extras = extras
        self.glue = glue
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
        if settings.database not in self.glue.databases:
            raise CrawlFailed(f"Database {settings.database} not found. Create it before running the crawler.")
        plans: list[TablePlan] = []
        for target in settings.s3_targets:
            plans.extend(self._plan_s3_target(target))
        for target in settings.catalog_targets:
            plans.extend(self._plan_catalog_target(target))
        self._check_stop()
        if settings.table_threshold is not None:
            new_tables = [p for p in plans if p.name not in self.glue.databases[settings.database].tables]
            if len(new_tables) > settings.table_threshold:
                raise CrawlFailed(
                    f"The number of tables detected by crawler: {len(new_tables)} is greater than the table "
                    f"threshold value provided: {settings.table_threshold}"
                )
        self.log.benchmark(f"Classification complete, writing results to database {settings.database}")
        written = set()
        for plan in plans:
            self._write_table(plan)
            written.add(plan.name)
        if settings.recrawl_behavior != "CRAWL_NEW_FOLDERS_ONLY":
            self._handle_vanished_tables(written)
        self.log.benchmark("Finished writing to Catalog")
        self.log.info(
            f"Tables created: {self.run.tables_created}, updated: {self.run.tables_updated}, "
            f"deleted: {self.run.tables_deleted}; partitions added: {self.run.partitions_added}, "
            f"updated: {self.run.partitions_updated}, deleted: {self.run.partitions_deleted}; "
            f"malformed records skipped: {self.run.malformed_records}"
        )

    # -- reading -------------------------------------------------------
    def _scan_prefix(self, bucket: str, prefix: str, exclusions: list[str], sample_size: int | None) -> list[FileScan]:
        objects = [o for o in self.reader.list(bucket, prefix) if self._wanted(o, prefix, exclusions)]
        if self.settings.recrawl_behavior == "CRAWL_NEW_FOLDERS_ONLY":
            known = self.extras.crawled_folders.get(self.crawler.name, set())
            objects = [o for o in objects if _folder_url(o) not in known]
        if sample_size:
            per_folder: Counter[str] = Counter()
            sampled = []
            for obj in objects:
                folder = _folder_url(obj)
                if per_folder[folder] < sample_size:
                    per_folder[folder] += 1
                    sampled.append(obj)
            objects = sampled
        scans = []
        for obj in objects:
            self._check_stop()
            scan = scan_object(obj, self.reader.read(obj), self.settings.json_classifiers)
            self.seen_folders.add(_folder_url(obj))
            if scan.malformed:
                self.run.malformed_records += scan.malformed
                self.log.warning(
                    f"s3://{obj.bucket}/{obj.key}: skipped {scan.malformed} malformed record(s) that are not JSON objects"
                )
            if scan.usable:
                scans.append(scan)
            else:
                self.log.warning(f"s3://{obj.bucket}/{obj.key} {scan.problem}; it is not catalogued")
        return scans

    @staticmethod
    def _wanted(obj: S3Object, prefix: str, exclusions: list[str]) -> bool:
        name = obj.key.rsplit("/", 1)[-1]
        if obj.key.endswith("/") or obj.size == 0:
            return False  # folder markers and empty objects hold no data
        if name.startswith(("_", ".")):
            return False  # Hadoop's hidden files (_SUCCESS, .crc), which readers skip too
        relative = obj.key[len(prefix):]
        return not any(_glob_regex(pattern).fullmatch(relative) for pattern in exclusions)

    # -- planning ------------------------------------------------------
    def _plan_s3_target(self, target: dict[str, Any]) -> list[TablePlan]:
        bucket, prefix = split_s3_path(target.get("Path", ""))
        scans = self._scan_prefix(bucket, prefix, target.get("Exclusions") or [], target.get("SampleSize"))
        if not scans:
            self.log.warning(f"No data found under {target.get('Path')}; no table is created for it")
            return []
        if self.settings.table_level:
            depth = self.settings.table_level - 1  # level 1 is the bucket itself
            roots: dict[str, list[FileScan]] = {}
            for scan in scans:
                folders = scan.obj.key.split("/")[:-1]
                if len(folders) < depth:
                    self.log.warning(f"s3://{bucket}/{scan.obj.key} is above table level "
                                     f"{self.settings.table_level}; it is not catalogued")
                    continue
                root = "".join(f + "/" for f in folders[:depth])
                roots.setdefault(root, []).append(scan)
            groups = list(roots.items())
        else:
            groups = self._group_tables(prefix, scans)
        plans = []
        for root, group in groups:
            name = self._free_table_name(table_name_for(bucket, root, self.settings.table_prefix), bucket, root)
            plans.append(self._plan_partitions(TablePlan(name, bucket, root, [], group)))
        return plans

    def _group_tables(self, root: str, scans: list[FileScan]) -> list[tuple[str, list[FileScan]]]:
        children: dict[str, list[FileScan]] = {}
        at_root = False
        for scan in scans:
            rest = scan.obj.key[len(root):].split("/")
            if len(rest) == 1:
                at_root = True
            else:
                children.setdefault(rest[0], []).append(scan)
        if at_root or len(children) <= 1 or self.settings.combine_compatible_schemas:
            return [(root, scans)]
        schemas = {child: _merged(group) for child, group in children.items()}
        union = _merged(scans)
        if all(similarity(schema, union) >= SIMILARITY_THRESHOLD for schema in schemas.values()):
            return [(root, scans)]
        self.log.info(f"Folders under s3 prefix {root!r} hold dissimilar schemas; each becomes its own table")
        out: list[tuple[str, list[FileScan]]] = []
        for child, group in children.items():
            out.extend(self._group_tables(f"{root}{child}/", group))
        return out

    def _plan_partitions(self, plan: TablePlan, declared_keys: list[str] | None = None) -> TablePlan:
        folders_of = {id(s): s.obj.key[len(plan.root):].split("/")[:-1] for s in plan.scans}
        if declared_keys is not None and declared_keys:
            depth = len(declared_keys)
        elif declared_keys is not None:
            depth = 0  # a catalog table without partition keys stays unpartitioned
        else:
            depths = Counter(len(f) for f in folders_of.values())
            # the most common depth; on a tie the deeper one
            depth = max(depths.items(), key=lambda kv: (kv[1], kv[0]))[0] if depths else 0
        partitioned = [s for s in plan.scans if len(folders_of[id(s)]) >= depth] if depth else []
        if declared_keys:
            keys = list(declared_keys)
        else:
            keys = []
            for level in range(depth):
                names = {folders_of[id(s)][level] for s in partitioned}
                pairs = {n.split("=", 1)[0] for n in names if "=" in n}
                keys.append(pairs.pop().lower() if len(pairs) == 1 and all("=" in n for n in names)
                            else f"partition_{level}")
        plan.partition_keys = keys
        for scan in partitioned:
            folders = folders_of[id(scan)][:depth]
            values = tuple(
                folder.split("=", 1)[1] if folder.lower().startswith(f"{key.lower()}=") else folder
                for key, folder in zip(keys, folders)
            )
            plan.partitions.setdefault(values, []).append(scan)
        for scan in plan.scans:
            if depth and len(folders_of[id(scan)]) < depth:
                self.log.warning(f"s3://{plan.bucket}/{scan.obj.key} sits above the partition folders of table "
                                 f"{plan.name}; it counts for the table's schema but belongs to no partition")
        return plan

    def _free_table_name(self, name: str, bucket: str, root: str) -> str:
        """`name`, or `name_<hash>` when a table of that name already points elsewhere."""
        location = f"s3://{bucket}/{root}"
        existing = self.glue.databases[self.settings.database].tables.get(name)
        if existing is None or _same_location(_table_input(existing), location):
            return name
        return f"{name}_{hashlib.md5(location.encode()).hexdigest()[:8]}"

    def _plan_catalog_target(self, target: dict[str, Any]) -> list[TablePlan]:
        database = target.get("DatabaseName") or self.settings.database
        if database not in self.glue.databases:
            raise CrawlFailed(f"Database {database} of the catalog target not found")
        plans = []
        for name in target.get("Tables") or []:
            table = self.glue.databases[database].tables.get(name)
            if table is None:
                raise CrawlFailed(f"Table {database}.{name} of the catalog target not found")
            table_input = _table_input(table)
            location = (table_input.get("StorageDescriptor") or {}).get("Location")
            if not location:
                raise CrawlFailed(f"Table {database}.{name} has no StorageDescriptor.Location to crawl")
            bucket, root = split_s3_path(location)
            scans = self._scan_prefix(bucket, root, target.get("Exclusions") or [], None)
            if not scans:
                self.log.warning(f"No data found at {location} for table {database}.{name}")
            declared = [k["Name"] for k in table_input.get("PartitionKeys") or []]
            plan = TablePlan(name, bucket, root, [], scans, database=database)
            plans.append(self._plan_partitions(plan, declared_keys=declared))
        return plans

    # -- writing -------------------------------------------------------
    def _write_table(self, plan: TablePlan) -> None:
        self._check_stop()
        database = plan.database or self.settings.database
        schema = _merged(plan.scans)
        crawled = self._crawled_table_input(plan, schema, _statistics(plan.scans))
        table = self.glue.databases[database].tables.get(plan.name)
        if table is None:
            if not plan.scans:
                return
            crawled["Parameters"]["CRAWL_RUN_ID"] = self.run.crawl_id
            self.glue.create_table(database, plan.name, crawled)
            self.run.tables_created += 1
            self.log.info(f"Created table {plan.name} in database {database}")
            table_input = crawled
        else:
            current = copy.deepcopy(_table_input(table))
            desired = self._updated_table_input(current, crawled) if plan.scans else current
            if _without_run_id(desired) == _without_run_id(current):
                table_input = current
            elif self.settings.update_behavior == "LOG":
                self.log.info(f"Table {database}.{plan.name} has changes that were not applied "
                              f"(SchemaChangePolicy.UpdateBehavior is LOG): {_describe_change(current, desired)}")
                table_input = current
            else:
                desired.setdefault("Parameters", {})["CRAWL_RUN_ID"] = self.run.crawl_id
                self.glue.update_table(database, plan.name, desired)
                self.run.tables_updated += 1
                self.log.info(f"Updated table {database}.{plan.name}: {_describe_change(current, desired)}")
                table_input = desired
        self._write_partitions(database, plan, table_input)

    def _crawled_table_input(self, plan: TablePlan, schema: Struct, stats: dict[str, str]) -> dict[str, Any]:
        """The table exactly as the crawler would create it from the data."""
        parameters = self._parameters(stats)
        columns = columns_of(schema)
        return {
            "Name": plan.name,
            "Owner": "owner",
            "Retention": 0,
            "TableType": "EXTERNAL_TABLE",
            "CreatedBy": f"arn:aws:sts::{self.account_id}:assumed-role/{_role_name(self.settings.role)}/AWS-Crawler",
            "IsRegisteredWithLakeFormation": False,
            "PartitionKeys": [{"Name": key, "Type": "string"} for key in plan.partition_keys],
            "Parameters": parameters,
            "StorageDescriptor": self._storage(columns, plan.location, parameters),
        }

    def _storage(self, columns: list[dict[str, str]], location: str, parameters: dict[str, str]) -> dict[str, Any]:
        return {
            "Columns": columns,
            "Location": location,
            "InputFormat": TEXT_INPUT_FORMAT,
            "OutputFormat": TEXT_OUTPUT_FORMAT,
            "Compressed": parameters.get("compressionType", "none") != "none",
            "NumberOfBuckets": -1,
            "SerdeInfo": {
                "SerializationLibrary": JSON_SERDE,
                "Parameters": {"paths": ",".join(sorted(c["Name"] for c in columns))},
            },
            "BucketColumns": [],
            "SortColumns": [],
            "Parameters": dict(parameters),
            "StoredAsSubDirectories": False,
        }

    def _parameters(self, stats: dict[str, str]) -> dict[str, str]:
        return {
            "CrawlerSchemaDeserializerVersion": "1.0",
            "CrawlerSchemaSerializerVersion": "1.0",
            "UPDATED_BY_CRAWLER": self.crawler.name,
            "classification": "json",
            "typeOfData": "file",
            **stats,
        }

    def _updated_table_input(self, current: dict[str, Any], crawled: dict[str, Any]) -> dict[str, Any]:
        if not self.settings.merge_new_columns:
            # Glue's default: the table becomes what the data says; metadata the crawler did not set goes.
            replaced = copy.deepcopy(crawled)
            replaced["Name"] = current.get("Name", crawled["Name"])
            return replaced
        # MergeNewColumns: add new columns only; keep types, formats, SerDe and everything else as they are.
        merged = copy.deepcopy(current)
        merged_sd = merged.setdefault("StorageDescriptor", {})
        columns = merged_sd.setdefault("Columns", [])
        known = {c["Name"].lower() for c in columns} | {k["Name"].lower() for k in merged.get("PartitionKeys") or []}
        for column in crawled["StorageDescriptor"]["Columns"]:
            if column["Name"].lower() not in known:
                columns.append(dict(column))
        if not merged.get("PartitionKeys") and crawled["PartitionKeys"]:
            merged["PartitionKeys"] = crawled["PartitionKeys"]
        crawler_params = {k: v for k, v in crawled["Parameters"].items() if k in CRAWLER_PARAMETERS}
        if "classification" in (merged.get("Parameters") or {}):
            crawler_params.pop("classification")  # a declared classification is the owner's choice
        merged["Parameters"] = {**(merged.get("Parameters") or {}), **crawler_params}
        serde_params = (merged_sd.get("SerdeInfo") or {}).get("Parameters") or {}
        if "paths" in serde_params:  # only a SerDe parameter the crawler sets is updated
            serde_params["paths"] = ",".join(sorted(c["Name"] for c in columns))
        return merged

    def _write_partitions(self, database: str, plan: TablePlan, table_input: dict[str, Any]) -> None:
        table = self.glue.databases[database].tables[plan.name]
        wanted: dict[str, dict[str, Any]] = {}
        for values in sorted(plan.partitions):
            scans = plan.partitions[values]
            wanted[str(list(values))] = self._partition_input(plan, values, scans, table_input)
        added, updated = [], []
        for key, desired in wanted.items():
            self._check_stop()
            existing = table.partitions.get(key)
            if existing is None:
                table.create_partition(desired)
                added.append(desired["Values"])
                continue
            current = copy.deepcopy(existing.partition_input)
            if self.settings.merge_new_columns and not self.settings.inherit_partitions_from_table:
                desired = self._merged_partition(current, desired)
            if desired != current and self.settings.update_behavior == "UPDATE_IN_DATABASE":
                table.update_partition(current["Values"], desired)
                updated.append(desired["Values"])
        if added:
            self.run.partitions_added += len(added)
            self.log.info(f"Created partitions with values {added} for table {database}.{plan.name}")
        if updated:
            self.run.partitions_updated += len(updated)
            self.log.info(f"Updated partitions with values {updated} for table {database}.{plan.name}")
        if self.settings.recrawl_behavior == "CRAWL_NEW_FOLDERS_ONLY":
            return  # an incremental crawl does not look at partitions it already knows
        gone = [p for key, p in list(table.partitions.items()) if key not in wanted]
        for partition in gone:
            values = partition.partition_input.get("Values", [])
            if self.settings.delete_behavior == "DELETE_FROM_DATABASE":
                table.delete_partition(values)
                self.run.partitions_deleted += 1
                self.log.info(f"Deleted partition {values} of table {database}.{plan.name}: its data is gone")
            else:
                self.log.info(f"Partition {values} of table {database}.{plan.name} has no data any more "
                              f"(DeleteBehavior {self.settings.delete_behavior}: kept)")

    def _partition_input(
        self, plan: TablePlan, values: tuple[str, ...], scans: list[FileScan], table_input: dict[str, Any]
    ) -> dict[str, Any]:
        parameters = self._parameters(_statistics(scans))
        location = plan.partition_location(values)
        table_sd = table_input.get("StorageDescriptor") or {}
        if self.settings.inherit_partitions_from_table:
            storage = copy.deepcopy(table_sd)
            storage["Location"] = location
            storage["Parameters"] = dict(parameters)
        else:
            storage = self._storage(columns_of(_merged(scans)), location, parameters)
        return {"Values": list(values), "StorageDescriptor": storage, "Parameters": parameters}

    @staticmethod
    def _merged_partition(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
        merged = copy.deepcopy(current)
        columns = merged.setdefault("StorageDescriptor", {}).setdefault("Columns", [])
        known = {c["Name"].lower() for c in columns}
        columns.extend(c for c in desired["StorageDescriptor"]["Columns"] if c["Name"].lower() not in known)
        merged["Parameters"] = {**(merged.get("Parameters") or {}), **desired["Parameters"]}
        merged["StorageDescriptor"]["Parameters"] = {
            **(merged["StorageDescriptor"].get("Parameters") or {}), **desired["Parameters"]
        }
        return merged

    def _handle_vanished_tables(self, written: set[str]) -> None:
        """Tables this crawler made under its S3 paths whose data is gone: DeleteBehavior decides."""
        paths = []
        for target in self.settings.s3_targets:
            try:
                paths.append("s3://%s/%s" % split_s3_path(target.get("Path", "")))
            except S3PathError:
                continue
        database = self.glue.databases[self.settings.database]
        for name, table in list(database.tables.items()):
            table_input = _table_input(table)
            location = _normalise(((table_input.get("StorageDescriptor") or {}).get("Location") or ""))
            params = table_input.get("Parameters") or {}
            if name in written or params.get("UPDATED_BY_CRAWLER") != self.crawler.name:
                continue
            if not any(location.startswith(path) for path in paths):
                continue
            if self.settings.delete_behavior == "DELETE_FROM_DATABASE":
                self.glue.delete_table(self.settings.database, name)
                self.run.tables_deleted += 1
                self.log.info(f"Deleted table {name}: no data at {location} any more")
            elif self.settings.delete_behavior == "DEPRECATE_IN_DATABASE":
                if "DEPRECATED_BY_CRAWLER" not in params:
                    deprecated = copy.deepcopy(table_input)
                    # AWS stamps the deprecation time in epoch milliseconds
                    deprecated.setdefault("Parameters", {})["DEPRECATED_BY_CRAWLER"] = str(int(time.time() * 1000))
                    self.glue.update_table(self.settings.database, name, deprecated)
                    self.run.tables_updated += 1
                    self.log.info(f"Marked table {name} deprecated: no data at {location} any more")
            else:
                self.log.info(f"Table {name} has no data at {location} any more (DeleteBehavior LOG: kept)")


# -- helpers -----------------------------------------------------------
def _merged(scans: list[FileScan]) -> Struct:
    schema = Struct()
    for scan in scans:
        schema = merge_struct(schema, scan.schema)
    return lowercase_columns(schema)


def _statistics(scans: list[FileScan]) -> dict[str, str]:
    records = sum(s.records for s in scans)
    size = sum(s.obj.size for s in scans)
    compressions = {s.compression for s in scans}
    return {
        "averageRecordSize": str(size // records if records else 0),
        "compressionType": compressions.pop() if len(compressions) == 1 else "none",
        "objectCount": str(len(scans)),
        "recordCount": str(records),
        "sizeKey": str(size),
    }


def _without_run_id(table_input: dict[str, Any]) -> dict[str, Any]:
    """The table input minus CRAWL_RUN_ID, which names the run that last wrote it, not a change."""
    params = {k: v for k, v in (table_input.get("Parameters") or {}).items() if k != "CRAWL_RUN_ID"}
    return {**table_input, "Parameters": params}


def _table_input(table: Any) -> dict[str, Any]:
    """The current TableInput of moto's FakeTable."""
    return moto_patches.glue_table_input(table)


def _folder_url(obj: S3Object) -> str:
    return f"s3://{obj.bucket}/{obj.key.rsplit('/', 1)[0]}/" if "/" in obj.key else f"s3://{obj.bucket}/"


def _normalise(location: str) -> str:
    return location if location.endswith("/") else location + "/"


def _same_location(table_input: dict[str, Any], location: str) -> bool:
    current = (table_input.get("StorageDescriptor") or {}).get("Location") or ""
    return _normalise(current) == _normalise(location)


def _role_name(role: str) -> str:
    return role.rsplit("/", 1)[-1] if role else "AWSGlueServiceRole"


_GLOB_CACHE: dict[str, re.Pattern[str]] = {}


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Glue's exclude globs: `*` within a folder, `**` across folders, `?` one character, `{a,b}` choices."""
    cached = _GLOB_CACHE.get(pattern)
    if cached is not None:
        return cached
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "{":
            end = pattern.find("}", i)
            if end > i:
                out.append("(?:" + "|".join(re.escape(p) for p in pattern[i + 1:end].split(",")) + ")")
                i = end + 1
                continue
            out.append(re.escape(ch))
        else:
            out.append(re.escape(ch))
        i += 1
    compiled = re.compile("".join(out))
    _GLOB_CACHE[pattern] = compiled
    return compiled


def _describe_change(current: dict[str, Any], desired: dict[str, Any]) -> str:
    old = {c["Name"]: c["Type"] for c in (current.get("StorageDescriptor") or {}).get("Columns") or []}
    new = {c["Name"]: c["Type"] for c in (desired.get("StorageDescriptor") or {}).get("Columns") or []}
    parts = []
    added = [n for n in new if n not in old]
    removed = [n for n in old if n not in new]
    retyped = [f"{n} {old[n]} -> {new[n]}" for n in new if n in old and old[n] != new[n]]
    if added:
        parts.append(f"added columns {added}")
    if removed:
        parts.append(f"removed columns {removed}")
    if retyped:
        parts.append(f"changed types {retyped}")
    return "; ".join(parts) or "table parameters changed"
