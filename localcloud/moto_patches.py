"""Every touch of moto's internals, in one place.

moto is our API layer and state store; where the local cloud needs something no
AWS API exposes (or must change how moto behaves), it goes through a function
here, never through `moto.*.models` imported elsewhere. Each entry names what it
touches, so a moto upgrade that moves it fails here, loudly, in
`tests/localcloud/test_moto_patches.py`, not somewhere in a runner.

Checked against moto 5.1.x and 5.2.x.
"""

from __future__ import annotations

from typing import Any


def put_log_events(account_id: str, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    """Append events to a CloudWatch Logs stream, creating the group and stream as AWS services do.

    Touches: moto.logs.models.logs_backends, LogsBackend.groups / .streams,
    create_log_group, create_log_stream, put_log_events.
    """
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]
    if group not in backend.groups:
        backend.create_log_group(group, {})
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, events)


# ---------------------------------------------------------------------------
# Durability capture (localcloud/durability): what each data-plane write changed,
# handed to the write-ahead log under the journal's lock, and put back on recovery.
# ---------------------------------------------------------------------------

import datetime as _dt  # noqa: E402 - this section's own imports, kept with it
import functools  # noqa: E402
import threading  # noqa: E402

_capture_journal: Any = None  # the running Durability (one per process), or None: hooks pass through
_capture_local = threading.local()
_CAPTURED = "_localcloud_durable"
_LOGGED_SEQ = "_localcloud_logged_seq"  # on a DynamoDB StreamShard: highest sequence number in the log


class _Dirty:
    """What one outermost write touched: logged as the resulting state, so replay is idempotent."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], set[tuple[Any, Any]]] = {}
        self.records: dict[int, tuple[Any, list[tuple[str, int]]]] = {}
        self.objects: dict[tuple[str, str, str, str], Any] = {}


def _capturing(original: Any, mark: Any = None) -> Any:
    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        journal = _capture_journal
        if journal is None:
            return original(*args, **kwargs)
        local = _capture_local
        with journal.lock:  # the change and its log record are one step for snapshots and readers
            depth = getattr(local, "depth", 0)
            if depth == 0:
                local.dirty = _Dirty()
            local.depth = depth + 1
            try:
                result = original(*args, **kwargs)
                if mark is not None:
                    mark(local.dirty, result, args, kwargs)
                return result
            finally:
                local.depth = depth
                if depth == 0:
                    dirty, local.dirty = local.dirty, None
                    _flush_captured(journal, dirty)

    setattr(wrapper, _CAPTURED, True)
    return wrapper


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    """A wrapped method's argument, passed by position (index counts `self`) or by name."""
    return args[index] if len(args) > index else kwargs[name]


