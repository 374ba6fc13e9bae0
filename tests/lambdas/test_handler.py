"""The handler: whole batches in order, the 6 MB response guard, and logs without payloads."""

from __future__ import annotations

import base64
import json
import logging

import batch
import handler
import transform
from tests.lambdas.events import b64, firehose_event, firehose_record, item, order_image, stream_record

SECRET = "s3cr3t-customer-payload"


def test_every_record_id_once_in_order_with_mixed_results():
    records = [
        firehose_record(b64(stream_record("INSERT", new=order_image("1"))), record_id="a"),
        firehose_record("%%%", record_id="b"),
        firehose_record(b64(stream_record("REMOVE", orderid="2", view="NEW_IMAGE")), record_id="c"),
        firehose_record(b64({"hello": "world"}), record_id="d"),
    ]
    response = handler.lambda_handler(firehose_event(records), None)
    assert [r["recordId"] for r in response["records"]] == ["a", "b", "c", "d"]
    assert [r["result"] for r in response["records"]] == ["Ok", "ProcessingFailed", "Ok", "ProcessingFailed"]
    assert response["records"][3]["data"] == records[3]["data"]
    assert set(response) == {"records"}


def test_empty_batch():
    assert handler.lambda_handler(firehose_event([]), None) == {"records": []}


def test_logs_counts_and_reasons_but_no_payload(caplog):
    records = [
        firehose_record(b64(stream_record("INSERT", new=order_image(product=SECRET) | {"note": {"S": SECRET}})), record_id="a"),
        firehose_record(b64({"eventName": SECRET}), record_id="b"),
        firehose_record(b64(stream_record(SECRET, new=item())), record_id="c"),
        firehose_record(SECRET, record_id="d"),
        firehose_record(b64(SECRET), record_id="e"),
    ]
    with caplog.at_level(logging.DEBUG):
        handler.lambda_handler(firehose_event(records), None)
    text = caplog.text
    encoded = [base64.b64encode(SECRET.encode()).decode()[:12]] + [r["data"][:12] for r in records]
    assert SECRET not in text and not any(e in text for e in encoded)
    summary = json.loads(caplog.records[-1].getMessage())
    assert (summary["records"], summary["ok"], summary["failed"]) == (5, 1, 4)
    assert sum(summary["failure_reasons"].values()) == 4
    assert "the data is not valid base64" in summary["failure_reasons"]


def _quote_heavy_record(i: int) -> dict:
    # A string of quotes is escaped once in the stream record and twice inside `extra`: the line grows.
    rec = stream_record("INSERT", new=item(str(i), note={"S": '"' * 60_000}), event_id=f"e{i}")
    return firehose_record(b64(rec), record_id=f"r{i}")


def test_response_stays_under_6_mb_when_the_lines_would_not():
    records = [_quote_heavy_record(i) for i in range(36)]
    request_bytes = len(json.dumps(firehose_event(records)))
    assert request_bytes < 6 * 1024 * 1024  # a batch Firehose could really send
    would_be = sum(len(transform.transform(r).data) for r in records)
    assert would_be > 6 * 1024 * 1024  # ...whose transformed lines alone would overflow

    response = handler.lambda_handler(firehose_event(records), None)
    assert len(json.dumps(response)) <= batch.RESPONSE_LIMIT_BYTES
    results = [r["result"] for r in response["records"]]
    assert [r["recordId"] for r in response["records"]] == [r["recordId"] for r in records]
    assert results[0] == "Ok" and "ProcessingFailed" in results
    for rec, out in zip(records, response["records"]):
        if out["result"] == "ProcessingFailed":
            assert out["data"] == rec["data"]  # kept whole for the error prefix


def test_size_guard_keeps_what_fits_and_reports_the_reason():
    records = [firehose_record(b64(stream_record("INSERT", new=item(str(i), note={"S": '"' * 300}))), record_id=str(i))
               for i in range(10)]
    full = batch.build_response(records)
    assert all(r.result == "Ok" for r in full.results)
    assert full.response_bytes == len(json.dumps(full.response))

    limit = full.response_bytes - 200
    squeezed = batch.build_response(records, limit=limit)
    assert squeezed.response_bytes == len(json.dumps(squeezed.response)) <= limit
    reasons = [getattr(r, "reason", None) for r in squeezed.results]
    assert batch.OVERSIZE_REASON in reasons and reasons[0] is None
    for rec, r in zip(records, squeezed.results):
        if r.result == "ProcessingFailed":
            assert r.data == rec["data"]
