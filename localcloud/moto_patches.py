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

Checked against moto 5.1.x, 5.2.5 and 5.2.6. `localcloud/moto_state.py` pickles the backends
this module hands it (`service_backends`); it names no moto module itself.
"""

from __future__ import annotations

import datetime as _dt
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
# Services whose moto app routes only "/" (JSON 1.1) while the installed botocore may send them as
# REST-JSON (Athena from botocore 1.44.1x): moto's own router picks the operation by method and path.
REST_PATHS_TO_ROOT_HANDLER = frozenset({"athena"})


def moto_wsgi_app() -> Any:
    """moto's server application, built by `moto_backend_app`. Touches:
    moto.moto_server.werkzeug_app.DomainDispatcherApplication."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    return DomainDispatcherApplication(moto_backend_app)


def moto_backend_app(service: Any) -> Any:
    """moto's Flask app of one service; Athena's also answers REST paths (see localcloud/protocols.py).

    Touches: moto.moto_server.werkzeug_app.create_backend_app, HTTP_METHODS; the Flask app's
    url_map rule "/" and its view function.
    """
    from moto.moto_server.werkzeug_app import HTTP_METHODS, create_backend_app

    app = create_backend_app(service)
    if service in REST_PATHS_TO_ROOT_HANDLER:
        (root,) = [rule for rule in app.url_map.iter_rules() if rule.rule == "/"]
        app.add_url_rule("/<path:rest_path>", endpoint="localcloud.rest_paths", methods=HTTP_METHODS,
                         view_func=app.view_functions[root.endpoint])
    return app


def reset_moto() -> None:
    """Empty every moto backend (and every BackendDict of ours). Touches: moto_api_backend.reset()."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def backend(service: str, account_id: str, region: str) -> Any:
    """moto's backend of `service` for one account and region. Touches: moto.backends.get_backend."""
    from moto.backends import get_backend

    return get_backend(service)[account_id][region]  # type: ignore[call-overload]


def service_backends(service: str) -> Any:
    """moto's BackendDict of `service` (account -> region -> backend), to snapshot or replace whole.

    Touches: moto.backends.get_backend; BackendDict items, per-account dicts and item assignment.
    """
    from moto.backends import get_backend

    return get_backend(service)  # type: ignore[call-overload]


def moto_version() -> str:
    """The installed moto's version: snapshots record it, since they pickle moto's own classes."""
    import moto

    return str(moto.__version__)


def all_backends(service: str) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) for every backend of `service` moto has created so far.

    Touches: moto.backends.get_backend, BackendDict.items() and its per-account dicts.
    """
    from moto.backends import get_backend

    for account_id, regions in list(get_backend(service).items()):  # type: ignore[call-overload]
        for region, service_backend in list(regions.items()):
            yield account_id, region, service_backend


# -- DynamoDB (Streams) --------------------------------------------------------------
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


def kinesis_arrival_epoch(record: Any) -> float:
    """When a moto Kinesis Record arrived, in epoch seconds. Touches: Record.created_at, which moto
    up to 5.2.5 keeps as epoch seconds (float) and 5.2.6 as a naive UTC datetime."""
    value = record.created_at
    if isinstance(value, _dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)).timestamp()
    return float(value)


def _kinesis_stream(account_id: str, region: str, stream_arn: str) -> Any:
    """Touches: KinesisBackend.describe_stream(stream_arn, stream_name) -> Stream (.shards: {id: Shard
    (.shard_id, .records: {int sequence number: Record (see kinesis_arrival_epoch)})})."""
    return backend("kinesis", account_id, region).describe_stream(stream_arn=stream_arn, stream_name=None)


def kinesis_last_sequence_before(account_id: str, region: str, stream_arn: str, shard_id: str,
                                 before_epoch_s: float) -> str | None:
    """The sequence number of the shard's last record that arrived before `before_epoch_s`, or None.

    For a position no API gives exactly: AT_TIMESTAMP exists, but botocore sends whole seconds.
    """
    last = None
    for seq, record in list(_kinesis_stream(account_id, region, stream_arn).shards[shard_id].records.items()):
        if kinesis_arrival_epoch(record) >= before_epoch_s:
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
            lag += sum(1 for r in list(shard.records.values()) if kinesis_arrival_epoch(r) >= since_epoch_s)
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
    seek, read, truncate, write, close. The file goes when the key is disposed or collected,
    unless a snapshot may still name it (see "S3 body files in snapshots" below).
    `adopt`: the name of a file already in the directory (a body a snapshot refers to).
    """

    def __init__(self, directory: _Path, max_size: int = 0, *args: Any, adopt: str | None = None,
                 **kwargs: Any) -> None:
        if adopt is None:
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = _tempfile.mkstemp(prefix="body-", dir=directory)
            _os.close(fd)
        else:
            name = str(directory / adopt)
        self.path = name
        self._pos = 0
        self._finalizer = _weakref.finalize(self, _release_body_file, name)

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

    @property
    def closed(self) -> bool:
        """Disposed (moto keeps some disposed keys around; they read as empty)."""
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()


