"""Parse Glue JSON-protocol requests for our actions and serialise AWS's response shapes.

Timestamps go out as epoch seconds, which is how the awsJson1_1 protocol
carries them (boto3 turns them back into datetimes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from localcloud.glue.exceptions import InvalidInputException
from localcloud.glue.models import GlueExtrasBackend, glue_extras_backends
from localcloud.routing import AwsRequest, AwsResponse


def to_wire(value: Any) -> Any:
    """Recursively turn datetimes into epoch seconds and drop None members, as AWS omits them."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value


def ok(payload: dict[str, Any] | None = None) -> AwsResponse:
    return AwsResponse.json(to_wire(payload or {}))


def params(request: AwsRequest) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise InvalidInputException("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInputException("The request body must be a JSON object")
    return body


def extras(request: AwsRequest) -> GlueExtrasBackend:
    return glue_extras_backends[request.account_id][request.region]


def required(body: dict[str, Any], member: str) -> Any:
    value = body.get(member)
    if value in (None, ""):
        raise InvalidInputException(f"1 validation error detected: Value null at '{member}' failed to satisfy "
                                    "constraint: Member must not be null")
    return value


# -- classifiers -------------------------------------------------------
def create_classifier(request: AwsRequest) -> AwsResponse:
    extras(request).create_classifier(params(request))
    return ok()


def get_classifier(request: AwsRequest) -> AwsResponse:
    classifier = extras(request).get_classifier(required(params(request), "Name"))
    return ok({"Classifier": classifier.to_api()})


def get_classifiers(request: AwsRequest) -> AwsResponse:
    body = params(request)
    max_results = body.get("MaxResults") or 1000
    if not isinstance(max_results, int) or not 1 <= max_results <= 1000:
        raise InvalidInputException("MaxResults must be between 1 and 1000")
    token = body.get("NextToken")
    everything = extras(request).get_classifiers()
    start = 0
    if token:
        try:
            start = int(token)
        except ValueError:
            raise InvalidInputException("Invalid NextToken") from None
    page = everything[start:start + max_results]
    out: dict[str, Any] = {"Classifiers": [c.to_api() for c in page]}
    if start + max_results < len(everything):
        out["NextToken"] = str(start + max_results)
    return ok(out)


def update_classifier(request: AwsRequest) -> AwsResponse:
    extras(request).update_classifier(params(request))
    return ok()


def delete_classifier(request: AwsRequest) -> AwsResponse:
    extras(request).delete_classifier(required(params(request), "Name"))
    return ok()


CLASSIFIER_ACTIONS = {
    "CreateClassifier": create_classifier,
    "GetClassifier": get_classifier,
    "GetClassifiers": get_classifiers,
    "UpdateClassifier": update_classifier,
    "DeleteClassifier": delete_classifier,
}
