"""Lambda Invoke over HTTP against a real local cloud: results, AWS's error shapes, warm workers."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from localcloud.server import LocalCloud
from tests.support.aws import REGION, client
from tests.support.waiting import eventually

OK_SOURCE = """
import os, sys, time
print("cold start")

def handler(event, context):
    print("got", event)
    if event.get("raise"):
        raise ValueError("boom: " + event["raise"])
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "echo": event,
        "pid": os.getpid(),
        "greeting": os.environ.get("GREETING"),
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "can_import_project": _can_import("localcloud") or _can_import("salescdc"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "region": os.environ.get("AWS_REGION"),
    }

def _can_import(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False
"""


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


@pytest.fixture(scope="module")
def lam(cloud: LocalCloud):  # noqa: ANN201
    return client(cloud, "lambda")


@pytest.fixture(scope="module")
def role_arn(cloud: LocalCloud) -> str:
    iam = client(cloud, "iam")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    return iam.create_role(RoleName="lambda-test-role", AssumeRolePolicyDocument=doc)["Role"]["Arn"]


def create(lam, role_arn: str, name: str, files: dict[str, str], timeout: int = 3, env: dict | None = None) -> None:  # noqa: ANN001
    lam.create_function(
        FunctionName=name, Runtime="python3.11", Role=role_arn, Handler="handler.handler",
        Code={"ZipFile": make_zip(files)}, Timeout=timeout, MemorySize=256,
        Environment={"Variables": env or {}},
    )


def invoke(lam, name: str, event: dict, **kwargs):  # noqa: ANN001, ANN201
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
    return resp, json.loads(resp["Payload"].read() or b"null")


def test_invoke_returns_the_handlers_result_with_context_and_environment(lam, role_arn, cloud) -> None:  # noqa: ANN001
    create(lam, role_arn, "ok-fn", {"handler.py": OK_SOURCE}, env={"GREETING": "namaste"})
    resp, body = invoke(lam, "ok-fn", {"n": 1, "s": "x"}, LogType="Tail")
    assert resp["StatusCode"] == 200
    assert "FunctionError" not in resp
    assert resp["ExecutedVersion"] == "$LATEST"
    assert body["echo"] == {"n": 1, "s": "x"}
    assert body["greeting"] == "namaste"
    assert body["function_name"] == "ok-fn"
    assert body["memory"] == "256"
    assert body["arn"].endswith(":function:ok-fn")
    assert 0 < body["remaining_ms"] <= 3000
    assert body["can_import_project"] is False
    assert body["endpoint"] == cloud.url
    assert body["region"] == REGION
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == body["request_id"]
    tail = base64.b64decode(resp["LogResult"]).decode()
    assert f"START RequestId: {body['request_id']}" in tail
    assert "got {'n': 1, 's': 'x'}" in tail
    assert f"REPORT RequestId: {body['request_id']}" in tail


def test_worker_stays_warm_and_is_replaced_when_code_or_config_changes(lam, role_arn, cloud) -> None:  # noqa: ANN001
    create(lam, role_arn, "warm-fn", {"handler.py": OK_SOURCE})
    _, first = invoke(lam, "warm-fn", {})
    _, second = invoke(lam, "warm-fn", {})
    assert first["pid"] == second["pid"]

    lam.update_function_code(FunctionName="warm-fn", ZipFile=make_zip({"handler.py": OK_SOURCE + "\n# v2\n"}))
    _, after_code = invoke(lam, "warm-fn", {})
    assert after_code["pid"] != second["pid"]

    lam.update_function_configuration(FunctionName="warm-fn", Environment={"Variables": {"GREETING": "hello"}})
    _, after_config = invoke(lam, "warm-fn", {})
    assert after_config["pid"] != after_code["pid"]
    assert after_config["greeting"] == "hello"
    # the retired workers are gone, only the current one is alive
    assert cloud.lambda_executor.worker_pids("warm-fn", region=REGION) == [after_config["pid"]]


def test_an_exception_gives_awss_unhandled_error_shape(lam, role_arn) -> None:  # noqa: ANN001
    create(lam, role_arn, "raise-fn", {"handler.py": OK_SOURCE})
    resp, body = invoke(lam, "raise-fn", {"raise": "bad order"})
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom: bad order"
    assert any('handler.py' in line and "in handler" in line for line in body["stackTrace"])
    # an exception does not cost the warm environment
    _, ok = invoke(lam, "raise-fn", {})
    assert ok["echo"] == {}


def test_a_timeout_is_reported_like_aws_and_the_next_call_works(lam, role_arn) -> None:  # noqa: ANN001
    create(lam, role_arn, "slow-fn", {"handler.py": OK_SOURCE}, timeout=1)
    _, before = invoke(lam, "slow-fn", {})
    resp, body = invoke(lam, "slow-fn", {"sleep": 30}, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    tail = base64.b64decode(resp["LogResult"]).decode()
    assert "got {'sleep': 30}" in tail  # what the function printed before it was killed is kept
    assert "Task timed out after 1.00 seconds" in tail
    resp, after = invoke(lam, "slow-fn", {"n": 2})
    assert "FunctionError" not in resp
    assert after["echo"] == {"n": 2}
    assert after["pid"] != before["pid"]  # the timed-out environment was killed


def test_an_import_error_is_runtime_import_module_error(lam, role_arn) -> None:  # noqa: ANN001
    create(lam, role_arn, "import-fn", {"handler.py": "import module_that_is_not_there\n"})
    resp, body = invoke(lam, "import-fn", {})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'handler': No module named 'module_that_is_not_there'"
    assert body["stackTrace"] == []


def test_a_missing_handler_function_is_runtime_handler_not_found(lam, role_arn) -> None:  # noqa: ANN001
    create(lam, role_arn, "nohandler-fn", {"handler.py": "def other(e, c):\n    return 1\n"})
    resp, body = invoke(lam, "nohandler-fn", {})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.HandlerNotFound"


def test_unknown_function_is_resource_not_found(lam) -> None:  # noqa: ANN001
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as err:
        lam.invoke(FunctionName="nope", Payload=b"{}")
    assert "Function not found: arn:aws:lambda:ap-south-1:123456789012:function:nope" in str(err.value)


def test_invalid_json_payload_is_rejected(lam, role_arn) -> None:  # noqa: ANN001
    create(lam, role_arn, "json-fn", {"handler.py": OK_SOURCE})
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName="json-fn", Payload=b"{not json")


def test_event_and_dry_run_invocation_types(lam, role_arn, cloud) -> None:  # noqa: ANN001
    create(lam, role_arn, "async-fn", {"handler.py": OK_SOURCE})
    assert lam.invoke(FunctionName="async-fn", InvocationType="DryRun")["StatusCode"] == 204
    resp = lam.invoke(FunctionName="async-fn", InvocationType="Event", Payload=b'{"e": 1}')
    assert resp["StatusCode"] == 202
    assert resp["Payload"].read() == b""


def test_function_logs_reach_cloudwatch_logs(lam, role_arn, cloud) -> None:  # noqa: ANN001
    create(lam, role_arn, "logs-fn", {"handler.py": OK_SOURCE})
    _, body = invoke(lam, "logs-fn", {"k": "v"})
    logs = client(cloud, "logs")
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/logs-fn")["logStreams"]
    assert len(streams) == 1 and "[$LATEST]" in streams[0]["logStreamName"]
    events = logs.get_log_events(logGroupName="/aws/lambda/logs-fn", logStreamName=streams[0]["logStreamName"])
    messages = [e["message"] for e in events["events"]]
    assert f"START RequestId: {body['request_id']} Version: $LATEST" in messages
    assert "got {'k': 'v'}" in messages


def test_stopping_the_lambda_runner_kills_its_workers(lam, role_arn, cloud) -> None:  # noqa: ANN001
    import os

    create(lam, role_arn, "stop-fn", {"handler.py": OK_SOURCE})
    _, body = invoke(lam, "stop-fn", {})
    runner = next(r for r in cloud.runners if r.name == "lambda")
    runner.stop()  # what LocalCloud.stop() does
    with pytest.raises(ProcessLookupError):
        os.kill(body["pid"], 0)
    runner.start()
    _, again = invoke(lam, "stop-fn", {})
    assert again["pid"] != body["pid"]


def test_invocations_errors_and_duration_reach_cloudwatch(lam, role_arn, cloud) -> None:  # noqa: ANN001
    import datetime as dt

    create(lam, role_arn, "metrics-fn", {"handler.py": OK_SOURCE})
    invoke(lam, "metrics-fn", {})
    invoke(lam, "metrics-fn", {"raise": "x"})
    cw = client(cloud, "cloudwatch")
    dims = [{"Name": "FunctionName", "Value": "metrics-fn"}]

    def names() -> set[str]:
        return {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/Lambda", Dimensions=dims)["Metrics"]}

    eventually(lambda: names() == {"Invocations", "Errors", "Duration"}, "Lambda metrics", timeout=30, interval=0.3)
    assert names() == {"Invocations", "Errors", "Duration"}
    end = dt.datetime.now(dt.timezone.utc)
    stats = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Errors", Dimensions=dims,
                                     StartTime=end - dt.timedelta(minutes=5), EndTime=end + dt.timedelta(minutes=1),
                                     Period=60, Statistics=["Sum"])
    assert sum(p["Sum"] for p in stats["Datapoints"]) == 1


CRASH_SOURCE = """
import os, signal, sys

def handler(event, context):
    print("about to die")
    if event["how"] == "exit":
        os._exit(3)
    if event["how"] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if event["how"] == "sys.exit":
        sys.exit(0)
    return {"pid": os.getpid()}
"""


@pytest.mark.parametrize(("how", "reason"), [
    ("exit", "Runtime exited with error: exit status 3"),
    ("kill", "Runtime exited with error: signal: killed"),
    ("sys.exit", "Runtime exited without providing a reason"),
])
def test_a_worker_dying_mid_invocation_is_an_unhandled_runtime_exit_error(
        lam, role_arn, how: str, reason: str) -> None:  # noqa: ANN001
    name = f"crash-{how.replace('.', '-')}"
    create(lam, role_arn, name, {"handler.py": CRASH_SOURCE})
    resp, body = invoke(lam, name, {"how": how}, LogType="Tail")
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    request_id = resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert body["errorMessage"] == f"RequestId: {request_id} Error: {reason}"
    assert "about to die" in base64.b64decode(resp["LogResult"]).decode()
    _, alive = invoke(lam, name, {"how": "live"})  # a fresh environment serves the next call
    assert isinstance(alive["pid"], int)