def _unlink_quietly(path: str) -> None:
    try:
        _os.unlink(path)
    except OSError:
        pass


# -- S3 body files in snapshots (localcloud/durability) ---------------------------------------
# A snapshot of S3 names each key's body file instead of copying its bytes, so a snapshot stays
# small and a restart adopts the files as they are. A file a snapshot names must outlive its
# key until a newer snapshot no longer names it: a crash before then restores that snapshot,
# and the log replayed on top needs the file only if its key was not replaced in the log. So:
# - `_body_pins`: the files the installed S3 snapshot names; removing one is deferred;
# - `_body_holds`: snapshots being written; while one is, every removal is deferred (the
#   snapshot may name the file, and it is not known which until it is done);
# - `_body_deferred`: removals waiting for the next installed snapshot that no longer names them.
_BODY_DIR: _Path | None = None
_BODY_LOCK = _threading.RLock()  # re-entrant: a finalizer may run (garbage collection) while it is held
_body_pins: set[str] = set()
_body_deferred: set[str] = set()
_body_holds = 0
_body_adopted: set[str] = set()  # names adopted since the last `s3_body_files_adopted()`


def _release_body_file(path: str) -> None:
    name = _os.path.basename(path)
    with _BODY_LOCK:
        if _body_holds or name in _body_pins:
            _body_deferred.add(name)
            return
    _unlink_quietly(path)


def hold_s3_body_files() -> None:
    """A snapshot is about to be taken: remove no body file until `release_s3_body_files`."""
    global _body_holds
    with _BODY_LOCK:
        _body_holds += 1


def release_s3_body_files(pins: set[str] | None) -> int:
    """A snapshot is done; `pins`: the files the S3 snapshot just installed names (None: none was).

    Removes the deferred files no snapshot needs any more; returns how many."""
    global _body_holds, _body_pins
    with _BODY_LOCK:
        _body_holds -= 1
        if pins is not None:
            _body_pins = set(pins)
        if _body_holds or _BODY_DIR is None:
            return 0
        free = [name for name in list(_body_deferred) if name not in _body_pins]
        for name in free:
            _body_deferred.discard(name)
    for name in free:
        _unlink_quietly(str(_BODY_DIR / name))
    return len(free)


def pin_s3_body_files(pins: set[str]) -> None:
    """Recovery: the files the loaded S3 snapshot names stay until a newer snapshot drops them."""
    global _body_pins
    with _BODY_LOCK:
        _body_pins = set(pins)


def s3_body_files_adopted() -> set[str]:
    """The body files keys unpickled from a snapshot adopted since the last call."""
    with _BODY_LOCK:
        adopted = set(_body_adopted)
        _body_adopted.clear()
    return adopted


