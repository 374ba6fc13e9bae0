"""Every touch of moto's internals, in one place.

moto is our API layer and state store; where the local cloud needs something no
AWS API exposes (or must change how moto behaves), it goes through a function
here, never through `moto.*` imported elsewhere. Each function names what it
touches, so a moto upgrade that moves it fails here, loudly, in
`tests/localcloud/test_moto_patches.py`, not somewhere in a runner.

The service packages keep the AWS rules (what a stream record looks like, which
policy statements apply); this module only holds the mechanism that plugs them
into moto. Objects handed back (a moto table, pipe, crawler) are moto's models:
the attributes the packages read on them are listed in each function's
docstring and checked by the test too.

Checked against moto 5.1.x and 5.2.5.
(Not here: `localcloud/athena/` and `localcloud/moto_state.py` keep their own touches for now.)
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import table as _moto_dynamodb_table
from moto.dynamodb.models.table import StreamShard as _MotoStreamShard

# moto's JSON-protocol service error (AlreadyExistsException & co.); catch it to re-raise in our shape.
MotoServiceError = JsonRESTError

_PATCH_LOCK = threading.Lock()
_MARK = "_localcloud_patch"  # set on every function we put into a moto class, so patching is idempotent


def moto_error_fields(exc: JsonRESTError) -> tuple[str, str, int]:
    """(AWS error code, message, HTTP status) of moto's error. Touches: JsonRESTError.error_type/.message/.code."""
    return exc.error_type, exc.message, exc.code


# -- the server and its state ---------------------------------------------------
def moto_wsgi_app() -> Any:
    """moto's server application. Touches: moto.moto_server.werkzeug_app.DomainDispatcherApplication,
    create_backend_app."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def reset_moto() -> None:
    """Empty every moto backend (and every BackendDict of ours). Touches: moto_api_backend.reset()."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def backend(service: str, account_id: str, region: str) -> Any:
    """moto's backend of `service` for one account and region. Touches: moto.backends.get_backend."""
    from moto.backends import get_backend

    return get_backend(service)[account_id][region]  # type: ignore[call-overload]


def all_backends(service: str) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) for every backend of `service` moto has created so far.

    Touches: moto.backends.get_backend, BackendDict.items() and its per-account dicts.
    """
    from moto.backends import get_backend

    for account_id, regions in list(get_backend(service).items()):  # type: ignore[call-overload]
        for region, service_backend in list(regions.items()):
            yield account_id, region, service_backend


# -- DynamoDB (Streams) --------------------------------------------------------------
def dynamodb_value_size(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value ({"S": "x"}). Touches: DynamoType(value).size()."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    return DynamoType(value).size()


class FaithfulStreamShard(_MotoStreamShard):  # type: ignore[misc]
    """moto's StreamShard with our hooks (see install_stream_shard); module level so moto_state can pickle it."""

    def add(self, old: Any, new: Any) -> None:
        skip, finish = _stream_hooks
        if old is not None and new is not None and skip(old, new):
            return
        before = len(self.items)
        super().add(old, new)
        if len(self.items) > before:
            finish(self, self.items[-1])


def _never(old: Any, new: Any) -> bool:
    return False


def _as_is(shard: Any, stream_record: Any) -> None:
    return None


_stream_hooks: tuple[Callable[[Any, Any], bool], Callable[[Any, Any], None]] = (_never, _as_is)


def install_stream_shard(skip: Callable[[Any, Any], bool], finish: Callable[[Any, Any], None]) -> None:
    """Make every stream enabled from now on skip some writes and finish each record it writes.

    `skip(old_item, new_item)` says a write makes no record; `finish(shard, stream_record)` edits
    the record moto just appended (its `.record` dict, `.created_at`). Touches:
    moto.dynamodb.models.table.StreamShard (subclassed: .add(old, new), .items, .table) and the
    module global `table.StreamShard` that Table.set_stream_specification instantiates.
    """
    global _stream_hooks
    _stream_hooks = (skip, finish)
    _moto_dynamodb_table.StreamShard = FaithfulStreamShard  # type: ignore[misc]