def _mark_table_item(dirty: _Dirty, item: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if item is not None:
        table = args[0]
        dirty.items.setdefault((table.account_id, table.region_name, table.name), set()).add(
            (item.hash_key, item.range_key))


def _mark_updated_item(dirty: _Dirty, item: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if item is not None:
        backend = args[0]
        table_name = _arg(args, kwargs, 1, "table_name")
        dirty.items.setdefault((backend.account_id, backend.region_name, table_name), set()).add(
            (item.hash_key, item.range_key))


def _mark_kinesis_record(dirty: _Dirty, result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    sequence_number, shard_id = result
    stream = args[0]
    dirty.records.setdefault(id(stream), (stream, []))[1].append((shard_id, int(sequence_number)))


def _mark_s3_object(dirty: _Dirty, result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    backend = args[0]
    key = (backend.account_id, backend.region_name, _arg(args, kwargs, 1, "bucket_name"),
           _arg(args, kwargs, 2, "key_name"))
    dirty.objects[key] = backend


# Logged forms: plain dicts pickle several times faster than moto's objects (and an aware
# datetime's tzinfo is the slowest part of a stream record), which is most of what a write costs.
def _logged_item(item: Any) -> Any:
    return None if item is None else {name: value.to_json() for name, value in item.attrs.items()}


def _restored_item(hash_key: Any, range_key: Any, attrs: Any) -> Any:
    from moto.dynamodb.models.dynamo_type import Item

    return Item(hash_key, range_key, attrs)


def _logged_stream_record(stream_record: Any) -> tuple[Any, dict[str, Any]]:
    state = dict(stream_record.__dict__)
    record = dict(state["record"])
    body = dict(record["dynamodb"])
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, _dt.datetime):
        body["ApproximateCreationDateTime"] = ("datetime", created.isoformat())
    record["dynamodb"] = body
    state["record"] = record
    return type(stream_record), state


def _restored_stream_record(logged: tuple[Any, dict[str, Any]]) -> Any:
    cls, state = logged
    body = state["record"]["dynamodb"]
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, tuple) and created[0] == "datetime":
        body["ApproximateCreationDateTime"] = _dt.datetime.fromisoformat(created[1])
    stream_record = cls.__new__(cls)
    stream_record.__dict__.update(state)
    return stream_record


def _current_item(table: Any, hash_key: Any, range_key: Any) -> Any:
    if range_key is not None:
        return table.items.get(hash_key, {}).get(range_key)
    return table.items.get(hash_key)


def _stream_seq(stream_record: Any) -> int:
    return int(stream_record.record["dynamodb"]["SequenceNumber"])


def _unlogged_stream_records(table: Any) -> list[Any]:
    shard = table.stream_shard
    if shard is None:
        return []
    logged = getattr(shard, _LOGGED_SEQ, 0)
    new = []
    for stream_record in reversed(shard.items):
        if _stream_seq(stream_record) <= logged:
            break
        new.append(stream_record)
    new.reverse()
    if new:
        setattr(shard, _LOGGED_SEQ, _stream_seq(new[-1]))
    return new


def _flush_captured(journal: Any, dirty: _Dirty) -> None:
    from moto.dynamodb.models import dynamodb_backends

    for (account, region, name), keys in dirty.items.items():
        table = dynamodb_backends[account][region].tables.get(name)
        if table is None:
            continue
        items = [(h.to_json(), None if r is None else r.to_json(), _logged_item(_current_item(table, h, r)))
                 for h, r in keys]
        stream_records = [_logged_stream_record(r) for r in _unlogged_stream_records(table)]
        journal.log_change("dynamodb", ("ddb", account, region, name, items, stream_records))
    for stream, positions in dirty.records.values():
        records = []
        for shard_id, seq in positions:
            record = stream.shards[shard_id].records.get(seq)
            if record is not None:
                records.append((shard_id, type(record), dict(record.__dict__)))
        journal.log_change("kinesis", ("kinesis", stream.account_id, stream.region, stream.stream_name, records))
    for (account, region, bucket_name, key_name), backend in dirty.objects.items():
        bucket = backend.buckets.get(bucket_name)
        if bucket is None:
            continue
        versions = bucket.keys.getlist(key_name) if key_name in bucket.keys else None
        journal.log_change("s3", ("s3", account, region, bucket_name, key_name, versions))


def install_durability_capture(journal: Any) -> None:
    """Log every data-plane write's result to `journal` (`.lock`, `.log_change(service, payload)`).

    Touches: moto.dynamodb.models.DynamoDBBackend.{put_item, update_item, delete_item,
    transact_write_items, execute_statement, batch_execute_statement, execute_transaction},
    moto.dynamodb.models.table.Table.{put_item, delete_item, items, stream_shard},
    StreamShard.items / StreamRecord.record; moto.kinesis.models.KinesisBackend.{put_record,
    put_records}, Stream.put_record, Shard.records; moto.s3.models.S3Backend.{put_object,
    delete_object, delete_objects, copy_object, complete_multipart_upload}, FakeBucket.keys
    (getlist). Wrapped once per process; with no journal the wrappers only call through.
    """
    global _capture_journal
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.kinesis.models import KinesisBackend, Stream
    from moto.s3.models import S3Backend

    wraps = [
        (Table, "put_item", _mark_table_item),
        (Table, "delete_item", _mark_table_item),
        (DynamoDBBackend, "update_item", _mark_updated_item),
        (DynamoDBBackend, "put_item", None),
        (DynamoDBBackend, "delete_item", None),
        (DynamoDBBackend, "transact_write_items", None),
        (DynamoDBBackend, "execute_statement", None),
        (DynamoDBBackend, "batch_execute_statement", None),
        (DynamoDBBackend, "execute_transaction", None),
        (Stream, "put_record", _mark_kinesis_record),
        (KinesisBackend, "put_record", None),
        (KinesisBackend, "put_records", None),
        (S3Backend, "put_object", _mark_s3_object),
        (S3Backend, "delete_object", _mark_s3_object),
        (S3Backend, "delete_objects", None),
        (S3Backend, "copy_object", None),
        (S3Backend, "complete_multipart_upload", None),
    ]
    for cls, name, mark in wraps:
        current = getattr(cls, name)
        if not getattr(current, _CAPTURED, False):
            setattr(cls, name, _capturing(current, mark))
    _capture_journal = journal


def uninstall_durability_capture() -> None:
    """Stop logging (the wrappers stay and call straight through)."""
    global _capture_journal
    _capture_journal = None


def apply_logged_change(payload: tuple[Any, ...]) -> bool:
    """Put one logged change back into moto (recovery); False when its table/stream/bucket is gone.

    Idempotent: items and objects are set to the logged state, and stream/Kinesis records
    already present (by sequence number) are not added twice.
    Touches: the backends' tables / streams / buckets named in install_durability_capture.
    """
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.kinesis.models import kinesis_backends
    from moto.s3.models import s3_backends

    kind = payload[0]
    if kind == "ddb":
        _, account, region, name, logged_items, logged_records = payload
        table = dynamodb_backends[account][region].tables.get(name)
        if table is None:
            return False
        for hash_json, range_json, attrs in logged_items:
            hash_key = DynamoType(hash_json)
            range_key = None if range_json is None else DynamoType(range_json)
            item = None if attrs is None else _restored_item(hash_key, range_key, attrs)
            if range_key is not None:
                if item is None:
                    table.items.get(hash_key, {}).pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = item
            elif item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        shard = table.stream_shard
        if shard is not None and logged_records:
            last = _stream_seq(shard.items[-1]) if shard.items else 0
            for stream_record in map(_restored_stream_record, logged_records):
                if _stream_seq(stream_record) > last:
                    shard.items.append(stream_record)
                    last = _stream_seq(stream_record)
            setattr(shard, _LOGGED_SEQ, last)
        return True
    if kind == "kinesis":
        _, account, region, name, records = payload
        stream = kinesis_backends[account][region].streams.get(name)
        if stream is None:
            return False
        for shard_id, cls, state in records:
            shard = stream.shards.get(shard_id)
            if shard is None:
                return False
            record = cls.__new__(cls)
            record.__dict__.update(state)
            last = next(reversed(shard.records), 0) if shard.records else 0
            if record.sequence_number > last:
                shard.records[record.sequence_number] = record
        return True
    if kind == "s3":
        _, account, region, bucket_name, key_name, versions = payload
        bucket = s3_backends[account][region].buckets.get(bucket_name)
        if bucket is None:
            return False
        if versions is None:
            bucket.keys.pop(key_name, None)
        else:
            bucket.keys.setlist(key_name, versions)
        return True
    raise ValueError(f"unknown logged change {kind!r}")


def mark_stream_records_logged() -> None:
    """After recovery: every DynamoDB stream record in memory is in a snapshot or the log already.

    Touches: dynamodb_backends[...][...].tables, Table.stream_shard, StreamShard.items.
    """
    from moto.dynamodb.models import dynamodb_backends

    for account, regions in dynamodb_backends.items():
        for region, backend in regions.items():
            for table in backend.tables.values():
                shard = table.stream_shard
                if shard is not None and shard.items:
                    setattr(shard, _LOGGED_SEQ, _stream_seq(shard.items[-1]))


def stream_last_sequence(arn: str, shard_id: str) -> int | None:
    """The last sequence number in a DynamoDB or Kinesis stream's shard (0 if empty); None if unknown.

    Touches: dynamodb_backends tables' stream_shard.items; kinesis_backends streams' shards[...].records.
    """
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends

    parts = arn.split(":")
    if len(parts) < 6:
        return None
    region, account, resource = parts[3], parts[4], parts[5]
    if parts[2] == "dynamodb" and "/stream/" in resource:
        table = dynamodb_backends[account][region].tables.get(resource.split("/")[1])
        shard = table.stream_shard if table is not None else None
        if shard is None or shard.id != shard_id:
            return None
        return _stream_seq(shard.items[-1]) if shard.items else 0
    if parts[2] == "kinesis" and resource.startswith("stream/"):
        stream = kinesis_backends[account][region].streams.get(resource.split("/", 1)[1])
        shard = stream.shards.get(shard_id) if stream is not None else None
        if shard is None:
            return None
        return next(reversed(shard.records), 0) if shard.records else 0
    return None


def kinesis_constant_time_sequence_numbers() -> None:
    """A shard's first/last sequence number without copying every key: moto's `list(keys())[-1]`
    made each put O(records in the shard), so PutRecords slowed as the stream filled.

    Touches: moto.kinesis.models.Shard.get_min_sequence_number / get_max_sequence_number, Shard.records.
    """
    from moto.kinesis.models import Shard

    def get_min_sequence_number(self: Any) -> int:
        return next(iter(self.records), 0) if self.records else 0

    def get_max_sequence_number(self: Any) -> int:
        return next(reversed(self.records), 0) if self.records else 0

    Shard.get_min_sequence_number = get_min_sequence_number  # type: ignore[method-assign]
    Shard.get_max_sequence_number = get_max_sequence_number  # type: ignore[method-assign]


def speed_up_moto_dispatch() -> None:
    """Remove per-request work moto's server repeats for nothing, so raw API rates stay high and flat:
    it listed its own package folder (listdir + ~150 stats) to route every request, and walked the
    response class with `inspect.getmembers` to find the action's method; both answers never change
    while the server runs. Also makes Kinesis sequence-number lookups constant-time.

    Touches: moto.backends.list_of_moto_modules (read by moto.moto_server.werkzeug_app),
    moto.core.responses.method_names_from_class, and see kinesis_constant_time_sequence_numbers.
    """
    import moto.backends
    import moto.core.responses

    if not getattr(moto.backends.list_of_moto_modules, _CAPTURED, False):
        modules = tuple(moto.backends.list_of_moto_modules())

        def list_of_moto_modules() -> tuple[str, ...]:
            return modules

        setattr(list_of_moto_modules, _CAPTURED, True)
        moto.backends.list_of_moto_modules = list_of_moto_modules  # type: ignore[assignment]
    if not getattr(moto.core.responses.method_names_from_class, _CAPTURED, False):
        cached = functools.lru_cache(maxsize=None)(moto.core.responses.method_names_from_class)

        def method_names_from_class(clazz: object) -> list[str]:
            return list(cached(clazz))

        setattr(method_names_from_class, _CAPTURED, True)
        moto.core.responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]
    kinesis_constant_time_sequence_numbers()
