"""Which S3 objects a catalog table covers, and a local copy of each, cached by ETag.

A table's objects come from its location (unpartitioned), from partition
projection (`projection.enabled`, with `storage.location.template` or Hive's
`key=value/` layout), or from the partitions registered in Glue — the same
three ways Athena finds them. Like Hive, objects whose name starts with `_`
or `.` are skipped.

Each object gets a local file in `<data_dir>/athena/cache/`, named by its key
and ETag, so a repeated query does not fetch unchanged objects again. Objects
are always *listed* through the S3 API (so users' view of the bucket holds);
the body of an object the local S3 keeps in a file of its own, with the ETag
just listed, is hard-linked from that file (no copy, no HTTP; moto never
rewrites a body file in place, so the link keeps the listed version); any
other body (another filesystem, a key replaced since the listing) is fetched
with GetObject over HTTP. Athena bills (and reports in DataScannedInBytes) the
bytes of every object a query scans, so a cached object still counts its full
size; the cache only saves the transfer.

The cache is bounded: past `LOCALCLOUD_ATHENA_LAKE_CACHE_MB` (default 4096)
the least recently used files not needed by the current query are removed.
Hard links to bodies the local S3 still holds cost no extra disk but count.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.sql import joda_to_strftime
from localcloud.generations import KeptReads

OPENX_SERDE = "org.openx.data.jsonserde.JsonSerDe"
JSON_SERDES = {
    OPENX_SERDE,
    "org.apache.hive.hcatalog.data.JsonSerDe",
    "org.apache.hadoop.hive.serde2.JsonSerDe",
}
PARQUET_MARKERS = ("parquet",)
DEFAULT_LAKE_CACHE_MB = 4096


def cache_limit_bytes(variable: str, default_mb: int) -> int:
    """A cache's size cap from an environment variable in MB (a positive number), else the default."""
    text = os.environ.get(variable)
    if not text:
        return default_mb * 1024 * 1024
    megabytes = float(text)
    if megabytes <= 0:
        raise ValueError(f"{variable} must be a positive number of MB, not {text!r}")
    return int(megabytes * 1024 * 1024)


@dataclass(frozen=True)
class LakeObject:
    bucket: str
    key: str
    etag: str
    size: int
    partition: tuple[tuple[str, str], ...] = ()


@dataclass
class TableSource:
    """Everything needed to turn a catalog table into rows."""

    catalog: str
    database: str
    name: str
    columns: list[tuple[str, str]]
    partition_keys: list[tuple[str, str]]
    format: str  # "json" | "parquet"
    ignore_malformed: bool
    objects: list[LakeObject] = field(default_factory=list)
    # The columns a query reads (names, lower case); None: all of them. The engine decodes
    # only these (and the partition keys); bytes scanned still count whole objects, as
    # Athena's do for JSON.
    needed_columns: frozenset[str] | None = None
    # OpenX JSON SerDe rules (openx_json.py): its value conversions, and keys matched to columns
    # ignoring case (its `case.insensitive`, default TRUE).
    openx: bool = False
    case_insensitive: bool = False

    @property
    def bytes_scanned(self) -> int:
        return sum(o.size for o in self.objects)

    def fingerprint(self) -> str:
        """Changes whenever the rows could: schema, format or any object's ETag."""
        h = hashlib.sha256()
        h.update(repr((self.catalog, self.database, self.name, self.columns, self.partition_keys,
                       self.format, self.ignore_malformed, self.openx, self.case_insensitive)).encode())
        for o in sorted(self.objects, key=lambda o: (o.bucket, o.key)):
            h.update(repr((o.bucket, o.key, o.etag, o.partition)).encode())
        return h.hexdigest()[:24]