def trim_stream_labels(trim: Callable[[str], str]) -> None:
    """Pass every new stream label through `trim` (moto's carry microseconds, AWS's milliseconds).

    Touches: moto.dynamodb.models.table.Table.set_stream_specification (wrapped) and
    Table.latest_stream_label.
    """
    from moto.dynamodb.models.table import Table

    with _PATCH_LOCK:
        current = Table.set_stream_specification
        original = current.__wrapped__ if getattr(current, _MARK, False) else current

        def set_stream_specification(self: Any, streams: dict[str, Any] | None) -> None:
            original(self, streams)
            label = getattr(self, "latest_stream_label", None)
            if label:
                self.latest_stream_label = trim(label)

        set_stream_specification.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(set_stream_specification, _MARK, True)
        Table.set_stream_specification = set_stream_specification  # type: ignore[method-assign]


def dynamodb_table(account_id: str, region: str, name: str) -> Any:
    """moto's Table `name`, or None. Read by the Streams API: .latest_stream_label, .stream_shard
    (.id, .items, .starting_sequence_number, .created_on, .to_json()), .stream_specification,
    .schema, .name, .account_id, .region_name. Touches: dynamodb backend .tables."""
    try:
        return backend("dynamodb", account_id, region).tables.get(name)
    except KeyError:
        return None


