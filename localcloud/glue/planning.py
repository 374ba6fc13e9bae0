"""Pure crawl planning: which tables and partitions the data makes, and what the catalog should say.

Given the objects a crawl read (their keys and inferred schemas) and the crawler's
settings, decide the tables (roots, names, partition keys, partitions) and the
TableInput / PartitionInput each should have, including how a crawled table is
merged with the one already in the catalog. Nothing here reads S3 or the catalog
or keeps time: `crawler.py` gathers the inputs and `catalog.py` writes the
outcome, so every rule below is unit-tested without a cloud
(tests/localcloud/test_glue_planning.py).

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
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from localcloud.glue.inference import Struct, columns_of, lowercase_columns, merge_struct, similarity
from localcloud.glue.s3source import S3Object
from localcloud.glue.scanning import FileScan
from localcloud.glue.settings import CrawlerSettings


class PlanLog(Protocol):
    """Where planning says what it decided (the crawl log; a list in unit tests)."""

    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...


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


# -- which objects ----------------------------------------------------------------
def wanted(obj: S3Object, prefix: str, exclusions: list[str]) -> bool:
    """Whether the crawl reads `obj` under include path `prefix` with these exclude globs."""
    name = obj.key.rsplit("/", 1)[-1]
    if obj.key.endswith("/") or obj.size == 0:
        return False  # folder markers and empty objects hold no data
    if name.startswith(("_", ".")):
        return False  # Hadoop's hidden files (_SUCCESS, .crc), which readers skip too
    relative = obj.key[len(prefix):]
    return not any(glob_regex(pattern).fullmatch(relative) for pattern in exclusions)


def sample(objects: list[S3Object], sample_size: int | None) -> list[S3Object]:
    """At most `sample_size` objects per folder (SampleSize), in listing order; all when unset."""
    if not sample_size:
        return objects
    per_folder: Counter[str] = Counter()
    sampled = []
    for obj in objects:
        folder = folder_url(obj)
        if per_folder[folder] < sample_size:
            per_folder[folder] += 1
            sampled.append(obj)
    return sampled


# -- which tables -----------------------------------------------------------------
def plan_s3_target(bucket: str, prefix: str, scans: list[FileScan], settings: CrawlerSettings,
                   location_of: Callable[[str], str | None], log: PlanLog) -> list[TablePlan]:
    """The tables an S3 target's readable files make; `location_of(name)` is the catalog's location
    of an existing table of that name in the crawler's database (None if there is none)."""
    if settings.table_level:
        depth = settings.table_level - 1  # level 1 is the bucket itself
        roots: dict[str, list[FileScan]] = {}
        for scan in scans:
            folders = scan.obj.key.split("/")[:-1]
            if len(folders) < depth:
                log.warning(f"s3://{bucket}/{scan.obj.key} is above table level "
                            f"{settings.table_level}; it is not catalogued")
                continue
            root = "".join(f + "/" for f in folders[:depth])
            roots.setdefault(root, []).append(scan)
        groups = list(roots.items())
    else:
        groups = group_tables(prefix, scans, settings.combine_compatible_schemas, log)
    plans = []
    for root, group in groups:
        name = table_name_for(bucket, root, settings.table_prefix)
        name = free_table_name(name, f"s3://{bucket}/{root}", location_of(name))
        plans.append(plan_partitions(TablePlan(name, bucket, root, [], group), None, log))
    return plans


def group_tables(root: str, scans: list[FileScan], combine_compatible_schemas: bool,
                 log: PlanLog) -> list[tuple[str, list[FileScan]]]:
    """(table root, its files): one table at `root`, unless sibling folders hold dissimilar schemas."""
    children: dict[str, list[FileScan]] = {}
    at_root = False
    for scan in scans:
        rest = scan.obj.key[len(root):].split("/")
        if len(rest) == 1:
            at_root = True
        else:
            children.setdefault(rest[0], []).append(scan)
    if at_root or len(children) <= 1 or combine_compatible_schemas:
        return [(root, scans)]
    schemas = {child: merged_schema(group) for child, group in children.items()}
    union = merged_schema(scans)
    if all(similarity(schema, union) >= SIMILARITY_THRESHOLD for schema in schemas.values()):
        return [(root, scans)]
    log.info(f"Folders under s3 prefix {root!r} hold dissimilar schemas; each becomes its own table")
    out: list[tuple[str, list[FileScan]]] = []
    for child, group in children.items():
        out.extend(group_tables(f"{root}{child}/", group, combine_compatible_schemas, log))
    return out


def plan_partitions(plan: TablePlan, declared_keys: list[str] | None, log: PlanLog) -> TablePlan:
    """Fill in the plan's partition keys and partitions from its files' folders below the root.

    `declared_keys`: a catalog table's partition keys (kept as they are), or None to infer them.
    """
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
            log.warning(f"s3://{plan.bucket}/{scan.obj.key} sits above the partition folders of table "
                        f"{plan.name}; it counts for the table's schema but belongs to no partition")
    return plan


