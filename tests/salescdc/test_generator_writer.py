"""The batch writer against botocore's Stubber: acknowledgement, UnprocessedItems, backoff, terminal errors."""

from __future__ import annotations

import threading
from decimal import Decimal

import boto3
import pytest
from botocore.stub import Stubber

from salescdc.errors import TerminalError
from salescdc.generator.orders import Operation
from salescdc.generator.stats import DELETE, INSERT
from salescdc.generator.writer import BatchWriter, TableMissingError

TABLE = "OrdersRawTable"


def put(oid: str) -> Operation:
    return Operation(INSERT, oid, {"orderid": oid, "product_name": "Phone", "quantity": 2, "price": Decimal("19.99")})


def put_request(oid: str) -> dict:
    return {"PutRequest": {"Item": {"orderid": {"S": oid}, "product_name": {"S": "Phone"},
                                    "quantity": {"N": "2"}, "price": {"N": "19.99"}}}}


@pytest.fixture
def stubbed():
    client = boto3.client("dynamodb", region_name="ap-south-1")
    with Stubber(client) as stubber:
        retries: list[str] = []
        writer = BatchWriter(client, TABLE, "ap-south-1", on_retry=retries.append,
                             backoff_base_s=0.001, backoff_cap_s=0.002)
        yield writer, stubber, retries
        stubber.assert_no_pending_responses()


def test_unprocessed_items_are_retried_and_only_then_acknowledged(stubbed):
    writer, stubber, retries = stubbed
    ops = [put("1"), put("2"), Operation(DELETE, "3")]
    delete3 = {"DeleteRequest": {"Key": {"orderid": {"S": "3"}}}}
    stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [put_request("2"), delete3]}},
                         {"RequestItems": {TABLE: [put_request("1"), put_request("2"), delete3]}})
    stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [delete3]}},
                         {"RequestItems": {TABLE: [put_request("2"), delete3]}})
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: [delete3]}})
    outcome = writer.write(ops)
    assert [op.orderid for op in outcome.acknowledged] == ["1", "2", "3"]
    assert not outcome.failed and not outcome.stopped
    assert len(retries) == 2 and "unprocessed" in retries[0]


def test_throttling_and_server_errors_are_retried_and_counted(stubbed):
    writer, stubber, retries = stubbed
    stubber.add_client_error("batch_write_item", "ProvisionedThroughputExceededException", http_status_code=400)
    stubber.add_client_error("batch_write_item", "InternalServerError", http_status_code=500)
    stubber.add_response("batch_write_item", {})
    outcome = writer.write([put("7")])
    assert [op.orderid for op in outcome.acknowledged] == ["7"]
    assert len(retries) == 2


def test_missing_table_is_terminal_with_one_sentence(stubbed):
    writer, stubber, _ = stubbed
    stubber.add_client_error("describe_table", "ResourceNotFoundException", "Requested resource not found")
    with pytest.raises(TableMissingError) as err:
        writer.check_table()
    assert str(err.value) == (
        "Table OrdersRawTable does not exist in ap-south-1: provision the pipeline first (python infra_bootstrap.py up)."
    )
    assert isinstance(err.value, TerminalError)


def test_access_denied_is_terminal(stubbed):
    writer, stubber, retries = stubbed
    stubber.add_client_error("batch_write_item", "AccessDeniedException", "no", http_status_code=400)
    with pytest.raises(TerminalError, match="Access denied"):
        writer.write([put("1")])
    assert retries == []


def test_a_rejected_batch_is_failed_not_acknowledged(stubbed):
    writer, stubber, retries = stubbed
    stubber.add_client_error("batch_write_item", "ValidationException", "bad item", http_status_code=400)
    outcome = writer.write([put("1"), put("2")])
    assert outcome.acknowledged == [] and [op.orderid for op in outcome.failed["ValidationException"]] == ["1", "2"]
    assert "ValidationException" in outcome.error and retries == []


def test_stop_during_backoff_leaves_the_rest_unacknowledged():
    client = boto3.client("dynamodb", region_name="ap-south-1")
    stop = threading.Event()
    writer = BatchWriter(client, TABLE, "ap-south-1", stop_event=stop, on_retry=lambda s: stop.set(),
                         backoff_base_s=30, backoff_cap_s=30)
    with Stubber(client) as stubber:
        stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [put_request("2")]}})
        outcome = writer.write([put("1"), put("2")])
    assert outcome.stopped and [op.orderid for op in outcome.acknowledged] == ["1"]


def test_existing_keys_pages_through_the_table(stubbed):
    writer, stubber, _ = stubbed
    stubber.add_response("scan", {"Items": [{"orderid": {"S": "1"}}], "LastEvaluatedKey": {"orderid": {"S": "1"}}},
                         {"TableName": TABLE, "ProjectionExpression": "orderid"})
    stubber.add_response("scan", {"Items": [{"orderid": {"S": "9"}}]},
                         {"TableName": TABLE, "ProjectionExpression": "orderid",
                          "ExclusiveStartKey": {"orderid": {"S": "1"}}})
    assert writer.existing_keys() == {"1", "9"}