def s3_body_files_on_disk() -> set[str]:
    """The names of every body file in the body directory now."""
    if _BODY_DIR is None or not _BODY_DIR.is_dir():
        return set()
    return {path.name for path in _BODY_DIR.glob("body-*")}


def remove_s3_body_files(names: set[str]) -> None:
    """Delete body files nothing refers to (left by a crash: their keys were never snapshotted)."""
    if _BODY_DIR is not None:
        for name in names:
            _unlink_quietly(str(_BODY_DIR / name))


def sync_s3_body_files(names: set[str]) -> None:
    """fsync each named body file and the directory, so a snapshot naming them survives a power cut.

    Raises FileNotFoundError if one is gone (then the snapshot must not be installed)."""
    if _BODY_DIR is None or not names:
        return
    for name in names:
        fd = _os.open(_BODY_DIR / name, _os.O_RDONLY)
        try:
            _os.fsync(fd)
        finally:
            _os.close(fd)
    fd = _os.open(_BODY_DIR, _os.O_RDONLY)
    try:
        _os.fsync(fd)
    finally:
        _os.close(fd)


def snapshot_reduction(obj: Any, body_files: set[str]) -> Any:
    """How a snapshot pickles `obj` where it differs from plain pickle, else NotImplemented.

    - a DynamoDB item's attributes (LimitedSizeDict): loaded without its 400 KB check, which
      re-measures every attribute on each insert (O(n^2) per item; 70 % of loading a table).
      The item passed the check when it was written;
    - an S3 key (FakeKey): see below.

    A key whose body is a file of its own is pickled with the file's name (added to
    `body_files`), not the bytes. Any other key is pickled with its bytes, read without the
    key's lock (FakeKey.__getstate__ takes it): a snapshot may be pickled in a forked child,
    where a lock another thread held at the fork stays held for ever.
    Touches: moto.s3.models.FakeKey (its __dict__, `_value_buffer`, `lock`, __setstate__),
    moto.dynamodb.models.dynamo_type.LimitedSizeDict (a dict subclass checking size in __setitem__).
    """
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    from moto.s3.models import FakeKey

    if type(obj) is LimitedSizeDict:
        return _unchecked_dict, (LimitedSizeDict, dict(obj))
    if not isinstance(obj, FakeKey):
        return NotImplemented
    state = obj.__dict__.copy()
    buffer = state.pop("_value_buffer", None)
    state.pop("lock", None)
    if buffer is None or getattr(buffer, "closed", False):
        state["value"] = b""  # a disposed key (its file may be gone), as FakeKey.__getstate__ pickles it
    elif isinstance(buffer, _DiskBody) and _BODY_DIR is not None:
        name = _os.path.basename(buffer.path)
        body_files.add(name)
        return _s3_key_with_body_file, (type(obj), state, name)
    else:
        buffer.seek(0)
        state["value"] = buffer.read()
    return _s3_key_from_state, (type(obj), state)


def _unchecked_dict(cls: Any, items: dict[Any, Any]) -> Any:
    """A dict subclass filled without its own __setitem__."""
    result = cls.__new__(cls)
    dict.update(result, items)
    return result


def _s3_key_with_body_file(cls: Any, state: dict[str, Any], name: str) -> Any:
    assert _BODY_DIR is not None, "S3 body files are restored only where keep_s3_bodies_on_disk ran"
    key = cls.__new__(cls)
    key.__dict__.update(state)
    key._value_buffer = _DiskBody(_BODY_DIR, adopt=name)
    key.lock = _threading.Lock()
    with _BODY_LOCK:
        _body_adopted.add(name)
    return key


def _s3_key_from_state(cls: Any, state: dict[str, Any]) -> Any:
    key = cls.__new__(cls)
    key.__setstate__(state)
    return key


