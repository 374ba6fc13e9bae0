"""The Invoke REST operation's route table and handler: parse the HTTP request, serialise with AWS's headers."""

from __future__ import annotations

from urllib.parse import unquote

from localcloud.lambda_exec.exceptions import InvalidParameterValueException
from localcloud.lambda_exec.models import LambdaExecutor
from localcloud.routing import AwsRequest, AwsResponse


class LambdaResponses:
    """Invoke; every other Lambda API call (CreateFunction, GetFunction, ...) stays with moto."""

    def __init__(self, executor: LambdaExecutor):
        self.executor = executor

    def invoke(self, request: AwsRequest) -> AwsResponse:
        invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
        log_type = request.headers.get("x-amz-log-type", "None")
        if log_type not in ("None", "Tail"):
            raise InvalidParameterValueException(f"Invalid LogType: {log_type}")
        qualifier = (request.query.get("Qualifier") or [None])[0]
        result = self.executor.invoke(
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


# The route table: "METHOD /path" (rest-json) -> LambdaResponses method.
ROUTES = {
    "POST /2015-03-31/functions/(?P<name>[^/]+)/invocations": "invoke",
}