# -- Kinesis -------------------------------------------------------------------------
def wrap_kinesis_backend(method: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace KinesisBackend.<method> by `wrap(moto's method)`, once per process.

    Touches: moto.kinesis.models.KinesisBackend.put_record(stream_arn, stream_name, partition_key,
    explicit_hash_key, data), .put_records(stream_arn, stream_name, records),
    .get_records(stream_arn, shard_iterator, limit) -> (next_iterator, records, millis_behind).
    """
    from moto.kinesis.models import KinesisBackend

    with _PATCH_LOCK:
        current = getattr(KinesisBackend, method)
        if getattr(current, _MARK, False):
            return
        wrapped = wrap(current)
        if wrapped is current:
            return
        wrapped.__wrapped__ = current  # type: ignore[attr-defined]
        setattr(wrapped, _MARK, True)
        setattr(KinesisBackend, method, wrapped)


def kinesis_unwrapped(method: str) -> Callable[..., Any]:
    """moto's own KinesisBackend.<method>, without our wrapper."""
    from moto.kinesis.models import KinesisBackend

    # inspect.unwrap follows every __wrapped__, ours and any other wrapper's (e.g. durability capture).
    return inspect.unwrap(getattr(KinesisBackend, method))


def stream_name_of_iterator(shard_iterator: str) -> str:
    """The stream name inside a moto shard iterator. Touches: moto.kinesis.utils.decompose_shard_iterator."""
    from moto.kinesis.utils import decompose_shard_iterator

    return decompose_shard_iterator(shard_iterator)[0]


def kinesis_metrics_moto_publishes(account_id: str, region: str) -> frozenset[str]:
    """The AWS/Kinesis metric names moto itself publishes when a record is put (probed, not assumed).

    Puts one record on a scratch stream in `account_id` (which must be a scratch account) with
    moto's unwrapped put_record and reads which names reached that account's CloudWatch backend;
    both accounts' backends are reset afterwards. Touches: kinesis_backends / cloudwatch_backends
    [account].reset(), KinesisBackend.create_stream, CloudWatchBackend.get_all_metrics() (.name,
    .namespace).
    """
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.kinesis.models import kinesis_backends

    kinesis = kinesis_backends[account_id][region]
    cloudwatch = cloudwatch_backends[account_id][region]
    try:
        kinesis.create_stream("localcloud-probe", shard_count=1, stream_mode={"StreamMode": "PROVISIONED"})
        kinesis_unwrapped("put_record")(kinesis, None, "localcloud-probe", "k", None, "cHJvYmU=")
        return frozenset(m.name for m in cloudwatch.get_all_metrics() if m.namespace == "AWS/Kinesis")
    finally:
        kinesis_backends[account_id].reset()
        cloudwatch_backends[account_id].reset()


def _kinesis_stream(account_id: str, region: str, stream_arn: str) -> Any:
    """Touches: KinesisBackend.describe_stream(stream_arn, stream_name) -> Stream (.shards: {id: Shard
    (.shard_id, .records: {int sequence number: Record (.created_at epoch seconds)})})."""
    return backend("kinesis", account_id, region).describe_stream(stream_arn=stream_arn, stream_name=None)


def kinesis_last_sequence_before(account_id: str, region: str, stream_arn: str, shard_id: str,
                                 before_epoch_s: float) -> str | None:
    """The sequence number of the shard's last record that arrived before `before_epoch_s`, or None.

    For a position no API gives exactly: AT_TIMESTAMP exists, but botocore sends whole seconds.
    """
    last = None
    for seq, record in list(_kinesis_stream(account_id, region, stream_arn).shards[shard_id].records.items()):
        if record.created_at >= before_epoch_s:
            break
        last = str(seq)
    return last


def kinesis_records_after(account_id: str, region: str, stream_arn: str, positions: dict[str, str],
                          since_epoch_s: float) -> int:
    """Records in the stream after `positions` (shard -> sequence number); a shard without a position
    counts the records that arrived since `since_epoch_s`. For a consumer's lag, which no API gives."""
    lag = 0
    for shard in _kinesis_stream(account_id, region, stream_arn).shards.values():
        position = positions.get(shard.shard_id)
        if position is None:
            lag += sum(1 for r in list(shard.records.values()) if r.created_at >= since_epoch_s)
        else:
            lag += sum(1 for seq in list(shard.records.keys()) if seq > int(position))
    return lag


# -- S3 ------------------------------------------------------------------------------
def filter_bucket_policies(resolve: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    """Make moto's bucket-policy check evaluate `resolve(policy)` instead of the stored policy.

    `resolve` returns None to leave moto's own evaluation as it is; a policy left with no
    statement is neutral. Touches: moto.s3.models.FakeBucket.get_permission(action, resource)
    and .policy (bytes), moto.iam.access_control.IAMPolicy(...).is_action_permitted(action,
    resource), PermissionResult.NEUTRAL.
    """
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    with _PATCH_LOCK:
        current = FakeBucket.get_permission
        original = getattr(current, "__wrapped__", current) if getattr(current, _MARK, False) else current

        def get_permission(self: Any, action: str, resource: str) -> Any:
            if self.policy is None:
                return original(self, action, resource)
            raw = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
            policy = resolve(json.loads(raw))
            if policy is None:
                return original(self, action, resource)
            if not policy["Statement"]:
                return PermissionResult.NEUTRAL
            return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

        get_permission.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(get_permission, _MARK, True)
        FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


# -- EventBridge Pipes -----------------------------------------------------------------
def pipe_version(pipe: Any) -> int:
    """Our configuration version of a moto FakePipe (moto has none): bumped by every UpdatePipe/Start/Stop.

    Touches: an attribute of ours, `localcloud_version`, kept on moto's FakePipe so it lives and dies
    with the pipe (moto_api reset, DeletePipe). The other FakePipe attributes we read and set:
    name, arn, creation_time, last_modified_time, desired_state, status, state_reason, source,
    source_parameters, target, target_parameters, enrichment, enrichment_parameters, role_arn,
    description, tags, log_configuration, kms_key_identifier.
    """
    return getattr(pipe, "localcloud_version", 1)


def set_pipe_version(pipe: Any, version: int) -> None:
    pipe.localcloud_version = version


def event_pattern(raw: str) -> Any:
    """EventBridge's pattern matcher, shared with moto's rules so both agree on a pattern's meaning.

    Returns an object with `.matches_event(event) -> bool`; raises ValueError with moto's message
    for an invalid pattern. Touches: moto.events.models.EventPattern.load, .matches_event.
    """
    from moto.events.models import EventPattern

    try:
        return EventPattern.load(raw)
    except Exception as exc:  # moto raises its own InvalidEventPatternException (and json's errors)
        raise ValueError(getattr(exc, "message", None) or str(exc)) from None


# -- Lambda ----------------------------------------------------------------------------
def lambda_function(account_id: str, region: str, name: str, qualifier: str | None) -> Any:
    """moto's LambdaFunction (what CreateFunction/UpdateFunctionCode stored); raises KeyError if none.

    Read: .function_name, .function_arn, .version, .code_bytes, .handler, .environment_vars,
    .timeout, .memory_size, .run_time, .account_id. Touches: lambda_backends[...].get_function.
    """
    from moto.awslambda.models import lambda_backends

    try:
        return lambda_backends[account_id][region].get_function(name, qualifier)
    except Exception as exc:  # moto raises UnknownFunctionException, or others for a malformed name
        raise KeyError(name) from exc


# -- Glue ------------------------------------------------------------------------------
def glue_backend(account_id: str, region: str) -> Any:
    """moto's glue backend: .databases[name].tables[name] (FakeTable), .crawlers[name] (FakeCrawler),
    create_table / update_table / delete_table / get_crawler / create_crawler. Touches: glue_backends."""
    from moto.glue.models import glue_backends

    return glue_backends[account_id][region]


def glue_table_input(table: Any) -> dict[str, Any]:
    """The current TableInput of moto's FakeTable. Touches: FakeTable.get_version, ._current_version."""
    return table.get_version(str(table._current_version))


# -- CloudWatch Logs (the plane's log writer) ------------------------------------------------
def put_log_events(account_id: str, region: str, group: str, stream: str, events: list[dict[str, Any]],
                   *, create: bool = True) -> None:
    """Append events to a CloudWatch Logs stream, creating the group and stream as AWS services do.

    With `create=False` the events are dropped when the group or stream does not exist.

    Touches: moto.logs.models.logs_backends, LogsBackend.groups / .streams,
    create_log_group, create_log_stream, put_log_events.
    """
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]
    exists = group in backend.groups and stream in backend.groups[group].streams
    if not exists and not create:
        return
    if group not in backend.groups:
        backend.create_log_group(group, {})
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, events)