def keep_s3_bodies_on_disk(directory: _Path, *, keep_existing: bool = False) -> None:
    """Make every S3 object body moto stores from now on live in a file under `directory`, not in RAM.

    Touches: moto.s3.models.tempfile — the module whose SpooledTemporaryFile FakeKey.__init__ and
    FakeKey.__setstate__ create a key's `_value_buffer` with (its in-memory size is
    MOTO_S3_DEFAULT_KEY_BUFFER_SIZE, 5 MB - 1 KB by default). We hand moto a module whose
    SpooledTemporaryFile is `_DiskBody`. Left-overs of an earlier run in `directory` are removed,
    unless `keep_existing` (durable state: its snapshots name them; recovery removes the rest).
    """
    global _BODY_DIR
    from moto.s3 import models as s3_models

    directory = _Path(directory)
    if directory.is_dir() and not keep_existing:
        for stale in directory.glob("body-*"):
            _unlink_quietly(str(stale))
    _BODY_DIR = directory
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


def dynamodb_stream_last_sequence_before(account_id: str, region: str, stream_arn: str, shard_id: str,
                                         before_epoch_s: float) -> str | None:
    """The sequence number of the shard's last retained record made before `before_epoch_s`, or None.

    A pipe starting at LATEST starts after the records made before it was created: computed from
    the stream each time (no API gives it), so a restart before its first delivery starts at the
    same place instead of at a later LATEST that skips what was written meanwhile.
    Touches: the Table `dynamodb_table` returns (.latest_stream_label, .stream_shard .id) and
    StreamRecord .created_at / .record["dynamodb"]["SequenceNumber"].
    """
    # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
    resource = stream_arn.split(":", 5)[5]
    _, table_name, _, label = resource.split("/", 3)
    table = dynamodb_table(account_id, region, table_name)
    if table is None or table.latest_stream_label != label or table.stream_shard is None \
            or table.stream_shard.id != shard_id:
        return None
    last = None
    for record in dynamodb_stream_window(table.stream_shard)[1]:
        if getattr(record, "created_at", before_epoch_s) >= before_epoch_s:
            break
        last = str(record.record["dynamodb"]["SequenceNumber"])
    return last


def trim_dynamodb_streams(retention_seconds: float, now: float) -> int:
    """Drop DynamoDB stream records older than `retention_seconds`; returns how many went.

    The shard's numbering is kept: records are dropped from the front and
    `starting_sequence_number` moves up by as many, so moto's next record still gets
    "starting number + len(items)" and a reader asking for a trimmed number can tell.
    With a durability journal installed, each shard's trim is logged ("ddb-trim": the new starting
    number) under the journal's lock; `apply_logged_change` replays it.
    Touches: moto.dynamodb backends' .tables, Table.stream_shard, StreamShard.items /
    .starting_sequence_number / .id, StreamRecord.created_at (epoch seconds).
    """
    _install_stream_lock()
    cutoff = now - retention_seconds
    dropped = 0
    for backend in _backends("dynamodb"):
        for table in list(backend.tables.values()):
            shard = getattr(table, "stream_shard", None)
            if shard is None:
                continue
            with _trim_logged(), _STREAM_LOCK:
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
                    _log_trim("dynamodb", ("ddb-trim", table.account_id, table.region_name, table.name, shard.id,
                                           shard.starting_sequence_number))
    return dropped


def _trim_logged() -> Any:
    """The durability journal's lock while a trim runs, so a trim and its log record are one step
    for snapshots, and the lock order (journal, then `_STREAM_LOCK`) is the capture hooks' one."""
    import contextlib

    journal = _capture_journal
    return journal.lock if journal is not None else contextlib.nullcontext()


