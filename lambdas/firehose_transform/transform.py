"""Turn one Firehose record (a DynamoDB stream record that EventBridge Pipes put on Kinesis) into one lake line.

Pure and total: `transform(record)` never raises. Anything it cannot turn into a
contract line comes back as `ProcessingFailed` carrying the record's original data
and a reason; Firehose then writes that data under the error prefix, so nothing is
lost. Reasons are fixed sentences that never quote the payload, because they end up
in the function's logs.

This file is shipped alone inside the Lambda zip: it imports only the standard
library and what the AWS Lambda Python runtime provides (boto3's TypeDeserializer).

The line carries the fields of salescdc/contract.py COLUMNS, in that order
(tests/lambdas assert the copy below stays equal to contract.FIELD_NAMES):

- orderid, product_name, quantity, price, updated_at come from the item image:
  NewImage for INSERT/MODIFY; OldImage for REMOVE, or only the key when the stream
  has no old image (view type NEW_IMAGE) — the other fields are null then.
- an INSERT or MODIFY without NewImage (a KEYS_ONLY or OLD_IMAGE stream) cannot
  say what the order now is: it fails, and its data is kept under the error prefix.
- numbers keep exactly the item's decimal digits (DynamoDB N "193.72" is written
  193.72, never through a binary float).
- updated_at is normalised to 'yyyy-MM-dd HH:mm:ss.SSS' UTC when it is an ISO-8601
  timestamp (a timestamp without an offset is taken as UTC); otherwise it is null
  and the raw value is kept in `extra`. The same holds for every contract field
  whose value does not fit its column's declared Glue type: a quantity that is not
  a whole number within INT (-2^31 .. 2^31-1), a price that is not exactly a
  DECIMAL(10,2) (more than 8 digits before the point, or a non-zero digit beyond
  the second decimal), a value of the wrong DynamoDB type. It is null in its
  column and kept raw in `extra`, so no attribute is ever lost and no line can
  make Athena's reader fail (HIVE_BAD_DATA) for the whole table.
- event_time is dynamodb.ApproximateCreationDateTime (epoch seconds), arrival_time
  the Firehose record's approximateArrivalTimestamp (epoch milliseconds); both are
  truncated to milliseconds; null when absent.
- extra is a JSON-object string of every other attribute, decoded from DynamoDB
  types into plain JSON: M -> object, L -> array, SS/NS/BS -> sorted arrays,
  B -> base64 string, BOOL -> true/false, NULL -> null, N -> exact number.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer

# Copy of salescdc.contract.FIELD_NAMES: this file may not import the project.
FIELD_NAMES = (
    "orderid",
    "product_name",
    "quantity",
    "price",
    "updated_at",
    "op",
    "is_deleted",
    "event_id",
    "sequence_number",
    "event_time",
    "arrival_time",
    "extra",
)
_LINE_KEYS = tuple(f'"{name}":' for name in FIELD_NAMES)
OPS = ("INSERT", "MODIFY", "REMOVE")
KEY = "orderid"
# Item attributes that have their own column; everything else goes to `extra`.
ITEM_COLUMNS = ("orderid", "product_name", "quantity", "price", "updated_at")
INT32 = (-(2**31), 2**31 - 1)
# The price column is DECIMAL(10,2): at most 8 digits before the point and 2 after.
PRICE_LIMIT = decimal.Decimal("99999999.99")
_CENT = decimal.Decimal("0.01")
# Wide enough to quantize any DynamoDB number (38 digits) within the limit without rounding.
_EXACT = decimal.Context(prec=80)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

OK = "Ok"
PROCESSING_FAILED = "ProcessingFailed"


@dataclass(frozen=True)
class Ok:
    """A record turned into a contract line; `data` is the base64 of `line`."""

    record_id: str
    data: str
    line: str

    @property
    def result(self) -> str:
        return OK

    def to_response(self) -> dict[str, str]:
        return {"recordId": self.record_id, "result": OK, "data": self.data}


@dataclass(frozen=True)
class ProcessingFailed:
    """A record that is not a contract line; `data` is the original data, `reason` says why."""

    record_id: str
    data: str
    reason: str

    @property
    def result(self) -> str:
        return PROCESSING_FAILED

    def to_response(self) -> dict[str, str]:
        return {"recordId": self.record_id, "result": PROCESSING_FAILED, "data": self.data}


TransformResult = Ok | ProcessingFailed


class _Reject(Exception):
    """Internal: this record cannot become a contract line, for the given reason."""


class _StreamDeserializer(TypeDeserializer):
    """TypeDeserializer for stream JSON, where B and BS values arrive base64-encoded."""

    def _deserialize_b(self, value: Any) -> Binary:
        if not isinstance(value, str):
            raise TypeError("B value is not a base64 string")
        return Binary(base64.b64decode(value, validate=True))

    def _deserialize_n(self, value: Any) -> decimal.Decimal:
        if not isinstance(value, str):
            raise TypeError("N value is not a string")
        number = super()._deserialize_n(value)
        if not number.is_finite():
            raise ValueError("N value is not a finite number")
        return number


_DESERIALIZER = _StreamDeserializer()


def transform(record: dict) -> TransformResult:
    """One Firehose input record -> Ok(contract line) or ProcessingFailed(original data, reason)."""
    record_id = record.get("recordId", "") if isinstance(record, dict) else ""
    original = record.get("data") if isinstance(record, dict) else None
    try:
        if not isinstance(record, dict):
            raise _Reject("the Firehose record is not an object")
        if not isinstance(original, str):
            raise _Reject("the Firehose record has no base64 data string")
        line = contract_line(_decode(original), record.get("approximateArrivalTimestamp"))
    except _Reject as exc:
        return ProcessingFailed(str(record_id), _returnable(original), str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad record must never fail the batch
        reason = f"unexpected {type(exc).__name__} while transforming"
        return ProcessingFailed(str(record_id), _returnable(original), reason)
    return Ok(str(record_id), base64.b64encode(line.encode("utf-8")).decode("ascii"), line)


def contract_line(stream_record: Any, arrival_ms: Any = None) -> str:
    """A decoded DynamoDB stream record -> the newline-terminated contract line (raises _Reject)."""
    if not isinstance(stream_record, dict):
        raise _Reject("the data is JSON but not an object")
    op = stream_record.get("eventName")
    dynamodb = stream_record.get("dynamodb")
    if not isinstance(dynamodb, dict):
        raise _Reject("the data is not a DynamoDB stream record (no dynamodb object)")
    source = stream_record.get("eventSource", "aws:dynamodb")
    if source != "aws:dynamodb":
        raise _Reject("eventSource is not aws:dynamodb")
    if op not in OPS:
        raise _Reject("eventName is missing or not INSERT, MODIFY or REMOVE")
    event_id = stream_record.get("eventID")
    if not isinstance(event_id, str) or not event_id:
        raise _Reject("eventID is missing or not a string")
    sequence = dynamodb.get("SequenceNumber")
    if not isinstance(sequence, str) or not (sequence.isascii() and sequence.isdigit()):
        raise _Reject("dynamodb.SequenceNumber is missing or not a digit string")
    keys = _attributes(dynamodb.get("Keys"), "dynamodb.Keys")
    orderid = keys.get(KEY)
    if not isinstance(orderid, str):
        raise _Reject("dynamodb.Keys has no string attribute 'orderid'")

    if op == "REMOVE":
        image = _attributes(dynamodb["OldImage"], "dynamodb.OldImage") if "OldImage" in dynamodb else keys
    else:
        if "NewImage" not in dynamodb:
            raise _Reject(f"{op} record has no NewImage (stream view type must include new images)")
        image = _attributes(dynamodb["NewImage"], "dynamodb.NewImage")

    extra = {name: value for name, value in image.items() if name not in ITEM_COLUMNS}
    product_name = _column(image, extra, "product_name", lambda v: v if isinstance(v, str) else None)
    quantity = _column(image, extra, "quantity", _as_int32)
    price = _column(image, extra, "price", _as_decimal_10_2)
    updated_at = _column(image, extra, "updated_at", _iso_timestamp)

    event_time = _epoch_timestamp(dynamodb.get("ApproximateCreationDateTime"), 1, "dynamodb.ApproximateCreationDateTime")
    arrival_time = _epoch_timestamp(arrival_ms, 1000, "approximateArrivalTimestamp")

    values = (
        orderid,
        product_name,
        quantity,
        price,
        updated_at,
        op,
        op == "REMOVE",
        event_id,
        sequence,
        event_time,
        arrival_time,
        to_json(extra),
    )
    return "{" + ",".join(key + to_json(v) for key, v in zip(_LINE_KEYS, values)) + "}\n"


def to_json(value: Any) -> str:
    """Plain JSON for decoded DynamoDB values; Decimals keep exactly their digits."""
    if value is None or isinstance(value, (bool, str)):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise _Reject("a number attribute is not finite")
        # 'f' gives plain notation with every digit: 1E+2 -> 100, 1E-7 -> 0.0000001.
        return format(value, "f")
    if isinstance(value, Binary):
        return json.dumps(base64.b64encode(value.value).decode("ascii"))
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, (set, frozenset)):
        return to_json(_sorted_set(value))
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    raise _Reject("an attribute has a value that is not a DynamoDB type")


def format_millis(ms: int) -> str:
    """Epoch milliseconds -> 'yyyy-MM-dd HH:mm:ss.SSS' UTC."""
    return _format(EPOCH + datetime.timedelta(milliseconds=ms))


# -- helpers ---------------------------------------------------------------


def _decode(data: str) -> Any:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _Reject("the data is not valid base64") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Reject("the data is not UTF-8 text") from None
    try:
        # Decimal keeps ApproximateCreationDateTime exact; NaN/Infinity are not JSON.
        return json.loads(text, parse_float=decimal.Decimal, parse_constant=_no_constant)
    except ValueError:
        raise _Reject("the data is not JSON") from None


def _no_constant(name: str) -> Any:
    raise ValueError("not JSON")


def _returnable(original: Any) -> str:
    """The original data if it is valid base64 (what Firehose sends), else a lossless base64 of it.

    Firehose rejects a whole response that carries invalid base64, so data that
    never was base64 (only possible in hand-made events) is re-encoded, not dropped.
    """
    if isinstance(original, str):
        try:
            base64.b64decode(original, validate=True)
            return original
        except (binascii.Error, ValueError):
            raw = original.encode("utf-8", "surrogatepass")
    elif original is None:
        raw = b""
    else:
        raw = json.dumps(original, default=str).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def _attributes(image: Any, where: str) -> dict[str, Any]:
    if not isinstance(image, dict):
        raise _Reject(f"{where} is missing or not an object")
    out = {}
    for name, typed in image.items():
        if not isinstance(typed, dict) or len(typed) != 1:
            raise _Reject(f"{where} has an attribute that is not a DynamoDB typed value")
        try:
            out[name] = _DESERIALIZER.deserialize(typed)
        except (TypeError, ValueError, AttributeError, ArithmeticError, binascii.Error):
            raise _Reject(f"{where} has an attribute that is not a valid DynamoDB typed value") from None
    return out


def _column(image: dict[str, Any], extra: dict[str, Any], name: str, convert: Any) -> Any:
    """The column value, or None; a present value that does not fit goes to `extra` raw."""
    if name not in image or image[name] is None:
        return None
    value = convert(image[name])
    if value is None:
        extra[name] = image[name]
    return value


def _as_int32(value: Any) -> int | None:
    if isinstance(value, decimal.Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value)
        if INT32[0] <= number <= INT32[1]:
            return number
    return None


def _as_decimal_10_2(value: Any) -> decimal.Decimal | None:
    """The number itself when DECIMAL(10,2) holds it exactly, else None (the raw value then goes to extra)."""
    if not isinstance(value, decimal.Decimal) or not value.is_finite() or abs(value) > PRICE_LIMIT:
        return None
    # Compared, not rounded: 1.005 would silently become 1.01 (or 1.00) in a query.
    return value if value.quantize(_CENT, context=_EXACT) == value else None


def _iso_timestamp(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    try:
        return _format(parsed.astimezone(datetime.timezone.utc))
    except (OverflowError, ValueError):
        return None


def _epoch_timestamp(value: Any, per_second: int, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal, float)):
        raise _Reject(f"{where} is not a number")
    try:
        ms = int((decimal.Decimal(value) * 1000 / per_second).to_integral_value(decimal.ROUND_FLOOR))
        return format_millis(ms)
    except (OverflowError, ValueError, ArithmeticError):
        raise _Reject(f"{where} is out of range") from None


def _format(dt: datetime.datetime) -> str:
    # Built by hand: strftime('%Y') does not zero-pad years before 1000 on every platform.
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}"
    )


def _sorted_set(values: Any) -> list[Any]:
    items = list(values)
    if all(isinstance(v, Binary) for v in items):
        return sorted(items, key=lambda b: b.value)
    if all(isinstance(v, decimal.Decimal) for v in items):
        return sorted(items)
    return sorted(items, key=str)
