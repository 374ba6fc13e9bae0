"""DynamoDB Streams JSON handlers (X-Amz-Target DynamoDBStreams_20120810.*, signed as service "dynamodb")."""

from __future__ import annotations

from typing import Any

from localcloud.dynamodb.exceptions import ValidationException
from localcloud.dynamodb.models import StreamsReader
from localcloud.routing import AwsRequest, AwsResponse, Router

_CONTENT_TYPE = "application/x-amz-json-1.0"


def _params(request: AwsRequest) -> dict[str, Any]:
    return request.json_object(ValidationException)


def _required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise ValidationException(f"1 validation error detected: Value null at '{name[0].lower() + name[1:]}' "
                                  f"failed to satisfy constraint: Member must not be null")
    return value


def register(router: Router, reader: StreamsReader) -> None:
    # Streams requests are signed for "dynamodb"; these actions do not exist in the DynamoDB API itself.
    @router.action("dynamodb", "DescribeStream")
    def describe_stream(request: AwsRequest) -> AwsResponse:
        params = _params(request)
        description = reader.describe_stream(_required(params, "StreamArn"))
        return AwsResponse.json({"StreamDescription": description}, content_type=_CONTENT_TYPE)

    @router.action("dynamodb", "GetShardIterator")
    def get_shard_iterator(request: AwsRequest) -> AwsResponse:
        params = _params(request)
        iterator = reader.get_shard_iterator(
            _required(params, "StreamArn"),
            _required(params, "ShardId"),
            _required(params, "ShardIteratorType"),
            params.get("SequenceNumber"),
        )
        return AwsResponse.json({"ShardIterator": iterator}, content_type=_CONTENT_TYPE)

    @router.action("dynamodb", "GetRecords")
    def get_records(request: AwsRequest) -> AwsResponse:
        params = _params(request)
        limit = params.get("Limit")
        if limit is not None and not isinstance(limit, int):
            raise ValidationException("Limit must be an integer between 1 and 1000.")
        result = reader.get_records(_required(params, "ShardIterator"), limit)
        return AwsResponse.json(result, content_type=_CONTENT_TYPE)