def _log_trim(service: str, change: tuple[Any, ...]) -> None:
    """A trim changes state like a write: logged, else a crash's replay would bring the records back.
    Nobody waits for it (no request acknowledged it); a later record (a runner's position) is durable
    only once it is too, as the log is written in order."""
    journal = _capture_journal
    if journal is not None:
        journal.log_change(service, change)


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
    Shard.records (OrderedDict seq -> Record), Record.created_at (kinesis_arrival_epoch). With a durability
    journal installed, each shard's trim is logged ("kinesis-trim": the last trimmed number and the
    shard's last number) under the journal's lock; `apply_logged_change` replays it.
    """
    _install_kinesis_numbering()
    dropped = 0
    for backend in _backends("kinesis"):
        for stream in list(backend.streams.values()):
            keep = retention_seconds if retention_seconds is not None else stream.retention_period_hours * 3600
            cutoff = now - keep
            for shard_id, shard in list(stream.shards.items()):
                with _trim_logged(), _STREAM_LOCK:
                    records = shard.records
                    expired = 0
                    up_to = 0  # the last trimmed record's number
                    for sequence_number, record in records.items():
                        if kinesis_arrival_epoch(record) >= cutoff:
                            break
                        expired += 1
                        up_to = sequence_number
                    if not expired:
                        continue
                    last = max(next(reversed(records)), getattr(shard, _KINESIS_LAST_SEQ, 0))
                    setattr(shard, _KINESIS_LAST_SEQ, last)
                    shard.records = _OrderedDict(_itertools.islice(records.items(), expired, None))
                    dropped += expired
                    _log_trim("kinesis", ("kinesis-trim", stream.account_id, stream.region, stream.stream_name,
                                          shard_id, up_to, last))
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
    """The logged item back as moto's Item, without LimitedSizeDict's O(n^2) size check (it
    passed it when it was written; moto's own Item.__deepcopy__ skips it for the same reason)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    item = Item.__new__(Item)
    item.hash_key, item.range_key = hash_key, range_key
    item.attrs = _unchecked_dict(LimitedSizeDict, {name: DynamoType(value) for name, value in attrs.items()})
    return item


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
    (getlist); moto.logs.models.LogStream.put_log_events (.events, LogEvent.event_id /
    .ingestion_time / .timestamp / .message, .stored_bytes, .upload_sequence_token,
    .last_ingestion_time, .log_group.name) and moto.cloudwatch.models.CloudWatchBackend.put_metric_data
    (.metric_data). Wrapped once per process; with no journal the wrappers only call through.
    """
    global _capture_journal
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.kinesis.models import KinesisBackend, Stream
    from moto.s3.models import S3Backend
    from moto.logs.models import LogStream
    from moto.cloudwatch.models import CloudWatchBackend

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
    _install_cloudwatch_lock()  # our capture wraps moto's locked put, so a roll-up stays outside it
    for cls, name, capture in ((LogStream, "put_log_events", _capture_log_events),
                               (CloudWatchBackend, "put_metric_data", _capture_metric_data)):
        current = getattr(cls, name)
        if not getattr(current, _CAPTURED, False):
            setattr(cls, name, capture(current))
    _capture_journal = journal


def _capture_log_events(original: Any) -> Any:
    """LogStream.put_log_events, logged: the events it appended and the stream's counters after."""
    @functools.wraps(original)
    def put_log_events(self: Any, log_events: list[dict[str, Any]]) -> str:
        journal = _capture_journal
        if journal is None:
            return original(self, log_events)
        with journal.lock:
            before = len(self.events)
            token = original(self, log_events)
            events = [(e.event_id, e.ingestion_time, e.timestamp, e.message) for e in self.events[before:]]
            if events:
                journal.log_change("logs", ("logs-events", self.account_id, self.region, self.log_group.name,
                                            self.log_stream_name, events, self.stored_bytes,
                                            self.upload_sequence_token, self.last_ingestion_time))
            return token

    setattr(put_log_events, _CAPTURED, True)
    return put_log_events


def _capture_metric_data(original: Any) -> Any:
    """CloudWatchBackend.put_metric_data, logged: the data points it appended."""
    @functools.wraps(original)
    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        journal = _capture_journal
        if journal is None:
            return original(self, namespace, metric_data)
        with journal.lock, _METRICS_LOCK:  # a roll-up replaces the list: not between count and slice
            before = len(self.metric_data)
            original(self, namespace, metric_data)
            points = self.metric_data[before:]
            if points:
                journal.log_change("cloudwatch", ("cw-metrics", self.account_id, self.region_name, points))
        return None

    setattr(put_metric_data, _CAPTURED, True)
    return put_metric_data


def uninstall_durability_capture() -> None:
    """Stop logging (the wrappers stay and call straight through)."""
    global _capture_journal
    _capture_journal = None


def apply_logged_change(payload: tuple[Any, ...]) -> bool:
    """Put one logged change back into moto (recovery); False when its table/stream/bucket is gone.

    Idempotent: items and objects are set to the logged state, stream/Kinesis records
    already present (by sequence number) are not added twice, and a trim drops only what is
    still before where it ended.
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
            if key_name in bucket.keys:  # moto's key store pops one key, with no default
                bucket.keys.pop(key_name)
        else:
            bucket.keys.setlist(key_name, versions)
        return True
    if kind == "logs-events":
        return _apply_log_events(*payload[1:])
    if kind == "cw-metrics":
        _, account, region, points = payload
        from moto.cloudwatch.models import cloudwatch_backends

        with _METRICS_LOCK:
            cloudwatch_backends[account][region].metric_data.extend(points)
        return True
    if kind == "ddb-trim":
        _, account, region, name, shard_id, starting_sequence_number = payload
        table = dynamodb_backends[account][region].tables.get(name)
        shard = table.stream_shard if table is not None else None
        if shard is None or shard.id != shard_id:
            return False
        with _STREAM_LOCK:
            expired = starting_sequence_number - shard.starting_sequence_number
            if expired > 0:  # replayed once more (or already in the snapshot): nothing left to drop
                shard.items = shard.items[expired:]
                shard.starting_sequence_number = starting_sequence_number
        return True
    if kind == "kinesis-trim":
        _, account, region, name, shard_id, up_to, last = payload
        stream = kinesis_backends[account][region].streams.get(name)
        shard = stream.shards.get(shard_id) if stream is not None else None
        if shard is None:
            return False
        _install_kinesis_numbering()  # an emptied shard must number on from `last`, not from 1
        with _STREAM_LOCK:
            records = shard.records
            if records and next(iter(records)) <= up_to:
                shard.records = _OrderedDict((seq, r) for seq, r in records.items() if seq > up_to)
            setattr(shard, _KINESIS_LAST_SEQ, max(last, getattr(shard, _KINESIS_LAST_SEQ, 0)))
        return True
    raise ValueError(f"unknown logged change {kind!r}")


def _apply_log_events(account: str, region: str, group: str, stream: str, events: list[tuple[Any, ...]],
                      stored_bytes: int, upload_sequence_token: int, last_ingestion_time: Any) -> bool:
    """Put logged CloudWatch Logs events back. A group or stream missing here was created in-process
    (our services' own log lines, `put_log_events(create=True)`), which is not logged on its own:
    one deleted over the API since is covered by the snapshot that deletion took, so it is not
    replayed at all. Touches: what `_capture_log_events` names, LogEvent (.__new__, class counter
    _event_id), LogsBackend.groups / ensure_log_group / ensure_log_stream."""
    from moto.logs.models import LogEvent, logs_backends

    backend = logs_backends[account][region]
    backend.ensure_log_group(group)
    backend.ensure_log_stream(group, stream)
    log_stream = backend.groups[group].streams[stream]
    # Replayed once per recovery (only records past the logs snapshot's cut), so appending is exact.
    for event_id, ingestion_time, timestamp, message in events:
        event = LogEvent.__new__(LogEvent)
        event.event_id, event.ingestion_time, event.timestamp, event.message = (
            event_id, ingestion_time, timestamp, message)
        log_stream.events.append(event)
    log_stream.stored_bytes = max(log_stream.stored_bytes, stored_bytes)
    log_stream.upload_sequence_token = max(log_stream.upload_sequence_token, upload_sequence_token)
    log_stream.last_ingestion_time = last_ingestion_time
    return True


def continue_log_event_numbering() -> None:
    """After recovery: moto numbers log events with a class counter that a new process starts at 0,
    so new events would repeat restored events' IDs (FilterLogEvents' eventId); start it past them.

    Touches: moto.logs.models.LogEvent._event_id, logs_backends' groups / streams / events.
    """
    from moto.logs.models import LogEvent, logs_backends

    highest = -1
    for regions in list(logs_backends.values()):
        for backend in list(regions.values()):
            for group in list(backend.groups.values()):
                for stream in list(group.streams.values()):
                    if stream.events:
                        highest = max(highest, max(e.event_id for e in stream.events))
    LogEvent._event_id = max(LogEvent._event_id, highest + 1)


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


def keep_s3_put_bodies() -> None:
    """A PUT's body is the object's bytes, whatever its Content-Type: never parse it as a form.

    moto takes an S3 request's body from werkzeug's `request.data`, which is empty once the body
    was parsed as a form (Content-Type application/x-www-form-urlencoded or multipart/form-data):
    a PutObject or UploadPart sent with such a type was answered 200 and stored no bytes. S3
    keeps the Content-Type only as the object's metadata. Browser uploads (POST) stay forms.
    Touches: moto.s3.responses.S3Response.setup_class, werkzeug Request's form/files cache.
    """
    from moto.s3.responses import S3Response
    from werkzeug.datastructures import ImmutableMultiDict

    original = S3Response.setup_class
    if getattr(original, _CAPTURED, False):
        return

    @functools.wraps(original)
    def setup_class(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method == "PUT" and "form" not in request.__dict__:
            # werkzeug's _load_form_data returns early when `form` is set: the stream stays the body.
            request.__dict__["form"] = ImmutableMultiDict()
            request.__dict__["files"] = ImmutableMultiDict()
        return original(self, request, *args, **kwargs)

    setattr(setup_class, _CAPTURED, True)
    S3Response.setup_class = setup_class  # type: ignore[method-assign]


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


_S3_KEY_LOCKS = tuple(_threading.Lock() for _ in range(64))


def make_s3_conditional_writes_atomic() -> None:
    """Make an S3 write's precondition check and the write one step per key (idempotent).

    moto checks PutObject's If-None-Match / If-Match (and DeleteObject's If-Match) and then writes,
    with nothing between the two: two concurrent `If-None-Match: *` puts of one key could both
    succeed. On AWS "the first write operation to finish succeeds" and the other gets 412
    PreconditionFailed (S3 User Guide, "How to prevent object overwrites with conditional writes");
    holding a per-key lock (64 stripes) around each such request gives exactly that. Every
    PutObject/DeleteObject takes it, so an unconditional write cannot slip between a check and its write.
    Touches: moto.s3.responses.S3Response.put_object / delete_object, .bucket_name, .parse_key_name().
    """
    from moto.s3.responses import S3Response

    for name in ("put_object", "delete_object"):
        original = getattr(S3Response, name)
        if getattr(original, _CAPTURED_S3_LOCK, False):
            continue

        def locked(self: Any, _original: Any = original) -> Any:
            stripe = hash((self.bucket_name, self.parse_key_name())) % len(_S3_KEY_LOCKS)
            with _S3_KEY_LOCKS[stripe]:
                return _original(self)

        functools.update_wrapper(locked, original)
        setattr(locked, _CAPTURED_S3_LOCK, True)
        setattr(S3Response, name, locked)


_CAPTURED_S3_LOCK = "_localcloud_key_locked"


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
