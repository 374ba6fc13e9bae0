"""The Invoke REST operation: parse the HTTP request, serialise the result with AWS's headers."""

from __future__ import annotations

from urllib.parse import unquote

from localcloud.lambda_exec.exceptions import invalid_parameter
from localcloud.lambda_exec.models import LambdaExecutor
from localcloud.routing import AwsRequest, AwsResponse

INVOKE_PATH = r"/2015-03-31/functions/(?P<name>[^/]+)/invocations"


def invoke_handler(executor: LambdaExecutor):  # noqa: ANN201 - returns a router handler
    def handle(request: AwsRequest) -> AwsResponse:
        invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
        log_type = request.headers.get("x-amz-log-type", "None")
        if log_type not in ("None", "Tail"):
            raise invalid_parameter(f"Invalid LogType: {log_type}")
        qualifier = (request.query.get("Qualifier") or [None])[0]
        result = executor.invoke(
            unquote(request.path_params["name"]),
            request.body,
            region=request.region,
            account_id=request.account_id,
            qualifier=qualifier,
            invocation_type=invocation_type,
            client_context=request.headers.get("x-amz-client-context"),
        )
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": result.request_id,
            "X-Amz-Executed-Version": result.executed_version,
        }
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if log_type == "Tail" and invocation_type == "RequestResponse":
            headers["X-Amz-Log-Result"] = result.log_tail_b64
        return AwsResponse(result.status, result.payload, headers)

    return handle
