"""DynamoDB Streams route table and handlers (X-Amz-Target DynamoDBStreams_20120810.*, signed as "dynamodb")."""

from __future__ import annotations

from typing import Any

from localcloud.dynamodb.exceptions import ValidationException
from localcloud.dynamodb.models import DynamoDBStreamsBackend, dynamodbstreams_backends
from localcloud.routing import AwsRequest, AwsResponse, required

_CONTENT_TYPE = "application/x-amz-json-1.0"


def _params(request: AwsRequest) -> dict[str, Any]:
    return request.json_object(ValidationException)


def _required(params: dict[str, Any], name: str) -> Any:
    # DynamoDB names the member in lowerCamelCase in its validation messages.
    return required(params, name, ValidationException, wire_name=name[0].lower() + name[1:])


def _backend(request: AwsRequest) -> DynamoDBStreamsBackend:
    return dynamodbstreams_backends[request.account_id][request.region]


class DynamoDBStreamsResponses:
    """The Streams read API; ListStreams and every table/item call stay with moto."""

    def describe_stream(self, request: AwsRequest) -> AwsResponse:
        params = _params(request)
        description = _backend(request).describe_stream(_required(params, "StreamArn"))
        return AwsResponse.json({"StreamDescription": description}, content_type=_CONTENT_TYPE)

    def get_shard_iterator(self, request: AwsRequest) -> AwsResponse:
        params = _params(request)
        iterator = _backend(request).get_shard_iterator(
            _required(params, "StreamArn"),
            _required(params, "ShardId"),
            _required(params, "ShardIteratorType"),
            params.get("SequenceNumber"),
        )
        return AwsResponse.json({"ShardIterator": iterator}, content_type=_CONTENT_TYPE)

    def get_records(self, request: AwsRequest) -> AwsResponse:
        params = _params(request)
        limit = params.get("Limit")
        if limit is not None and not isinstance(limit, int):
            raise ValidationException("Limit must be an integer between 1 and 1000.")
        result = _backend(request).get_records(_required(params, "ShardIterator"), limit)
        return AwsResponse.json(result, content_type=_CONTENT_TYPE)


# The route table. Streams requests are signed for "dynamodb"; these actions do not exist in the
# DynamoDB API itself, so they never shadow one of moto's.
ROUTES = {
    "DescribeStream": "describe_stream",
    "GetShardIterator": "get_shard_iterator",
    "GetRecords": "get_records",
}