# -- closed by default and bounded memory (localcloud/guard.py, localcloud/retention.py) ----------
import itertools as _itertools
import os as _os
import tempfile as _tempfile
import threading as _threading
import types as _types
import weakref as _weakref
from collections import OrderedDict as _OrderedDict
from pathlib import Path as _Path

# Held while a stream shard is trimmed and while one of its records is appended, so a write
# never lands in the list a trim is about to replace, nor gets a sequence number a trim just moved.
_STREAM_LOCK = _threading.RLock()
_KINESIS_LAST_SEQ = "_localcloud_last_sequence_number"  # a Kinesis shard's last number, kept past a trim


def disable_moto_cors() -> None:
    """Stop moto's server answering CORS for any origin (the local cloud takes no browser requests).

    Touches: moto.moto_server.werkzeug_app.DISABLE_GLOBAL_CORS, read each time a backend app is
    created (flask_cors.CORS(app) reflects every Origin and answers every preflight otherwise).
    """
    from moto.moto_server import werkzeug_app

    werkzeug_app.DISABLE_GLOBAL_CORS = True


class _DiskBody:
    """An S3 object body kept in a file of its own, opened only while it is read or written.

    Replaces the SpooledTemporaryFile moto keeps per key (which holds bodies up to ~5 MB in RAM,
    and, once rolled over, an open file descriptor per key). Supports the calls FakeKey makes:
    seek, read, truncate, write, close. The file goes when the key is disposed or collected.
    """

    def __init__(self, directory: _Path, max_size: int = 0, *args: Any, **kwargs: Any) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = _tempfile.mkstemp(prefix="body-", dir=directory)
        _os.close(fd)
        self.path = name
        self._pos = 0
        self._finalizer = _weakref.finalize(self, _unlink_quietly, name)

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset if whence == 0 else (self._pos + offset if whence == 1 else self._size() + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def _size(self) -> int:
        try:
            return _os.path.getsize(self.path)
        except OSError:
            return 0

    def read(self, size: int = -1) -> bytes:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._pos)
                data = f.read() if size is None or size < 0 else f.read(size)
        except FileNotFoundError:  # closed (disposed) key: moto reads it as empty
            data = b""
        self._pos += len(data)
        return data

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if _os.path.exists(self.path):
            _os.truncate(self.path, size)
        return size

    def write(self, data: bytes) -> int:
        with open(self.path, "r+b" if _os.path.exists(self.path) else "wb") as f:
            f.seek(self._pos)
            f.write(data)
        self._pos += len(data)
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self._finalizer()


