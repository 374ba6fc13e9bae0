"""Query results written to the lake: CREATE TABLE AS SELECT, INSERT INTO and UNLOAD.

What Athena does, with the local engine's rows:

- CTAS writes the query's rows under `external_location` (which must hold
  no objects) or, without one, under `<query result location>/tables/<query
  id>/`, in `format` (PARQUET by default, or JSON), compressed with
  `write_compression` (GZIP by default), one folder per partition
  (`partitioned_by` columns come last in the SELECT, as Athena requires), and
  registers the table and its partitions in Glue. `WITH NO DATA` registers
  the table only.
- INSERT INTO appends files to an existing table's location (partition
  folders for a partitioned table, registered in Glue unless the table uses
  partition projection), in the table's own format.
- UNLOAD writes the rows to a location that holds no objects, as CTAS does
  but without a table.

Each writes a manifest listing the files written (GetQueryExecution's
Statistics.DataManifestLocation), which awswrangler reads. TEXTFILE, CSV,
ORC and AVRO are refused with NOT_SUPPORTED (the local engine cannot read
them back). Bucketing (`bucketed_by`, `bucket_count`) spreads rows over that
many files per partition and is recorded in Glue.
"""

from __future__ import annotations

import io
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from localcloud.athena.catalog import GlueCatalog
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import _table_format
from localcloud.plane import parse_s3_url

