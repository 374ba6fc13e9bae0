"""Every touch of moto's internals (localcloud/moto_patches.py), checked against the installed moto.

When a moto upgrade moves or renames something the local cloud relies on, the
test for that touch fails here, naming it, instead of a runner misbehaving
somewhere downstream. Each test exercises the real function on moto's real
backends (no server needed) or checks the exact signature it wraps.
"""

from __future__ import annotations

import base64
import datetime as dt
import inspect
import json
import time
from typing import Any

import pytest

from localcloud import moto_patches

ACCOUNT = "000000000077"  # a scratch account of these tests, reset after each
REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def _clean_moto():
    moto_patches.reset_moto()
    yield
    moto_patches.reset_moto()


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


# -- the server and its state ---------------------------------------------------
def test_moto_wsgi_app_is_a_wsgi_callable() -> None:
    assert callable(moto_patches.moto_wsgi_app())


def test_motos_athena_app_routes_rest_paths_to_its_one_handler() -> None:
    app = moto_patches.moto_backend_app("athena")
    rules = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    assert app.view_functions[rules["/<path:rest_path>"]] is app.view_functions[rules["/"]]


def test_backend_and_all_backends_reach_the_same_state() -> None:
    kinesis = moto_patches.backend("kinesis", ACCOUNT, REGION)
    kinesis.create_stream("s", shard_count=1, stream_mode={"StreamMode": "PROVISIONED"})
    found = [(a, r) for a, r, b in moto_patches.all_backends("kinesis") if "s" in b.streams]
    assert found == [(ACCOUNT, REGION)]
    # What snapshots pickle and put back: the whole BackendDict, by account then region.
    backends = moto_patches.service_backends("kinesis")
    assert backends[ACCOUNT][REGION] is kinesis and ACCOUNT in dict(backends.items())
    assert moto_patches.moto_version().split(".")[0] == "5"


def test_reset_moto_empties_the_backends() -> None:
    moto_patches.backend("kinesis", ACCOUNT, REGION).create_stream(
        "gone", shard_count=1, stream_mode={"StreamMode": "PROVISIONED"})
    moto_patches.reset_moto()
    assert "gone" not in moto_patches.backend("kinesis", ACCOUNT, REGION).streams


def test_moto_error_fields() -> None:
    from moto.glue.exceptions import CrawlerAlreadyExistsException

    exc = CrawlerAlreadyExistsException()
    assert isinstance(exc, moto_patches.MotoServiceError)
    code, message, status = moto_patches.moto_error_fields(exc)
    assert (code, status) == ("AlreadyExistsException", 400) and message


# -- CloudWatch Logs ---------------------------------------------------------------
def test_put_log_events_creates_group_and_stream_then_appends() -> None:
    events = [{"timestamp": int(time.time() * 1000), "message": "one"}]
    moto_patches.put_log_events(ACCOUNT, REGION, "/g", "s", events)
    moto_patches.put_log_events(ACCOUNT, REGION, "/g", "s", [{**events[0], "message": "two"}])
    logs = moto_patches.backend("logs", ACCOUNT, REGION)
    got, _, _ = logs.groups["/g"].get_log_events("s", None, None, 100, None, True)
    assert [e["message"] for e in got] == ["one", "two"]


def test_put_log_events_without_create_drops_events_for_a_missing_group_or_stream() -> None:
    """Firehose's error lines after a teardown deleted its group must not bring the group back."""
    events = [{"timestamp": int(time.time() * 1000), "message": "late"}]
    logs = moto_patches.backend("logs", ACCOUNT, REGION)
    moto_patches.put_log_events(ACCOUNT, REGION, "/gone", "s", events, create=False)
    assert "/gone" not in logs.groups
    logs.create_log_group("/kept", {})
    moto_patches.put_log_events(ACCOUNT, REGION, "/kept", "s", events, create=False)
    assert "s" not in logs.groups["/kept"].streams
    logs.create_log_stream("/kept", "s")
    moto_patches.put_log_events(ACCOUNT, REGION, "/kept", "s", events, create=False)
    got, _, _ = logs.groups["/kept"].get_log_events("s", None, None, 100, None, True)
    assert [e["message"] for e in got] == ["late"]