def _unlink_quietly(path: str) -> None:
    try:
        _os.unlink(path)
    except OSError:
        pass


def keep_s3_bodies_on_disk(directory: _Path) -> None:
    """Make every S3 object body moto stores from now on live in a file under `directory`, not in RAM.

    Touches: moto.s3.models.tempfile — the module whose SpooledTemporaryFile FakeKey.__init__ and
    FakeKey.__setstate__ create a key's `_value_buffer` with (its in-memory size is
    MOTO_S3_DEFAULT_KEY_BUFFER_SIZE, 5 MB - 1 KB by default). We hand moto a module whose
    SpooledTemporaryFile is `_DiskBody`; left-overs of an earlier run in `directory` are removed.
    """
    from moto.s3 import models as s3_models

    directory = _Path(directory)
    if directory.is_dir():
        for stale in directory.glob("body-*"):
            _unlink_quietly(str(stale))
    namespace = _types.SimpleNamespace(**{k: getattr(_tempfile, k) for k in dir(_tempfile) if not k.startswith("__")})
    namespace.SpooledTemporaryFile = lambda *args, **kwargs: _DiskBody(directory, *args, **kwargs)
    s3_models.tempfile = namespace


def s3_body_in_memory_bytes() -> int:
    """Bytes of S3 object bodies held in RAM by moto's keys (0 once `keep_s3_bodies_on_disk` ran).

    Touches: moto.s3.models.s3_backends, S3Backend.buckets, FakeBucket.keys (a MultiDict of
    FakeKey lists), FakeKey._value_buffer.
    """
    from moto.s3.models import s3_backends

    total = 0
    for account in list(s3_backends.values()):
        for backend in list(account.values()):
            for bucket in list(backend.buckets.values()):
                for key in bucket.keys.lists():
                    for version in key[1]:
                        buffer = getattr(version, "_value_buffer", None)
                        if isinstance(buffer, _tempfile.SpooledTemporaryFile) and not buffer._rolled:
                            total += len(buffer._file.getvalue())
    return total


def _backends(service: str) -> list[Any]:
    from moto.backends import get_backend

    return [backend for account in list(get_backend(service).values()) for backend in list(account.values())]


def _install_stream_lock() -> None:
    """Make moto's DynamoDB StreamShard.add take `_STREAM_LOCK` (idempotent).

    Touches: moto.dynamodb.models.table.StreamShard.add (our FaithfulStreamShard calls it via super()).
    """
    from moto.dynamodb.models.table import StreamShard

    if getattr(StreamShard.add, "_localcloud_locked", False):
        return
    original = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        with _STREAM_LOCK:
            original(self, old, new)

    add._localcloud_locked = True  # type: ignore[attr-defined]
    StreamShard.add = add  # type: ignore[method-assign]


def dynamodb_stream_window(shard: Any) -> tuple[int, list[Any]]:
    """(sequence number of the shard's oldest retained record, its records), read consistently with trims.

    Touches: moto.dynamodb.models.table.StreamShard.starting_sequence_number and .items.
    """
    with _STREAM_LOCK:
        return shard.starting_sequence_number, shard.items