MAX_PARTITIONS = 100  # Athena's limit of partitions one CTAS or INSERT INTO may write
HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
FORMATS = {
    "PARQUET": {"serde": PARQUET_SERDE, "classification": "parquet",
                "input": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "output": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"},
    "JSON": {"serde": JSON_SERDE, "classification": "json",
             "input": "org.apache.hadoop.mapred.TextInputFormat",
             "output": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"},
}
_PARQUET_CODECS = {"GZIP": "gzip", "SNAPPY": "snappy", "ZSTD": "zstd", "LZ4": "lz4", "NONE": "none",
                   "UNCOMPRESSED": "none"}
_JSON_CODECS = {"GZIP": ".gz", "NONE": "", "UNCOMPRESSED": ""}


# -- properties --------------------------------------------------------------------------
@dataclass
class WriteProperties:
    """CTAS / UNLOAD `WITH (…)` properties."""

    format: str = "PARQUET"
    compression: str = "GZIP"
    external_location: str | None = None
    partitioned_by: list[str] = field(default_factory=list)
    bucketed_by: list[str] = field(default_factory=list)
    bucket_count: int = 0
    with_data: bool = True


def _value(node: exp.Expression) -> Any:
    if isinstance(node, exp.Array):
        return [_value(e) for e in node.expressions]
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else int(node.this)
    return node.name


def properties(props: exp.Properties | None) -> WriteProperties:
    """sqlglot's parsed WITH (…) -> WriteProperties, refusing what is not supported."""
    out = WriteProperties()
    for prop in (props.expressions if props is not None else []):
        if isinstance(prop, exp.PartitionedByProperty):
            out.partitioned_by = [str(v).lower() for v in _value(prop.this)]
        elif isinstance(prop, exp.FileFormatProperty):
            out.format = str(_value(prop.this)).upper()
        elif isinstance(prop, exp.WithDataProperty):
            out.with_data = not prop.args.get("no")
        elif isinstance(prop, exp.Property):
            key, value = prop.name.lower(), _value(prop.args["value"])
            if key == "external_location":
                out.external_location = str(value)
            elif key in ("write_compression", "parquet_compression", "compression"):
                out.compression = str(value).upper()
            elif key == "bucketed_by":
                out.bucketed_by = [str(v).lower() for v in value]
            elif key == "bucket_count":
                out.bucket_count = int(value)
            elif key == "format":
                out.format = str(value).upper()
            elif key == "table_type" and str(value).upper() != "HIVE":
                raise QueryFailed("NOT_SUPPORTED", f"table_type {value} is not supported by the local Athena engine")
            elif key not in ("table_type", "field_delimiter"):
                raise QueryFailed("INVALID_TABLE_PROPERTY", f"Catalog 'awsdatacatalog' table property '{key}' "
                                  "does not exist")
    if out.format not in FORMATS:
        raise QueryFailed("NOT_SUPPORTED", f"format {out.format} is not supported by the local Athena engine "
                          "(PARQUET and JSON are)")
    codecs = _PARQUET_CODECS if out.format == "PARQUET" else _JSON_CODECS
    if out.compression not in codecs:
        raise QueryFailed("NOT_SUPPORTED", f"write_compression {out.compression} for {out.format} is not supported "
                          "by the local Athena engine")
    if bool(out.bucketed_by) != bool(out.bucket_count):
        raise QueryFailed("INVALID_TABLE_PROPERTY", "bucketed_by and bucket_count must be given together")
    return out


# -- types ----------------------------------------------------------------------------------
def glue_type(duck_type: Any) -> str:
    """A DuckDB result type -> the Glue (Hive) column type Athena's CTAS writes."""
    type_id = str(getattr(duck_type, "id", duck_type)).lower()
    if str(duck_type).upper() == "JSON":
        return "string"
    if type_id == "list":
        return f"array<{glue_type(duck_type.children[0][1])}>"
    if type_id == "struct":
        return "struct<" + ",".join(f"{n}:{glue_type(t)}" for n, t in duck_type.children) + ">"
    if type_id == "map":
        return f"map<{glue_type(duck_type.children[0][1])},{glue_type(duck_type.children[1][1])}>"
    if type_id == "decimal":
        params = dict(duck_type.children)
        return f"decimal({params['precision']},{params['scale']})"
    simple = {"varchar": "string", "boolean": "boolean", "tinyint": "tinyint", "smallint": "smallint",
              "integer": "int", "bigint": "bigint", "hugeint": "bigint", "utinyint": "smallint",
              "usmallint": "int", "uinteger": "bigint", "ubigint": "bigint", "float": "float", "double": "double",
              "date": "date", "timestamp": "timestamp", "timestamp_ms": "timestamp", "timestamp_s": "timestamp",
              "timestamp_ns": "timestamp", "timestamp with time zone": "timestamp", "blob": "binary"}
    if type_id in simple:
        return simple[type_id]
    raise QueryFailed("NOT_SUPPORTED", f"Writing a column of type {duck_type} is not supported by the local "
                      "Athena engine")


# -- encoding -----------------------------------------------------------------------------------
def encode(table: pa.Table, fmt: str, compression: str) -> tuple[bytes, str]:
    """Rows -> (file body, file name suffix) in `fmt`."""
    if fmt == "PARQUET":
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression=_PARQUET_CODECS[compression])
        return buffer.getvalue(), ".parquet"
    lines = "".join(json.dumps(row, default=_json_default, separators=(",", ":")) + "\n" for row in table.to_pylist())
    body = lines.encode()
    suffix = _JSON_CODECS[compression]
    if suffix == ".gz":
        compressor = zlib.compressobj(wbits=31)  # the gzip container
        body = compressor.compress(body) + compressor.flush()
    return body, suffix


def _json_default(value: Any) -> Any:
    import datetime as dt
    import decimal

    if isinstance(value, decimal.Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def partition_value(value: Any) -> str:
    return HIVE_DEFAULT_PARTITION if value is None else str(value)


def split_partitions(table: pa.Table, keys: list[str]) -> list[tuple[tuple[str, ...], pa.Table]]:
    """Rows per distinct partition-key values (the keys' columns dropped), at most MAX_PARTITIONS."""
    if not keys:
        return [((), table)]
    distinct = table.select(keys).group_by(keys).aggregate([]).to_pylist()
    if len(distinct) > MAX_PARTITIONS:
        raise QueryFailed("HIVE_TOO_MANY_OPEN_PARTITIONS",
                          f"Exceeded limit of {MAX_PARTITIONS} open writers for partitions/buckets")
    parts = []
    for values in distinct:
        mask = None
        for key in keys:
            column = table[key]
            test = pc.is_null(column) if values[key] is None else pc.equal(column, pa.scalar(values[key],
                                                                                         column.type))
            mask = test if mask is None else pc.and_(mask, test)
        rows = table.filter(mask).drop_columns(keys)
        parts.append((tuple(partition_value(values[k]) for k in keys), rows))
    return parts


def buckets(table: pa.Table, columns: list[str], count: int) -> list[pa.Table]:
    """Rows spread over `count` files by a hash of the bucketing columns (empty buckets dropped)."""
    if not columns or count <= 1:
        return [table]
    rows = table.select(columns).to_pylist()
    assignment = pa.array([zlib.crc32(repr(tuple(r.values())).encode()) % count for r in rows])
    return [part for b in range(count) if (part := table.filter(pc.equal(assignment, b))).num_rows]


# -- writing ---------------------------------------------------------------------------------------
class LakeWriter:
    """Writes result rows as files in S3 (over the service plane's client) and records them in Glue."""

    def __init__(self, s3: Any, catalog: GlueCatalog):
        self.s3 = s3
        self.catalog = catalog

    def require_empty(self, location: str, table_name: str) -> None:
        bucket, prefix = parse_s3_url(location)
        try:
            listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix.rstrip("/") + "/" if prefix else "",
                                             MaxKeys=1)
        except self.s3.exceptions.NoSuchBucket:
            raise QueryFailed("HIVE_FILESYSTEM_ERROR",
                              f"The specified bucket does not exist: {bucket}") from None
        if listed.get("KeyCount", 0):
            raise QueryFailed("HIVE_PATH_ALREADY_EXISTS",
                              f"Target directory for table '{table_name}' already exists: {location}")

    def write(self, table: pa.Table, location: str, partition_keys: list[str], fmt: str, compression: str,
              file_prefix: str, bucketed_by: list[str] | None = None, bucket_count: int = 0,
              template: str | None = None) -> tuple[list[str], list[tuple[tuple[str, ...], str]]]:
        """Write `table` under `location`; returns (file URLs, [(partition values, partition location)])."""
        files: list[str] = []
        partitions: list[tuple[tuple[str, ...], str]] = []
        base = location.rstrip("/") + "/"
        for values, rows in split_partitions(table, partition_keys):
            if template:
                folder = template
                for key, value in zip(partition_keys, values):
                    folder = folder.replace("${" + key + "}", value)
                folder = folder.rstrip("/") + "/"
            else:
                folder = base + "".join(f"{k}={v}/" for k, v in zip(partition_keys, values))
            if partition_keys:
                partitions.append((values, folder))
            for n, chunk in enumerate(buckets(rows, bucketed_by or [], bucket_count)):
                body, suffix = encode(chunk, fmt, compression)
                url = f"{folder}{file_prefix}_{n:05d}{suffix}"
                bucket, key = parse_s3_url(url)
                self.s3.put_object(Bucket=bucket, Key=key, Body=body)
                files.append(url)
        return files, partitions

    def manifest(self, url: str, files: list[str]) -> None:
        bucket, key = parse_s3_url(url)
        self.s3.put_object(Bucket=bucket, Key=key, Body=("".join(f + "\n" for f in files)).encode())

    def register_table(self, database: str, name: str, columns: list[tuple[str, str]],
                       partition_keys: list[tuple[str, str]], location: str, props: WriteProperties) -> None:
        fmt = FORMATS[props.format]
        parameters = {"classification": fmt["classification"], "has_encrypted_data": "false", "EXTERNAL": "TRUE"}
        if props.format == "PARQUET":
            parameters["parquet.compression"] = props.compression
        elif props.compression == "GZIP":
            parameters["write.compression"] = "GZIP"
        table_input = {
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": [{"Name": n, "Type": t} for n, t in partition_keys],
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in columns],
                "Location": location.rstrip("/") + "/",
                "InputFormat": fmt["input"],
                "OutputFormat": fmt["output"],
                "SerdeInfo": {"SerializationLibrary": fmt["serde"], "Parameters": {}},
                "Compressed": props.compression not in ("NONE", "UNCOMPRESSED"),
                "NumberOfBuckets": props.bucket_count or -1,
                "BucketColumns": props.bucketed_by,
                "StoredAsSubDirectories": False,
            },
        }
        self.catalog.put_table(database, table_input, replace=False)

    def register_partitions(self, database: str, table: dict[str, Any],
                            partitions: list[tuple[tuple[str, ...], str]]) -> None:
        if not partitions:
            return
        existing = {tuple(p["Values"]) for p in self.catalog.get_partitions(database, table["Name"])}
        sd = table.get("StorageDescriptor") or {}
        new = [{"Values": list(values), "StorageDescriptor": {**sd, "Location": folder}}
               for values, folder in partitions if tuple(values) not in existing]
        if new:
            self.catalog.add_partitions(database, table["Name"], new)


def table_format(table: dict[str, Any]) -> str:
    """The write format of an existing Glue table (INSERT INTO writes what the table reads)."""
    return "PARQUET" if _table_format(table) == "parquet" else "JSON"


def is_compressed(table: dict[str, Any]) -> bool:
    params = table.get("Parameters") or {}
    return str(params.get("write.compression", params.get("parquet.compression", ""))).upper() == "GZIP" or \
        bool((table.get("StorageDescriptor") or {}).get("Compressed"))


_UNLOAD = re.compile(r"^\s*UNLOAD\s*\((?P<query>.*)\)\s*TO\s*'(?P<location>[^']*)'\s*(?:WITH\s*\((?P<props>.*)\))?\s*$",
                     re.I | re.S)


def parse_unload(text: str) -> tuple[str, str, str] | None:
    """`UNLOAD (query) TO 's3://…' WITH (…)` -> (query text, location, properties text), or None."""
    m = _UNLOAD.match(text)
    if not m:
        return None
    return m.group("query").strip(), m.group("location"), (m.group("props") or "").strip()