def free_table_name(name: str, location: str, existing_location: str | None) -> str:
    """`name`, or `name_<hash>` when a table of that name already points elsewhere."""
    if existing_location is None or normalise(existing_location) == normalise(location):
        return name
    return f"{name}_{hashlib.md5(location.encode()).hexdigest()[:8]}"


# -- what the catalog should say ------------------------------------------------------
def crawler_parameters(stats: dict[str, str], crawler_name: str) -> dict[str, str]:
    return {
        "CrawlerSchemaDeserializerVersion": "1.0",
        "CrawlerSchemaSerializerVersion": "1.0",
        "UPDATED_BY_CRAWLER": crawler_name,
        "classification": "json",
        "typeOfData": "file",
        **stats,
    }


def storage(columns: list[dict[str, str]], location: str, parameters: dict[str, str]) -> dict[str, Any]:
    """A StorageDescriptor for JSON data at `location`."""
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


def crawled_table_input(plan: TablePlan, crawler_name: str, role: str, account_id: str) -> dict[str, Any]:
    """The table exactly as the crawler would create it from the data."""
    parameters = crawler_parameters(statistics(plan.scans), crawler_name)
    columns = columns_of(merged_schema(plan.scans))
    return {
        "Name": plan.name,
        "Owner": "owner",
        "Retention": 0,
        "TableType": "EXTERNAL_TABLE",
        "CreatedBy": f"arn:aws:sts::{account_id}:assumed-role/{role_name(role)}/AWS-Crawler",
        "IsRegisteredWithLakeFormation": False,
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in plan.partition_keys],
        "Parameters": parameters,
        "StorageDescriptor": storage(columns, plan.location, parameters),
    }


def updated_table_input(current: dict[str, Any], crawled: dict[str, Any], merge_new_columns: bool) -> dict[str, Any]:
    """What an existing table becomes after a crawl (before UpdateBehavior decides whether it is written)."""
    if not merge_new_columns:
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


def partition_input(plan: TablePlan, values: tuple[str, ...], table_input: dict[str, Any], crawler_name: str,
                    inherit_from_table: bool) -> dict[str, Any]:
    """The PartitionInput for one partition of the plan (InheritFromTable copies the table's descriptor)."""
    scans = plan.partitions[values]
    parameters = crawler_parameters(statistics(scans), crawler_name)
    location = plan.partition_location(values)
    table_sd = table_input.get("StorageDescriptor") or {}
    if inherit_from_table:
        descriptor = copy.deepcopy(table_sd)
        descriptor["Location"] = location
        descriptor["Parameters"] = dict(parameters)
    else:
        descriptor = storage(columns_of(merged_schema(scans)), location, parameters)
    return {"Values": list(values), "StorageDescriptor": descriptor, "Parameters": parameters}


def merged_partition(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """MergeNewColumns for a partition: its new columns added, the crawler's parameters refreshed."""
    merged = copy.deepcopy(current)
    columns = merged.setdefault("StorageDescriptor", {}).setdefault("Columns", [])
    known = {c["Name"].lower() for c in columns}
    columns.extend(c for c in desired["StorageDescriptor"]["Columns"] if c["Name"].lower() not in known)
    merged["Parameters"] = {**(merged.get("Parameters") or {}), **desired["Parameters"]}
    merged["StorageDescriptor"]["Parameters"] = {
        **(merged["StorageDescriptor"].get("Parameters") or {}), **desired["Parameters"]
    }
    return merged


def describe_change(current: dict[str, Any], desired: dict[str, Any]) -> str:
    """A sentence for the crawl log: what a table update changes."""
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


# -- small helpers ---------------------------------------------------------------------
def merged_schema(scans: list[FileScan]) -> Struct:
    schema = Struct()
    for scan in scans:
        schema = merge_struct(schema, scan.schema)
    return lowercase_columns(schema)


def statistics(scans: list[FileScan]) -> dict[str, str]:
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


def without_run_id(table_input: dict[str, Any]) -> dict[str, Any]:
    """The table input minus CRAWL_RUN_ID, which names the run that last wrote it, not a change."""
    params = {k: v for k, v in (table_input.get("Parameters") or {}).items() if k != "CRAWL_RUN_ID"}
    return {**table_input, "Parameters": params}


def folder_url(obj: S3Object) -> str:
    return f"s3://{obj.bucket}/{obj.key.rsplit('/', 1)[0]}/" if "/" in obj.key else f"s3://{obj.bucket}/"


def normalise(location: str) -> str:
    return location if location.endswith("/") else location + "/"


def role_name(role: str) -> str:
    return role.rsplit("/", 1)[-1] if role else "AWSGlueServiceRole"


_GLOB_CACHE: dict[str, re.Pattern[str]] = {}


def glob_regex(pattern: str) -> re.Pattern[str]:
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