# -- DynamoDB ------------------------------------------------------------------------
def _table_with_stream(name: str = "t"):
    ddb = moto_patches.backend("dynamodb", ACCOUNT, REGION)
    ddb.create_table(
        name,
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        throughput=None,
        attr=[{"AttributeName": "pk", "AttributeType": "S"}],
        global_indexes=None,
        indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    return ddb, moto_patches.dynamodb_table(ACCOUNT, REGION, name)


def _stamped_stream(name: str, keys: tuple[str, ...], clock: Any = time.time) -> tuple[Any, Any]:
    """A table whose stream records get `created_at` from `clock`, as localcloud/dynamodb/records.py
    stamps them, holding one record per key."""
    def stamp(shard: Any, stream_record: Any) -> None:
        stream_record.created_at = clock()

    saved = moto_patches._stream_hooks
    try:
        moto_patches.install_stream_shard(skip=lambda old, new: False, finish=stamp)
        ddb, table = _table_with_stream(name)
        for key in keys:
            ddb.put_item(name, {"pk": {"S": key}})
    finally:
        moto_patches._stream_hooks = saved
    return ddb, table


def test_the_last_stream_record_before_a_moment_is_found_by_its_creation_time() -> None:
    clock = iter([100.0, 200.0, 300.0])
    _, table = _stamped_stream("positions", ("a", "b", "c"), lambda: next(clock))
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/positions/stream/{table.latest_stream_label}"
    shard = table.stream_shard.id
    seqs = [r.record["dynamodb"]["SequenceNumber"] for r in table.stream_shard.items]
    last_before = moto_patches.dynamodb_stream_last_sequence_before
    assert last_before(ACCOUNT, REGION, arn, shard, 50.0) is None  # all came later: read from the start
    assert last_before(ACCOUNT, REGION, arn, shard, 200.0) == str(seqs[0])  # made at 200 is not before it
    assert last_before(ACCOUNT, REGION, arn, shard, 1e12) == str(seqs[2])
    assert last_before(ACCOUNT, REGION, arn, "shardId-other", 1e12) is None


def test_stream_shard_hooks_skip_and_finish(monkeypatch) -> None:
    skipped, finished = [], []

    def skip(old, new) -> bool:
        skipped.append((old.to_json()["Attributes"], new.to_json()["Attributes"]))
        return True

    def finish(shard, stream_record) -> None:
        assert shard.table.name == "t" and isinstance(stream_record.record, dict)
        finished.append(stream_record.record["eventName"])

    saved = moto_patches._stream_hooks
    try:
        moto_patches.install_stream_shard(skip=skip, finish=finish)
        ddb, table = _table_with_stream()
        assert isinstance(table.stream_shard, moto_patches.FaithfulStreamShard)
        ddb.put_item("t", {"pk": {"S": "a"}, "v": {"N": "1"}})  # an insert: written, then finished
        ddb.put_item("t", {"pk": {"S": "a"}, "v": {"N": "2"}})  # a modify: skip() says no record
    finally:
        moto_patches._stream_hooks = saved
    assert finished == ["INSERT"]
    assert skipped == [({"pk": {"S": "a"}, "v": {"N": "1"}}, {"pk": {"S": "a"}, "v": {"N": "2"}})]
    shard = table.stream_shard
    assert len(shard.items) == 1
    # What the Streams API reads on moto's table and shard.
    assert isinstance(shard.starting_sequence_number, int) and isinstance(shard.created_on, dt.datetime)
    assert shard.to_json()["ShardId"] == shard.id
    assert table.stream_specification["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table.schema and table.latest_stream_label


def test_trim_stream_labels_wraps_set_stream_specification_once() -> None:
    moto_patches.trim_stream_labels(lambda label: label[:23])
    moto_patches.trim_stream_labels(lambda label: label[:23])  # idempotent: never wraps our wrapper
    _, table = _table_with_stream()
    assert len(table.latest_stream_label) == 23
    assert _parameters(moto_patches._moto_dynamodb_table.Table.set_stream_specification) == ["self", "streams"]


def test_dynamodb_table_is_none_when_missing() -> None:
    assert moto_patches.dynamodb_table(ACCOUNT, REGION, "nope") is None


# -- Kinesis -------------------------------------------------------------------------
def test_kinesis_backend_methods_have_the_signatures_we_wrap() -> None:
    assert _parameters(moto_patches.kinesis_unwrapped("put_record")) == [
        "self", "stream_arn", "stream_name", "partition_key", "explicit_hash_key", "data"]
    assert _parameters(moto_patches.kinesis_unwrapped("put_records")) == [
        "self", "stream_arn", "stream_name", "records"]
    assert _parameters(moto_patches.kinesis_unwrapped("get_records")) == [
        "self", "stream_arn", "shard_iterator", "limit"]


def test_wrap_kinesis_backend_is_idempotent_and_unwraps_to_motos_method() -> None:
    from moto.kinesis.models import KinesisBackend

    original = KinesisBackend.describe_stream_summary
    calls = []

    def wrap(method):
        def wrapper(self, *args, **kwargs):
            calls.append(method)
            return method(self, *args, **kwargs)

        return wrapper

    try:
        moto_patches.wrap_kinesis_backend("describe_stream_summary", wrap)
        first = KinesisBackend.describe_stream_summary
        moto_patches.wrap_kinesis_backend("describe_stream_summary", wrap)
        assert KinesisBackend.describe_stream_summary is first is not original  # wrapped once
        assert moto_patches.kinesis_unwrapped("describe_stream_summary") is original
        kinesis = moto_patches.backend("kinesis", ACCOUNT, REGION)
        kinesis.create_stream("w", shard_count=1, stream_mode={"StreamMode": "PROVISIONED"})
        kinesis.describe_stream_summary(stream_arn=None, stream_name="w")
        assert calls == [original]
    finally:
        KinesisBackend.describe_stream_summary = original


def test_kinesis_positions_lag_and_iterator_stream_name() -> None:
    kinesis = moto_patches.backend("kinesis", ACCOUNT, REGION)
    kinesis.create_stream("src", shard_count=1, stream_mode={"StreamMode": "PROVISIONED"})
    put = moto_patches.kinesis_unwrapped("put_record")
    put(kinesis, None, "src", "k", None, "YQ==")
    between = time.time()
    time.sleep(0.01)
    put(kinesis, None, "src", "k", None, "Yg==")
    stream = kinesis.describe_stream(stream_arn=None, stream_name="src")
    (shard_id,) = stream.shards
    first, second = sorted(stream.shards[shard_id].records)
    arn = stream.arn
    assert moto_patches.kinesis_last_sequence_before(ACCOUNT, REGION, arn, shard_id, between) == str(first)
    assert moto_patches.kinesis_last_sequence_before(ACCOUNT, REGION, arn, shard_id, 0) is None
    assert moto_patches.kinesis_records_after(ACCOUNT, REGION, arn, {}, between) == 1
    assert moto_patches.kinesis_records_after(ACCOUNT, REGION, arn, {shard_id: str(first)}, 0) == 1
    iterator = kinesis.get_shard_iterator(None, "src", shard_id, "TRIM_HORIZON", None, None)
    assert moto_patches.stream_name_of_iterator(iterator) == "src"


def test_kinesis_metrics_probe_leaves_the_scratch_account_empty() -> None:
    names = moto_patches.kinesis_metrics_moto_publishes("000000000078", REGION)
    assert isinstance(names, frozenset)
    assert not moto_patches.backend("kinesis", "000000000078", REGION).streams


# -- S3 ------------------------------------------------------------------------------
def test_filter_bucket_policies_sees_the_policy_and_can_neutralise_it() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    s3 = moto_patches.backend("s3", ACCOUNT, "aws")
    s3.create_bucket("policy-bucket", REGION)
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::policy-bucket/*"}]}
    s3.put_bucket_policy("policy-bucket", json.dumps(deny).encode())
    bucket = s3.get_bucket("policy-bucket")
    seen = []
    original = FakeBucket.get_permission
    try:
        moto_patches.filter_bucket_policies(lambda policy: seen.append(policy) or {**policy, "Statement": []})
        assert bucket.get_permission("s3:GetObject", "arn:aws:s3:::policy-bucket/k") == PermissionResult.NEUTRAL
        moto_patches.filter_bucket_policies(lambda policy: None)  # None: moto's own evaluation
        assert bucket.get_permission("s3:GetObject", "arn:aws:s3:::policy-bucket/k") == PermissionResult.DENIED
    finally:
        FakeBucket.get_permission = original
    assert seen == [deny]
    assert _parameters(FakeBucket.get_permission) == ["self", "action", "resource"]


# -- EventBridge Pipes -----------------------------------------------------------------
def test_pipe_version_lives_on_moto_pipe() -> None:
    pipes = moto_patches.backend("pipes", ACCOUNT, REGION)
    pipe = pipes.create_pipe(
        name="p", description=None, desired_state="RUNNING", source="arn:aws:sqs:eu-west-1:0:q",
        source_parameters={}, enrichment=None, enrichment_parameters=None, target="arn:aws:sqs:eu-west-1:0:r",
        target_parameters={}, role_arn="arn:aws:iam::0:role/r", tags=None, log_configuration=None,
        kms_key_identifier=None)
    assert moto_patches.pipe_version(pipe) == 1
    moto_patches.set_pipe_version(pipe, 3)
    assert moto_patches.pipe_version(pipes.pipes["p"]) == 3
    for attribute in ("name", "arn", "creation_time", "last_modified_time", "desired_state", "status",
                      "state_reason", "source", "source_parameters", "target", "target_parameters", "enrichment",
                      "enrichment_parameters", "role_arn", "description", "tags", "log_configuration",
                      "kms_key_identifier"):
        assert hasattr(pipe, attribute), attribute


def test_event_pattern_matches_and_rejects() -> None:
    pattern = moto_patches.event_pattern(json.dumps({"eventName": ["INSERT"]}))
    assert pattern.matches_event({"eventName": "INSERT"})
    assert not pattern.matches_event({"eventName": "REMOVE"})
    with pytest.raises(ValueError):
        moto_patches.event_pattern(json.dumps({"eventName": "INSERT"}))  # a value must be a list


# -- Lambda ----------------------------------------------------------------------------
def test_lambda_function_missing_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        moto_patches.lambda_function(ACCOUNT, REGION, "nope", None)
    from moto.awslambda.models import LambdaBackend

    assert _parameters(LambdaBackend.get_function) == ["self", "function_name_or_arn", "qualifier"]


# -- Glue ------------------------------------------------------------------------------
def test_glue_table_input_is_the_current_version() -> None:
    glue = moto_patches.glue_backend(ACCOUNT, REGION)
    glue.create_database("db", {"Name": "db"}, None)
    glue.create_table("db", "t", {"Name": "t", "Parameters": {"v": "1"}})
    glue.update_table("db", "t", {"Name": "t", "Parameters": {"v": "2"}})
    table = glue.databases["db"].tables["t"]
    assert moto_patches.glue_table_input(table)["Parameters"] == {"v": "2"}
    for method in ("create_partition", "update_partition", "delete_partition"):
        assert callable(getattr(table, method)), method
    partition = {"Values": ["1"], "StorageDescriptor": {"Location": "s3://lake/t/p=1/"}, "Parameters": {}}
    table.create_partition(partition)
    (key,) = table.partitions
    assert key == str(["1"]) and table.partitions[key].partition_input == partition


def test_glue_crawler_attributes_the_crawler_and_its_api_read() -> None:
    glue = moto_patches.glue_backend(ACCOUNT, REGION)
    glue.create_crawler(
        name="c", role="arn:aws:iam::0:role/r", database_name="db", description=None,
        targets={"S3Targets": [{"Path": "s3://lake/orders/"}]}, schedule=None, classifiers=["j"],
        table_prefix="raw_", schema_change_policy={"UpdateBehavior": "LOG"}, recrawl_policy=None,
        lineage_configuration=None, configuration='{"Version": 1.0}', crawler_security_configuration=None,
        tags=None)
    crawler = glue.get_crawler("c")
    assert (crawler.name, crawler.role, crawler.database_name, crawler.table_prefix) == (
        "c", "arn:aws:iam::0:role/r", "db", "raw_")
    assert crawler.targets == {"S3Targets": [{"Path": "s3://lake/orders/"}]}
    assert crawler.classifiers == ["j"] and crawler.schema_change_policy == {"UpdateBehavior": "LOG"}
    assert crawler.configuration == '{"Version": 1.0}' and crawler.recrawl_policy is None
    assert isinstance(crawler.version, int) and hasattr(crawler, "last_updated") and hasattr(crawler, "schedule")
    assert crawler.as_dict()["Name"] == "c"
    assert glue.crawlers["c"] is crawler
    from localcloud.glue.responses import UPDATABLE_CRAWLER_MEMBERS  # what UpdateCrawler sets on it

    for attribute in UPDATABLE_CRAWLER_MEMBERS.values():
        assert hasattr(crawler, attribute), attribute


# -- Firehose ----------------------------------------------------------------------------
def test_firehose_delivery_stream_attributes_read_by_the_runner() -> None:
    from localcloud.firehose.delivery import read_config

    firehose = moto_patches.backend("firehose", ACCOUNT, REGION)
    source = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/src"
    firehose.create_delivery_stream(
        REGION, "ds", "KinesisStreamAsSource",
        {"KinesisStreamARN": source, "RoleARN": "arn:aws:iam::0:role/r"}, None, None,
        {"BucketARN": "arn:aws:s3:::lake", "RoleARN": "arn:aws:iam::0:role/r", "Prefix": "orders/",
         "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
         "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
             {"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:eu-west-1:0:function:f"}]}]}},
        None, None, None, None, None, None, None)
    ((account, region, backend),) = [b for b in moto_patches.all_backends("firehose") if b[0] == ACCOUNT]
    config = read_config(backend.delivery_streams["ds"], account, region)
    assert config is not None
    assert (config.name, config.source_arn, config.bucket, config.prefix) == ("ds", source, "lake", "orders/")
    assert config.lambda_arn == "arn:aws:lambda:eu-west-1:0:function:f"
    assert config.dest_size_bytes == 1024 * 1024 and config.dest_interval_s == 60
    assert config.created_at > 0 and config.version == "1"


def test_lambda_function_attributes_the_executor_reads() -> None:
    import io
    import zipfile

    iam = moto_patches.backend("iam", ACCOUNT, "global")
    role = iam.create_role("r", json.dumps({"Version": "2012-10-17", "Statement": []}), "/", None, "", [], None)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
    moto_patches.backend("lambda", ACCOUNT, REGION).create_function({
        "FunctionName": "f", "Runtime": "python3.11", "Role": role.arn, "Handler": "handler.handler",
        "Code": {"ZipFile": base64.b64encode(code.getvalue()).decode()}, "Timeout": 3, "MemorySize": 256,
        "Environment": {"Variables": {"K": "v"}}})
    fn = moto_patches.lambda_function(ACCOUNT, REGION, "f", None)
    assert fn.function_name == "f" and fn.function_arn.endswith(":function:f") and fn.account_id == ACCOUNT
    assert zipfile.ZipFile(io.BytesIO(fn.code_bytes)).namelist() == ["handler.py"]
    assert (fn.handler, fn.run_time, int(fn.timeout), int(fn.memory_size)) == ("handler.handler", "python3.11", 3, 256)
    assert fn.environment_vars == {"K": "v"} and str(fn.version) == "$LATEST"


# -- durability capture of CloudWatch, Logs and retention trims -------------------------
class _RecordingJournal:
    """What the capture hooks need of the durability manager (localcloud/durability): a lock, and
    somewhere to append each change; the changes are then replayed into emptied backends."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.RLock()
        self.changes: list[tuple[str, tuple]] = []

    def log_change(self, service: str, change: tuple) -> int:
        self.changes.append((service, change))
        return len(self.changes)


@pytest.fixture
def journal():
    previous = moto_patches._capture_journal  # an in-process durable cloud of another test module
    recording = _RecordingJournal()
    moto_patches.install_durability_capture(recording)
    yield recording
    moto_patches.uninstall_durability_capture()
    if previous is not None:
        moto_patches.install_durability_capture(previous)


def test_log_events_and_metric_points_are_logged_and_replay_into_empty_backends(journal) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    moto_patches.put_log_events(ACCOUNT, REGION, "/g", "s", [{"timestamp": int(now.timestamp() * 1000),
                                                              "message": "logged"}])
    cloudwatch = moto_patches.backend("cloudwatch", ACCOUNT, REGION)
    cloudwatch.put_metric_data("Test/Capture", [{"MetricName": "M", "Value": 2.5, "Timestamp": now,
                                                 "Dimensions": [{"Name": "D", "Value": "x"}]}])
    kinds = [change[0] for _, change in journal.changes]
    assert kinds == ["logs-events", "cw-metrics"]
    moto_patches.reset_moto()
    assert all(moto_patches.apply_logged_change(change) for _, change in journal.changes)
    logs = moto_patches.backend("logs", ACCOUNT, REGION)
    got, _, _ = logs.groups["/g"].get_log_events("s", None, None, 100, None, True)
    assert [e["message"] for e in got] == ["logged"]
    points = moto_patches.backend("cloudwatch", ACCOUNT, REGION).metric_data
    assert [(p.namespace, p.name, p.value, [(d.name, d.value) for d in p.dimensions]) for p in points] == [
        ("Test/Capture", "M", 2.5, [("D", "x")])]


def test_log_event_ids_go_on_past_restored_ones() -> None:
    from moto.logs.models import LogEvent

    moto_patches.put_log_events(ACCOUNT, REGION, "/g", "s", [{"timestamp": int(time.time() * 1000), "message": "a"}])
    restored = moto_patches.backend("logs", ACCOUNT, REGION).groups["/g"].streams["s"].events[-1].event_id
    LogEvent._event_id = 0  # what a new process starts with
    moto_patches.continue_log_event_numbering()
    assert LogEvent._event_id > restored


def test_trims_are_logged_and_replay_idempotently(journal) -> None:
    ddb, table = _stamped_stream("trimmed", ("a", "b", "c"))
    now = time.time() + 10
    assert moto_patches.trim_dynamodb_streams(5, now) == 3
    trims = [change for _, change in journal.changes if change[0] == "ddb-trim"]
    assert len(trims) == 1
    start = table.stream_shard.starting_sequence_number
    moto_patches.reset_moto()
    ddb, table = _table_with_stream("trimmed")
    for _, change in journal.changes:
        if change[0] != "ddb-trim":
            assert moto_patches.apply_logged_change(change)
    assert len(table.stream_shard.items) == 3
    assert moto_patches.apply_logged_change(trims[0]) and moto_patches.apply_logged_change(trims[0])
    assert (table.stream_shard.items, table.stream_shard.starting_sequence_number) == ([], start)


def test_s3_conditional_writes_lock_wraps_the_response_methods_we_name() -> None:
    from moto.s3.responses import S3Response

    moto_patches.make_s3_conditional_writes_atomic()
    moto_patches.make_s3_conditional_writes_atomic()  # idempotent: wrapped once
    for name in ("put_object", "delete_object"):
        method = getattr(S3Response, name)
        assert getattr(method, "_localcloud_key_locked", False)
        assert not getattr(method.__wrapped__, "_localcloud_key_locked", False)
        assert _parameters(method.__wrapped__) == ["self"]
    assert callable(S3Response.parse_key_name)


def test_keep_s3_put_bodies_wraps_setup_class_once_and_leaves_a_put_body_unparsed() -> None:
    from moto.s3.responses import S3Response
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    moto_patches.keep_s3_put_bodies()
    wrapped = S3Response.setup_class
    moto_patches.keep_s3_put_bodies()  # idempotent: wrapped once
    assert S3Response.setup_class is wrapped
    assert _parameters(wrapped.__wrapped__)[:2] == ["self", "request"]  # moto's, called as we call it
    # What the patch relies on: werkzeug leaves the stream unread once `form` is in the instance dict.
    request = Request(EnvironBuilder(method="PUT", data=b"a=1&b=2",
                                     content_type="application/x-www-form-urlencoded").get_environ())
    request.__dict__["form"] = {}
    assert request.data == b"a=1&b=2"


# -- snapshots (localcloud/durability) --------------------------------------------------
def test_a_snapshot_names_an_s3_body_file_and_a_pinned_file_outlives_its_key(tmp_path) -> None:
    import gc
    import pickle

    from moto.s3.models import s3_backends

    from localcloud import moto_state

    bodies = tmp_path / "bodies"
    moto_patches.keep_s3_bodies_on_disk(bodies)
    backend = s3_backends[ACCOUNT]["aws"]
    backend.create_bucket("snapshot-bodies", REGION)
    backend.put_object("snapshot-bodies", "key", b"the body bytes")
    names: set[str] = set()
    blob = moto_state.dump_service("s3", names)
    assert len(names) == 1 and b"the body bytes" not in blob, "the snapshot names the file, not the bytes"
    [name] = names
    moto_patches.pin_s3_body_files(names)  # as if that snapshot were installed
    backend.delete_object("snapshot-bodies", "key")
    gc.collect()
    assert (bodies / name).exists(), "a file the installed snapshot names outlives its key"

    restored = pickle.loads(blob)[ACCOUNT]["aws"]
    assert restored.buckets["snapshot-bodies"].keys["key"].value == b"the body bytes"
    assert moto_patches.s3_body_files_adopted() == names
    del restored
    gc.collect()
    moto_patches.hold_s3_body_files()
    assert moto_patches.release_s3_body_files(set()) == 1  # a newer snapshot no longer names it
    assert not (bodies / name).exists()


def test_a_snapshot_loads_a_dynamodb_item_without_its_size_check() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    attrs = LimitedSizeDict()
    attrs["orderid"] = DynamoType({"S": "o-1"})
    rebuild, args = moto_patches.snapshot_reduction(attrs, set())
    loaded = rebuild(*args)
    assert type(loaded) is LimitedSizeDict and loaded == attrs
    assert moto_patches.snapshot_reduction({"a": 1}, set()) is NotImplemented


def test_a_snapshot_pickles_a_disposed_s3_key_as_empty_and_names_no_file(tmp_path) -> None:
    """moto keeps some disposed keys in its state; their file is gone, so the snapshot cannot name it."""
    from moto.s3.models import s3_backends

    from localcloud import moto_state

    moto_patches.keep_s3_bodies_on_disk(tmp_path / "bodies")
    backend = s3_backends[ACCOUNT]["aws"]
    backend.create_bucket("snapshot-disposed", REGION)
    backend.put_object("snapshot-disposed", "key", b"gone soon")
    backend.buckets["snapshot-disposed"].keys["key"].dispose()
    names: set[str] = set()
    moto_state.dump_service("s3", names)
    assert names == set()


class _Model:
    """Stands in for a moto model instance (anything a weak reference can point at)."""


def test_weakly_tracked_instances_drop_the_dead_and_sweep_in_proportion_to_the_living() -> None:
    """moto's instance tracking, made weak: dead references are dropped, the living kept in order,
    and a sweep (which costs the list's length) comes only once the list has doubled, so an append
    costs O(1) however many records the store holds. A sweep every 1,024 appends made each
    PutRecords slower as a stream filled."""
    living = [_Model() for _ in range(50_000)]
    tracked = moto_patches._WeakInstances(living)
    sweeps_after_fill = tracked.sweeps
    for _ in range(50_000):
        tracked.append(_Model())  # gone at once, like a trimmed record or an overwritten object
    assert list(tracked) == living
    assert len(tracked) == len(living)
    assert tracked.sweeps - sweeps_after_fill <= 2, "50,000 appends swept 50,000 living references each time"
    assert len(tracked._refs) - len(living) <= max(1024, len(living)), "dead references are bounded"
