"""Athena column types <-> Iceberg types, for CREATE TABLE and for what a scan returns.

Athena's DDL for Iceberg tables takes Hive-style names (`string`, `int`,
`bigint`, `decimal(p,s)`, `timestamp`, `boolean`, `date`, `double`, `float`);
Trino's names (`varchar`, `integer`, `real`) are accepted too, since Athena's
engine is Trino. Iceberg's `timestamp` is Trino's `timestamp(6)` (microseconds,
no time zone) per Trino's Iceberg type mapping.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence

import pyarrow as pa
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    TruncateTransform,
    YearTransform,
)
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

from localcloud.iceberg.exceptions import IcebergError, not_supported

_SIMPLE_TYPES: dict[str, IcebergType] = {
    "string": StringType(),
    "varchar": StringType(),
    "int": IntegerType(),
    "integer": IntegerType(),
    "bigint": LongType(),
    "boolean": BooleanType(),
    "date": DateType(),
    "double": DoubleType(),
    "float": FloatType(),
    "real": FloatType(),
    "timestamp": TimestampType(),
}
_DECIMAL = re.compile(r"^decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def iceberg_type(athena_type: str) -> IcebergType:
    """`decimal(10,2)` -> DecimalType(10, 2); an unknown type is refused, never guessed."""
    text = athena_type.strip().lower()
    if text in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[text]
    if match := _DECIMAL.match(text):
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= 38 or scale > precision:
            raise not_supported(f"Unsupported type: {athena_type}")
        return DecimalType(precision, scale)
    raise not_supported(f"Unsupported type: {athena_type}")


def iceberg_schema(columns: Sequence[tuple[str, str]]) -> Schema:
    """Columns as (name, Athena type) -> an Iceberg schema; every column optional, as Athena creates them."""
    seen: set[str] = set()
    fields = []
    for field_id, (name, athena_type) in enumerate(columns, start=1):
        lowered = name.lower()  # Athena (Glue) column names are lower case
        if lowered in seen:
            raise not_supported(f"Column name '{lowered}' specified more than once")
        seen.add(lowered)
        fields.append(NestedField(field_id=field_id, name=lowered, field_type=iceberg_type(athena_type), required=False))
    return Schema(*fields)


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema a scan of this Iceberg schema returns (plain `string`, microsecond timestamps)."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    fields = []
    for field in schema_to_pyarrow(schema, include_field_ids=False):
        arrow_type = pa.string() if pa.types.is_large_string(field.type) else field.type
        fields.append(pa.field(field.name, arrow_type, nullable=True))
    return pa.schema(fields)


def duckdb_type(arrow_type: pa.DataType) -> str:
    """The DuckDB type a MERGE/UPDATE result column is cast to before it is written."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_int32(arrow_type):
        return "INTEGER"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_float64(arrow_type):
        return "DOUBLE"
    if pa.types.is_float32(arrow_type):
        return "REAL"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    raise not_supported(f"Unsupported column type for DML: {arrow_type}")


_TRANSFORM = re.compile(r"^(?:(year|month|day|hour)\(\s*(\w+)\s*\)|(bucket|truncate)\(\s*(\d+)\s*,\s*(\w+)\s*\)|(\w+))$",
                        re.I)


def partition_spec(schema: Schema, partitioned_by: Sequence[str]) -> PartitionSpec:
    """Trino's PARTITIONED BY entries (`col`, `day(col)`, `bucket(n, col)`, `truncate(n, col)`) -> a spec."""
    fields = []
    for field_id, text in enumerate(partitioned_by, start=1000):
        match = _TRANSFORM.match(text.strip())
        if not match:
            raise not_supported(f"Unsupported partition transform: {text}")
        if not match.group(6) and importlib.util.find_spec("pyiceberg_core") is None:
            # pyiceberg writes through non-identity transforms only with pyiceberg-core (Rust); without
            # it a table could be created but never written, so the transform is refused up front.
            raise not_supported(f"Partition transform {text} is not supported by the local Athena engine "
                                "(pyiceberg-core is not installed)")
        if match.group(1):
            kind, column = match.group(1).lower(), match.group(2)
            transform = {"year": YearTransform(), "month": MonthTransform(), "day": DayTransform(),
                         "hour": HourTransform()}[kind]
            name = f"{column.lower()}_{kind}"
        elif match.group(3):
            kind, width, column = match.group(3).lower(), int(match.group(4)), match.group(5)
            transform = BucketTransform(width) if kind == "bucket" else TruncateTransform(width)
            name = f"{column.lower()}_{kind}"
        else:
            column, transform = match.group(6), IdentityTransform()
            name = column.lower()
        try:
            source = schema.find_field(column.lower())
        except ValueError:
            raise IcebergError("COLUMN_NOT_FOUND", f"Column '{column.lower()}' does not exist") from None
        fields.append(PartitionField(source_id=source.field_id, field_id=field_id, transform=transform, name=name))
    return PartitionSpec(*fields)