def trim_dynamodb_streams(retention_seconds: float, now: float) -> int:
    """Drop DynamoDB stream records older than `retention_seconds`; returns how many went.

    The shard's numbering is kept: records are dropped from the front and
    `starting_sequence_number` moves up by as many, so moto's next record still gets
    "starting number + len(items)" and a reader asking for a trimmed number can tell.
    Touches: moto.dynamodb backends' .tables, Table.stream_shard, StreamShard.items /
    .starting_sequence_number, StreamRecord.created_at (epoch seconds).
    """
    _install_stream_lock()
    cutoff = now - retention_seconds
    dropped = 0
    for backend in _backends("dynamodb"):
        for table in list(backend.tables.values()):
            shard = getattr(table, "stream_shard", None)
            if shard is None:
                continue
            with _STREAM_LOCK:
                items = shard.items
                expired = 0
                for record in items:
                    if getattr(record, "created_at", now) >= cutoff:
                        break
                    expired += 1
                if expired:
                    shard.items = items[expired:]  # a new list: readers holding the old one stay consistent
                    shard.starting_sequence_number += expired
                    dropped += expired
    return dropped


def _install_kinesis_numbering() -> None:
    """Keep a Kinesis shard's sequence numbers rising after every record was trimmed (idempotent).

    Touches: moto.kinesis.models.Shard.put_record and .get_max_sequence_number (moto numbers a
    record "last + 1", and "last" is 0 for an empty shard), Record.
    """
    from moto.kinesis.models import Record, Shard

    if getattr(Shard.put_record, "_localcloud_numbered", False):
        return
    original_put = Shard.put_record
    original_max = Shard.get_max_sequence_number

    def put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
        with _STREAM_LOCK:
            floor = getattr(self, _KINESIS_LAST_SEQ, 0)
            if not self.records and floor:
                sequence_number = floor + 1
                self.records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
                return str(sequence_number)
            return original_put(self, partition_key, data, explicit_hash_key)

    def get_max_sequence_number(self: Any) -> int:
        records = self.records
        if records:
            return next(reversed(records))
        return max(original_max(self), getattr(self, _KINESIS_LAST_SEQ, 0))

    put_record._localcloud_numbered = True  # type: ignore[attr-defined]
    Shard.put_record = put_record  # type: ignore[method-assign]
    Shard.get_max_sequence_number = get_max_sequence_number  # type: ignore[method-assign]


def trim_kinesis_streams(now: float, retention_seconds: float | None = None) -> int:
    """Drop Kinesis records older than their stream's retention; returns how many went.

    Retention is the stream's RetentionPeriodHours (24 by default, changed by
    Increase/DecreaseStreamRetentionPeriod) unless `retention_seconds` overrides it. A shard's
    records are replaced by a new OrderedDict of the retained ones (moto's GetRecords iterates
    the dict; an in-place delete would break a read in flight); numbering goes on from the last.
    Touches: moto.kinesis backends' .streams, Stream.retention_period_hours, Stream.shards,
    Shard.records (OrderedDict seq -> Record), Record.created_at (epoch seconds).
    """
    _install_kinesis_numbering()
    dropped = 0
    for backend in _backends("kinesis"):
        for stream in list(backend.streams.values()):
            keep = retention_seconds if retention_seconds is not None else stream.retention_period_hours * 3600
            cutoff = now - keep
            for shard in list(stream.shards.values()):
                with _STREAM_LOCK:
                    records = shard.records
                    expired = 0
                    for record in records.values():
                        if record.created_at >= cutoff:
                            break
                        expired += 1
                    if not expired:
                        continue
                    last = next(reversed(records))
                    setattr(shard, _KINESIS_LAST_SEQ, max(last, getattr(shard, _KINESIS_LAST_SEQ, 0)))
                    shard.records = _OrderedDict(_itertools.islice(records.items(), expired, None))
                    dropped += expired
    return dropped


def install_retention_hooks() -> None:
    """Everything trimming relies on, installed before the first trim (idempotent): the DynamoDB
    stream append lock, Kinesis numbering that survives an emptied shard, the CloudWatch put lock."""
    _install_stream_lock()
    _install_kinesis_numbering()
    _install_cloudwatch_lock()


