"""Firehose prefix expressions, object names and the processor status model (pure functions)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest

from localcloud.firehose.exceptions import InvocationFailed, PrefixError
from localcloud.firehose.prefixes import evaluate_prefix, format_java_datetime, object_name
from localcloud.firehose.processing import SourceRecord, error_line, parse_response

WHEN = dt.datetime(2024, 3, 9, 7, 5, 4, 123000, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd", "2024-03-09"),
        ("yy/M/d", "24/3/9"),
        ("HH:mm:ss", "07:05:04"),
        ("yyyy-MM-dd HH:mm:ss.SSS", "2024-03-09 07:05:04.123"),
        ("'year='yyyy/'month='MM", "year=2024/month=03"),
        ("'it''s' yyyy", "it's 2024"),
        ("MMM MMMM EEE D", "Mar March Sat 69"),
        ("''yy", "'24"),
        ("YYYY/MM/dd/HH/", "2024/03/09/07/"),
    ],
)
def test_java_datetime_patterns(pattern: str, expected: str) -> None:
    assert format_java_datetime(pattern, WHEN) == expected


def test_unknown_pattern_letters_are_refused_not_guessed() -> None:
    with pytest.raises(PrefixError):
        format_java_datetime("yyyy-QQ", WHEN)


def test_prefix_expressions_are_evaluated_in_utc() -> None:
    ist = WHEN.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert evaluate_prefix("orders/dt=!{timestamp:yyyy-MM-dd}/", ist) == "orders/dt=2024-03-09/"
    assert evaluate_prefix("errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/", WHEN,
                           "processing-failed") == "errors/processing-failed/dt=2024-03-09/"
    assert re.fullmatch(r"x/[a-z0-9]{11}/", evaluate_prefix("x/!{firehose:random-string}/", WHEN))


def test_a_prefix_without_expressions_gets_awss_default_time_folders() -> None:
    assert evaluate_prefix("raw/", WHEN) == "raw/2024/03/09/07/"
    assert evaluate_prefix("", WHEN) == "2024/03/09/07/"
    assert evaluate_prefix("", WHEN, "processing-failed") == "processing-failed/2024/03/09/07/"


def test_error_output_type_only_in_the_error_prefix() -> None:
    with pytest.raises(PrefixError):
        evaluate_prefix("a/!{firehose:error-output-type}/", WHEN)


def test_object_names_follow_awss_pattern() -> None:
    assert re.fullmatch(r"my-stream-1-2024-03-09-07-05-04-[0-9a-f-]{36}", object_name("my-stream", "1", WHEN))


def _records(n: int) -> list[SourceRecord]:
    return [SourceRecord(f"id{i}", "shardId-000000000000", str(i), "pk", f"d{i}".encode(), 1000 + i)
            for i in range(n)]


def _response(*items: dict) -> bytes:
    return json.dumps({"records": list(items)}).encode()


def _ok(rid: str, data: bytes = b"x") -> dict:
    return {"recordId": rid, "result": "Ok", "data": base64.b64encode(data).decode()}


def test_a_valid_response_maps_every_record() -> None:
    recs = _records(3)
    out = parse_response(_response(_ok("id2", b"two"), {"recordId": "id0", "result": "Dropped"},
                                   {"recordId": "id1", "result": "ProcessingFailed", "data": "ZDE="}), recs, 1)
    assert [(o.record.record_id, o.result, o.data) for o in out] == [
        ("id0", "Dropped", b""), ("id1", "ProcessingFailed", b""), ("id2", "Ok", b"two")]
    assert (out[1].error_code, out[1].error_message) == ("Lambda.ProcessingFailedStatus",
                                                         "ProcessingFailed status set for record")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (_response(_ok("id0")), "Lambda.MissingRecordId"),
        (_response(_ok("id0"), _ok("id0"), _ok("id1")), "Lambda.DuplicatedRecordId"),
        (_response(_ok("id0"), _ok("other")), "Lambda.MissingRecordId"),
        (_response(_ok("id0"), {"recordId": "id1", "result": "Maybe", "data": ""}), "Lambda.JsonProcessingException"),
        (_response(_ok("id0"), {"recordId": "id1", "result": "Ok", "data": "%%%"}), "Lambda.JsonProcessingException"),
        (b"not json", "Lambda.JsonProcessingException"),
        (b'{"no": "records"}', "Lambda.JsonProcessingException"),
    ],
)
def test_a_response_breaking_the_status_model_fails_the_invocation(payload: bytes, code: str) -> None:
    with pytest.raises(InvocationFailed) as err:
        parse_response(payload, _records(2), 1)
    assert err.value.error_code == code


def test_error_lines_have_awss_shape() -> None:
    (rec,) = _records(1)
    from localcloud.firehose.processing import Outcome

    line = error_line(Outcome(rec, "ProcessingFailed", error_code="C", error_message="M", attempts=4), "arn:l", 5000)
    assert line.endswith(b"\n")
    assert json.loads(line) == {"attemptsMade": 4, "arrivalTimestamp": 1000, "errorCode": "C", "errorMessage": "M",
                                "attemptEndingTimestamp": 5000, "rawData": base64.b64encode(b"d0").decode(),
                                "lambdaArn": "arn:l"}