def split_s3_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    if parsed.scheme not in ("s3", "s3a", "s3n") or not parsed.netloc:
        raise ValueError(f"not an S3 location: {url!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def _table_format(table: dict[str, Any]) -> str:
    sd = table.get("StorageDescriptor") or {}
    serde = ((sd.get("SerdeInfo") or {}).get("SerializationLibrary") or "")
    markers = " ".join([serde, sd.get("InputFormat") or "", (table.get("Parameters") or {}).get("classification", "")])
    if any(m in markers.lower() for m in PARQUET_MARKERS):
        return "parquet"
    if serde in JSON_SERDES or "json" in markers.lower():
        return "json"
    raise QueryFailed("NOT_SUPPORTED", f"SerDe {serde or '(none)'!r} of table {table.get('Name')!r} is not supported "
                      "by the local Athena engine (JSON and Parquet tables are)")


def _refuse_unsupported_openx_properties(table: str, serde_params: dict[str, str]) -> None:
    """OpenX properties that change which key feeds a column or turn bad values into NULL are not
    implemented: reading the table without them would answer differently, so it is refused.
    (https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html documents all three.)"""
    unsupported = sorted(k for k, v in serde_params.items()
                         if k.startswith("mapping.")
                         or (k in ("dots.in.keys", "use.null.for.invalid.data") and str(v).lower() == "true"))
    if unsupported:
        raise QueryFailed("NOT_SUPPORTED", f"OpenX JSON SerDe properties {', '.join(unsupported)} of table "
                          f"{table!r} are not supported by the local Athena engine")


class Lake:
    """Lists a table's objects in the emulated S3 and keeps local copies."""

    def __init__(self, s3: Any, cache_dir: Path, max_bytes: int | None = None, kept: KeptReads | None = None):
        self.s3 = s3
        # Listings kept until a write under their prefix (generations: plane.writes.s3_prefix): a
        # dashboard lists the same few partitions many times a minute, at about 5 ms of CPU a page.
        self.kept = kept
        self.cache_dir = cache_dir
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes if max_bytes is not None else cache_limit_bytes(
            "LOCALCLOUD_ATHENA_LAKE_CACHE_MB", DEFAULT_LAKE_CACHE_MB)

    # -- which objects ------------------------------------------------------
    def table_source(self, table: dict[str, Any], catalog: Any,
                     keep: Callable[[TableSource, list[Partition]], list[Partition]] | None = None) -> TableSource:
        """The table's objects as a TableSource.

        `keep` (the query's partition filter): for a projected table whose partitions projection
        can enumerate, it picks from the projected values first, and only the prefixes of the
        partitions it keeps are listed, as Athena lists only those. Otherwise the whole location
        is listed (the planner prunes afterwards in any case, so what is read is the same).
        """
        sd = table.get("StorageDescriptor") or {}
        params = table.get("Parameters") or {}
        serde_params = (sd.get("SerdeInfo") or {}).get("Parameters") or {}
        source = TableSource(
            catalog="awsdatacatalog",
            database=table["DatabaseName"],
            name=table["Name"],
            columns=[(c["Name"].lower(), c["Type"].lower()) for c in sd.get("Columns") or []],
            partition_keys=[(c["Name"].lower(), c["Type"].lower()) for c in table.get("PartitionKeys") or []],
            format=_table_format(table),
            ignore_malformed=str(serde_params.get("ignore.malformed.json", "false")).lower() == "true",
        )
        serde = (sd.get("SerdeInfo") or {}).get("SerializationLibrary") or ""
        if serde == OPENX_SERDE:
            _refuse_unsupported_openx_properties(table["Name"], {
                **{k: v for k, v in params.items() if k == "use.null.for.invalid.data"}, **serde_params})
            source.openx = True
            source.case_insensitive = str(serde_params.get("case.insensitive", "true")).lower() != "false"
        location = sd.get("Location") or ""
        if not source.partition_keys:
            source.objects = self._list(location)
        elif str(params.get("projection.enabled", "false")).lower() == "true":
            candidates = projected_partitions(source.partition_keys, params) if keep is not None else None
            kept = keep(source, candidates) if candidates is not None and keep is not None else None
            if kept is not None and len(kept) < len(candidates or ()) and len(kept) <= MAX_PARTITIONS_LISTED:
                template = _location_template(location, source.partition_keys, params)
                for values in kept:
                    prefix = template
                    for key, value in values:
                        prefix = prefix.replace(f"${{{key}}}", value)
                    source.objects.extend(self._list(prefix.rstrip("/") + "/", values))
            else:
                source.objects = self._projected(location, source.partition_keys, params)
        else:
            for part in catalog.get_partitions(source.database, source.name):
                values = tuple(zip([k for k, _ in source.partition_keys], part["Values"]))
                part_location = (part.get("StorageDescriptor") or {}).get("Location") or ""
                source.objects.extend(self._list(part_location, values))
        return source

    def _list(self, location: str, partition: tuple[tuple[str, str], ...] = ()) -> list[LakeObject]:
        if not location:
            return []
        bucket, prefix = split_s3_url(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        try:
            if self.kept is None:
                listed = self._list_objects(bucket, prefix)
            else:
                listed = self.kept.read((bucket, prefix), lambda: self._list_objects(bucket, prefix))
        except self.s3.exceptions.NoSuchBucket:
            raise QueryFailed("HIVE_CANNOT_OPEN_SPLIT",
                              f"Error opening Hive split {location}: The specified bucket does not exist") from None
        return [LakeObject(bucket, key, etag, size, partition) for key, etag, size in listed]

    def _list_objects(self, bucket: str, prefix: str) -> tuple[tuple[str, str, int], ...]:
        """(key, ETag, size) of the data files under `prefix`: no folder markers, no `_`/`.` files."""
        objects = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                base = key.rsplit("/", 1)[-1]
                if not base or base.startswith(("_", ".")) or key.endswith("/"):
                    continue
                objects.append((key, item["ETag"].strip('"'), int(item["Size"])))
        return tuple(objects)

    def _projected(self, location: str, keys: list[tuple[str, str]], params: dict[str, str]) -> list[LakeObject]:
        names = [k for k, _ in keys]
        template = _location_template(location, keys, params)
        static = template.split("${", 1)[0]
        bucket, _ = split_s3_url(template)
        pattern = re.escape(split_s3_url(template)[1])
        for k in names:
            pattern = pattern.replace(re.escape(f"${{{k}}}"), f"(?P<{k}>[^/]+)")
        regex = re.compile(pattern)
        base = static if static.endswith("/") else static.rsplit("/", 1)[0] + "/"
        found = []
        for obj in self._list(base):
            m = regex.match(obj.key)
            if not m:
                continue
            values = tuple((k, m.group(k)) for k in names)
            if all(_projection_accepts(k, v, params) for k, v in values):
                found.append(LakeObject(obj.bucket, obj.key, obj.etag, obj.size, values))
        return found

    # -- local copies -------------------------------------------------------
    def local_path(self, obj: LakeObject, fmt: str) -> Path:
        digest = hashlib.sha256(f"{obj.bucket}/{obj.key}".encode()).hexdigest()[:32]
        etag = re.sub(r"[^0-9A-Za-z-]", "", obj.etag)
        suffix = ".parquet" if fmt == "parquet" else ".json"
        if obj.key.endswith(".gz"):
            suffix += ".gz"
        elif obj.key.endswith(".zst"):
            suffix += ".zst"
        return self.cache_dir / f"{digest}-{etag}{suffix}"

    def fetch(self, objects: list[LakeObject], fmt: str) -> list[Path]:
        """Local files of `objects` (linking or downloading only those not cached yet), in order."""
        paths = [self.local_path(o, fmt) for o in objects]
        missing = [(o, p) for o, p in zip(objects, paths) if not p.exists()]
        fetched = [item for item in missing if not self._link(*item)]
        if fetched:
            with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda item: self._download(*item), fetched))
        for path in paths:
            if not any(path is p for _, p in missing):
                os.utime(path)  # recently used: the last to be evicted
        if missing:
            self._evict(keep=set(paths))
        return paths

    def _link(self, obj: LakeObject, path: Path) -> bool:
        """Hard-link the local S3's own file of the object's body (if it holds that version); True if done."""
        from localcloud import moto_patches  # here: the engine alone (fast tests, the bench) never loads moto

        body = moto_patches.s3_body_file(obj.bucket, obj.key, obj.etag)
        if body is None:
            return False
        tmp = path.with_name(path.name + f".{os.getpid()}.{id(obj)}.tmp")
        try:
            os.link(body, tmp)
        except OSError:  # another filesystem, or the key was replaced since the check
            return False
        if os.path.getsize(tmp) != obj.size:  # not the listed version after all
            tmp.unlink(missing_ok=True)
            return False
        os.replace(tmp, path)
        return True

    def _download(self, obj: LakeObject, path: Path) -> None:
        body = self.s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read()
        tmp = path.with_name(path.name + f".{os.getpid()}.{id(body)}.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, path)

    def _evict(self, keep: set[Path]) -> None:
        """Remove least recently used cached files until the cache fits its cap (never those in `keep`)."""
        entries = []
        for path in self.cache_dir.iterdir():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            if path in keep or path.name.endswith(".tmp"):
                continue
            path.unlink(missing_ok=True)
            total -= size


# -- partition projection -------------------------------------------------------
# A partition is its keys' values in key order: (("dt", "2026-12-07"),).
Partition = tuple[tuple[str, str], ...]
# Listing more partitions than this one prefix at a time costs more than listing the table once.
MAX_PARTITIONS_LISTED = 64
# Projections that would enumerate more values than this are not enumerated (the table is listed).
MAX_PROJECTED_PARTITIONS = 100_000


def _location_template(location: str, keys: list[tuple[str, str]], params: dict[str, str]) -> str:
    template = params.get("storage.location.template")
    if template:
        return template
    return location.rstrip("/") + "/" + "/".join(f"{k}=${{{k}}}" for k, _ in keys) + "/"


def projected_partitions(keys: list[tuple[str, str]], params: dict[str, str]) -> list[Partition] | None:
    """Every partition projection produces, in key order; None when a key cannot be enumerated
    (injected, an interval this does not step, or too many values)."""
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H")  # NOW moves: remembered for an hour
    found = _projected_cached(tuple(keys), tuple(sorted(params.items())), today)
    return None if found is None else list(found)


@functools.lru_cache(maxsize=64)
def _projected_cached(keys: tuple[tuple[str, str], ...], params: tuple[tuple[str, str], ...],
                      _hour: str) -> tuple[Partition, ...] | None:
    found = _enumerate(list(keys), dict(params))
    return None if found is None else tuple(found)


def _enumerate(keys: list[tuple[str, str]], params: dict[str, str]) -> list[Partition] | None:
    per_key = []
    total = 1
    for key, _ in keys:
        values = _projected_values(key, params)
        if values is None:
            return None
        total *= len(values)
        if total > MAX_PROJECTED_PARTITIONS:
            return None
        per_key.append([(key, value) for value in values])
    partitions: list[Partition] = [()]
    for choices in per_key:
        partitions = [partition + (choice,) for partition in partitions for choice in choices]
    return partitions


def _projected_values(key: str, params: dict[str, str]) -> list[str] | None:
    """The values projection gives `key` (Athena's 'Supported types for partition projection')."""
    kind = (params.get(f"projection.{key}.type") or "").strip().lower()
    interval_text = (params.get(f"projection.{key}.interval") or "1").strip()
    try:
        interval = int(interval_text)
    except ValueError:
        return None
    if interval < 1:
        return None
    if kind == "enum":
        return params.get(f"projection.{key}.values", "").split(",")
    if kind == "integer":
        low, _, high = (params.get(f"projection.{key}.range") or "").partition(",")
        digits = (params.get(f"projection.{key}.digits") or "").strip()
        try:
            start, stop, width = int(low), int(high), int(digits) if digits else 0
        except ValueError:
            return None
        if (stop - start) // interval + 1 > MAX_PROJECTED_PARTITIONS:
            return None
        return [str(n).zfill(width) if n >= 0 else "-" + str(-n).zfill(width)
                for n in range(start, stop + 1, interval)]
    if kind == "date":
        fmt = joda_to_strftime(params.get(f"projection.{key}.format", "yyyy-MM-dd")).replace("%-", "%")
        unit = (params.get(f"projection.{key}.interval.unit") or "DAYS").strip().upper()
        if unit != "DAYS" or any(code in fmt for code in ("%H", "%M", "%S", "%f", "%I", "%p")):
            return None  # hours and finer, weeks, months, years: listed, not stepped here
        low, _, high = (params.get(f"projection.{key}.range") or "").partition(",")
        try:
            first, last = _date_bound(low, fmt, low=True), _date_bound(high, fmt, low=False)
        except ValueError:
            return None
        first = first.replace(hour=0, minute=0, second=0, microsecond=0)
        days = (last - first).days
        if days < 0:
            return []
        if days // interval + 1 > MAX_PROJECTED_PARTITIONS:
            return None
        values = [(first + dt.timedelta(days=n)).strftime(fmt) for n in range(0, days + 1, interval)]
        return [v for v in values if _projection_accepts(key, v, params)]
    return None  # injected: only the query's own values, which this does not look for
_RELATIVE = re.compile(r"^NOW\s*(?:([+-])\s*(\d+)\s*(YEAR|MONTH|WEEK|DAY|HOUR|MINUTE|SECOND)S?)?$", re.I)


def _projection_accepts(key: str, value: str, params: dict[str, str]) -> bool:
    """Whether partition projection would produce `value` for `key` (so Athena would read it)."""
    kind = (params.get(f"projection.{key}.type") or "").lower()
    if kind == "enum":
        return value in [v.strip() for v in params.get(f"projection.{key}.values", "").split(",")]
    if kind == "integer":
        try:
            number = int(value)
        except ValueError:
            return False
        low, _, high = params.get(f"projection.{key}.range", "").partition(",")
        return int(low) <= number <= int(high)
    if kind == "date":
        fmt = joda_to_strftime(params.get(f"projection.{key}.format", "yyyy-MM-dd")).replace("%-", "%")
        try:
            when = dt.datetime.strptime(value, fmt)
        except ValueError:
            return False
        low, _, high = params.get(f"projection.{key}.range", "").partition(",")
        return _date_bound(low, fmt, low=True) <= when <= _date_bound(high, fmt, low=False)
    return True  # injected: any value the query asks for


def _date_bound(text: str, fmt: str, low: bool) -> dt.datetime:
    text = text.strip()
    m = _RELATIVE.match(text)
    if not m:
        return dt.datetime.strptime(text, fmt)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    if m.group(1):
        n = int(m.group(2)) * (1 if m.group(1) == "+" else -1)
        unit = m.group(3).upper()
        days = {"YEAR": 365 * n, "MONTH": 31 * n, "WEEK": 7 * n, "DAY": n}.get(unit)
        now += dt.timedelta(days=days) if days is not None else dt.timedelta(
            seconds=n * {"HOUR": 3600, "MINUTE": 60, "SECOND": 1}[unit])
    return now