class _WeakInstances:
    """A list-like of weak references: what moto's `instances_tracked` holds once patched.

    Supports what moto does with it: append, iterate (live instances only), len.
    """

    def __init__(self, initial: Any = ()) -> None:
        self._refs: list[Any] = []
        self._live_at_sweep = 0  # references left by the last sweep (all live then)
        self.sweeps = 0
        for instance in initial:
            self.append(instance)

    def append(self, instance: Any) -> None:
        try:
            self._refs.append(_weakref.ref(instance))
        except TypeError:  # a model without weak reference support: not tracked (only the dashboard lists them)
            return
        # Drop dead references once the list has doubled since the last sweep: a sweep costs the
        # list's length, so this is O(1) per append however many records the store holds (a sweep
        # every 1,024 appends cost O(live records) each time: PutRecords slowed as a stream filled),
        # and dead references never outnumber max(1,024, the live ones).
        if len(self._refs) >= max(1024, 2 * self._live_at_sweep):
            self._refs = [r for r in self._refs if r() is not None]
            self._live_at_sweep = len(self._refs)
            self.sweeps += 1

    def __iter__(self) -> Any:
        return iter([o for o in (r() for r in self._refs) if o is not None])

    def __len__(self) -> int:
        return sum(1 for r in self._refs if r() is not None)


def track_model_instances_weakly() -> None:
    """Stop moto keeping every model object it ever created alive (idempotent).

    moto's BaseModel.__new__ appends each instance (every Kinesis Record, stream record, S3 key
    version, metric datum, ...) to its class's `instances_tracked` list, for the /moto-api/
    dashboard and S3's reset; nothing ever removes them, so trimmed records and overwritten
    objects stay in RAM for good. We keep the tracking, with weak references.
    Touches: moto.core.common_models.BaseModel.__new__, moto.core.model_instances.model_data,
    each model class's `instances_tracked`.
    """
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import model_data

    if getattr(BaseModel.__new__, "_localcloud_weak", False):
        return

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, _WeakInstances):
            tracked = _WeakInstances(tracked or ())
            cls.instances_tracked = tracked
        tracked.append(instance)
        return instance

    __new__._localcloud_weak = True  # type: ignore[attr-defined]
    BaseModel.__new__ = __new__  # type: ignore[method-assign]
    for models in list(model_data.values()):
        for model in list(models.values()):
            if not isinstance(getattr(model, "instances_tracked", None), _WeakInstances):
                model.instances_tracked = _WeakInstances(getattr(model, "instances_tracked", ()) or ())


# CloudWatch keeps data points with a period under 60 s for 3 hours and 1-minute aggregates for 15 days
# (CloudWatch User Guide, "Metrics retention"); raw points older than this are rolled up into minutes.
CLOUDWATCH_RAW_SECONDS = 3 * 3600
_METRICS_LOCK = _threading.RLock()
_ROLLED = "_localcloud_rolled_up"


def _install_cloudwatch_lock() -> None:
    """Make moto's CloudWatch PutMetricData take `_METRICS_LOCK`, so a roll-up never loses a point (idempotent).

    Touches: moto.cloudwatch.models.CloudWatchBackend.put_metric_data.
    """
    from moto.cloudwatch.models import CloudWatchBackend

    if getattr(CloudWatchBackend.put_metric_data, "_localcloud_locked", False):
        return
    original = CloudWatchBackend.put_metric_data

    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        with _METRICS_LOCK:
            original(self, namespace, metric_data)

    put_metric_data._localcloud_locked = True  # type: ignore[attr-defined]
    CloudWatchBackend.put_metric_data = put_metric_data  # type: ignore[method-assign]


def _epoch(timestamp: Any) -> float:
    import datetime as _dt

    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=_dt.timezone.utc)
    return timestamp.timestamp()


