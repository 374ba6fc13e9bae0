"""DynamoDB for the local cloud: moto's tables, with DynamoDB Streams as AWS writes and serves them.

`install(cloud)` makes moto write stream records the way AWS does (`records.py`)
and serves the Streams read API (`models.py` state, `responses.py` route table)
on `cloud.router`. ListStreams and all table/item calls stay with moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.dynamodb import records
from localcloud.dynamodb.models import DynamoDBStreamsBackend, dynamodbstreams_backends
from localcloud.dynamodb.responses import ROUTES, DynamoDBStreamsResponses

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

__all__ = ["install", "DynamoDBStreamsBackend", "dynamodbstreams_backends"]


def install(cloud: LocalCloud) -> None:
    records.install()
    cloud.router.register("dynamodb", ROUTES, DynamoDBStreamsResponses())
