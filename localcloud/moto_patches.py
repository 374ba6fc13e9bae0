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