def roll_up_cloudwatch_metrics(now: float, raw_seconds: float = CLOUDWATCH_RAW_SECONDS) -> int:
    """Replace data points older than `raw_seconds` by one statistic set per metric and minute.

    Sum, SampleCount, Minimum, Maximum and Average over whole minutes answer as before; what goes
    is the single values (AWS, too, keeps sub-minute points only 3 hours). Returns how many points
    were rolled up. Touches: moto.cloudwatch backends' .metric_data (a list of MetricDatum /
    MetricAggregatedDatum with .namespace, .name, .dimensions, .unit, .timestamp, .value or
    .sum/.min/.max/.sample_count), MetricAggregatedDatum's constructor.
    """
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

    _install_cloudwatch_lock()
    cutoff = now - raw_seconds
    rolled = 0
    for backend in _backends("cloudwatch"):
        with _METRICS_LOCK:
            data = backend.metric_data
            groups: dict[tuple[Any, ...], list[float]] = {}
            kept = []
            for datum in data:
                if getattr(datum, _ROLLED, False) or _epoch(datum.timestamp) >= cutoff or not isinstance(
                        datum, (MetricDatum, MetricAggregatedDatum)):
                    kept.append(datum)
                    continue
                minute = datum.timestamp.replace(second=0, microsecond=0)
                dims = tuple((d.name, d.value) for d in datum.dimensions)
                key = (datum.namespace, datum.name, datum.unit, dims, minute)
                if isinstance(datum, MetricDatum):
                    point = (datum.value, datum.value, 1.0, datum.value)
                else:
                    point = (datum.min, datum.max, datum.sample_count, datum.sum)
                stats = groups.get(key)
                groups[key] = list(point) if stats is None else [
                    min(stats[0], point[0]), max(stats[1], point[1]), stats[2] + point[2], stats[3] + point[3]]
                rolled += 1
            if not groups:
                continue
            for (namespace, name, unit, dims, minute), (low, high, count, total) in groups.items():
                aggregate = MetricAggregatedDatum(
                    namespace=namespace, name=name, min_stat=low, max_stat=high, sample_count=count,
                    sum_stat=total, dimensions=[{"Name": n, "Value": v} for n, v in dims], timestamp=minute,
                    unit=unit)
                setattr(aggregate, _ROLLED, True)
                kept.append(aggregate)
            backend.metric_data = kept
    return rolled


def cloudwatch_point_count() -> int:
    """How many data points moto's CloudWatch holds (all accounts and regions).

    Touches: moto.cloudwatch backends' .metric_data.
    """
    return sum(len(backend.metric_data) for backend in _backends("cloudwatch"))


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
            # The shard numbers its records from starting_sequence_number on, contiguously (retention
            # trims the front and moves that number up), so this is the last number it has given.
            last = shard.starting_sequence_number + len(shard.items) - 1
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


def s3_body_file(bucket: str, key: str, etag: str) -> str | None:
    """The file holding the current body of `s3://bucket/key`, if its ETag is still `etag`; else None.

    Lets Athena read a lake object it has just listed through the S3 API without copying the
    body over HTTP (see the in-process exception in `localcloud/plane.py`). None when the key is
    gone, was replaced (other ETag), is a delete marker, or its body is not kept in a file of its
    own (`keep_s3_bodies_on_disk` not installed): the caller then reads it over HTTP.

    Touches: moto.s3.models.s3_backends.bucket_accounts (bucket -> partition, account),
    S3Backend.buckets, FakeBucket.keys (latest version of a key), FakeKey.etag and
    FakeKey._value_buffer (a `_DiskBody`, whose file moto never rewrites in place: a new body is
    a new FakeKey with a new file).
    """
    from moto.s3.models import FakeKey, s3_backends

    located = s3_backends.bucket_accounts.get(bucket)
    if located is None:
        return None
    partition, account_id = located
    try:
        fake_bucket = s3_backends[account_id][partition].buckets.get(bucket)
        fake_key = fake_bucket.keys.get(key) if fake_bucket is not None else None
    except KeyError:
        return None
    if not isinstance(fake_key, FakeKey) or fake_key.etag.strip('"') != etag.strip('"'):
        return None
    body = getattr(fake_key, "_value_buffer", None)
    if not isinstance(body, _DiskBody) or not _os.path.exists(body.path):
        return None
    return body.path
