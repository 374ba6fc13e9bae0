"""DynamoDB writes for the generator: BatchWriteItem with backoff, honest acknowledgement.

An operation counts as written only once DynamoDB acknowledged it: a successful
BatchWriteItem minus what it returned in UnprocessedItems. Unprocessed items,
throttling and an unreachable endpoint are retried with capped exponential backoff
(full jitter) for as long as it takes, each retry counted; a stop request ends the
wait at once and leaves the rest unacknowledged. A request that timed out may
still have been applied by DynamoDB; it is not counted, because nothing confirmed it.

The client is made without botocore's own retries so every retry is ours: counted,
visible in the status, and interruptible.

Before anything is sent, each operation is checked against the same rules as the
Orders page (`salescdc.order_rules`): an order the pipeline could not carry (an
orderid over 256 characters, a price beyond the lake's decimal(10,2), …) is refused
with its reason under the error code `InvalidOrder`, and the rest of the batch is
written.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import botocore.config
import botocore.exceptions
from boto3.dynamodb.types import TypeSerializer

from salescdc.clients import ClientFactory
from salescdc.errors import TerminalError, explain, is_transient
from salescdc.generator.orders import Operation
from salescdc.generator.stats import DELETE
from salescdc.order_rules import normalize, orderid_problem

MAX_BATCH = 25  # BatchWriteItem's limit
KEY = "orderid"
INVALID_ORDER = "InvalidOrder"  # the error code a refused operation is counted under
NO_SDK_RETRIES = botocore.config.Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=3, read_timeout=20
)
# Errors retrying cannot fix: wrong or missing credentials, no permission.
TERMINAL_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "MissingAuthenticationTokenException",
})
TERMINAL_SDK_ERRORS = (
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.NoRegionError,
    botocore.exceptions.ProfileNotFound,
)

_serializer = TypeSerializer()


class TableMissingError(TerminalError):
    """The orders table does not exist: provision first."""


class StopRequested(Exception):
    """Internal: the stop event was set while waiting to retry."""


@dataclass
class WriteOutcome:
    """What one batch came to."""

    acknowledged: list[Operation] = field(default_factory=list)
    failed: dict[str, list[Operation]] = field(default_factory=dict)  # error code -> operations
    stopped: bool = False
    error: str | None = None  # the sentence for `failed`, if any
    refused: dict[str, str] = field(default_factory=dict)  # orderid -> why the operation was not sent


def refusal(op: Operation) -> str | None:
    """Why this operation must not be written (the Orders page's rules), or None."""
    if op.kind == DELETE or op.item is None:
        return orderid_problem(op.orderid)
    messages = normalize(op.item)[1]
    if op.item.get(KEY) != op.orderid:
        messages.append(f"the item's orderid {op.item.get(KEY)!r} is not the operation's {op.orderid!r}.")
    return " ".join(messages) or None


def dynamodb_client(factory: ClientFactory) -> Any:
    return factory.client("dynamodb", config=NO_SDK_RETRIES)


class BatchWriter:
    """Writes planned operations to one table, retrying what may succeed later."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        region: str,
        *,
        stop_event: threading.Event | None = None,
        on_retry: Callable[[str], None] = lambda sentence: None,
        backoff_base_s: float = 0.05,
        backoff_cap_s: float = 5.0,
    ):
        self.client = client
        self.table_name = table_name
        self.region = region
        self.stop_event = stop_event or threading.Event()
        self.on_retry = on_retry
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.deadline: float | None = None  # time.monotonic() past which retrying stops (duration bound)
        self._jitter = random.Random()  # not the planner's seeded generator: retries must not change the plan

    def check_table(self) -> None:
        """Raise TableMissingError (one sentence) if the table does not exist."""
        self._call(self.client.describe_table, TableName=self.table_name)

    def existing_keys(self) -> set[str]:
        """Order ids already in the table (new orders avoid them)."""
        keys: set[str] = set()
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"TableName": self.table_name, "ProjectionExpression": KEY}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._call(self.client.scan, **kwargs)
            keys.update(item[KEY]["S"] for item in page.get("Items", []) if "S" in item.get(KEY, {}))
            start = page.get("LastEvaluatedKey")
            if not start:
                return keys

    def write(self, ops: Iterable[Operation]) -> WriteOutcome:
        """Write up to 25 operations on distinct keys; returns what was acknowledged."""
        pending = {op.orderid: op for op in ops}
        if len(pending) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} operations per batch")
        outcome = WriteOutcome()
        for oid, op in list(pending.items()):
            reason = refusal(op)
            if reason is not None:
                del pending[oid]
                outcome.refused[oid] = reason
                outcome.failed.setdefault(INVALID_ORDER, []).append(op)
                outcome.error = f"Order {oid[:40]!r} refused: {reason}"
        attempt = 0
        while pending:
            request = {self.table_name: [_request(op) for op in pending.values()]}
            try:
                response = self._call(self.client.batch_write_item, RequestItems=request)
            except StopRequested:
                outcome.stopped = True
                return outcome
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "ClientError")
                outcome.failed.setdefault(code, []).extend(pending.values())
                outcome.error = explain(exc)
                return outcome
            unprocessed = {_key_of(r) for r in response.get("UnprocessedItems", {}).get(self.table_name, [])}
            outcome.acknowledged.extend(op for oid, op in pending.items() if oid not in unprocessed)
            pending = {oid: op for oid, op in pending.items() if oid in unprocessed}
            if pending:
                self.on_retry(f"DynamoDB left {len(pending)} items unprocessed (throttled); retrying.")
                try:
                    self._sleep(attempt)
                except StopRequested:
                    outcome.stopped = True
                    return outcome
                attempt += 1
        return outcome

    # -- retries -------------------------------------------------------------

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        attempt = 0
        while True:
            if self.stop_event.is_set():
                raise StopRequested
            try:
                return method(**kwargs)
            except TERMINAL_SDK_ERRORS as exc:
                raise TerminalError(explain(exc)) from None
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, botocore.exceptions.ClientError) else ""
                if code == "ResourceNotFoundException":
                    raise TableMissingError(
                        f"Table {self.table_name} does not exist in {self.region}: "
                        "provision the pipeline first (python infra_bootstrap.py up)."
                    ) from None
                if code in TERMINAL_CODES:
                    raise TerminalError(explain(exc)) from None
                if not is_transient(exc):
                    raise
                self.on_retry(explain(exc))
                self._sleep(attempt)
                attempt += 1

    def _sleep(self, attempt: int) -> None:
        delay = min(self.backoff_cap_s, self.backoff_base_s * 2**attempt)
        delay = self._jitter.uniform(delay / 2, delay)
        if self.deadline is not None:
            delay = min(delay, self.deadline - time.monotonic())
        if self.stop_event.wait(max(delay, 0.0)) or (self.deadline is not None and time.monotonic() >= self.deadline):
            raise StopRequested


def _request(op: Operation) -> dict[str, Any]:
    if op.kind == DELETE:
        return {"DeleteRequest": {"Key": {KEY: {"S": op.orderid}}}}
    return {"PutRequest": {"Item": {k: _serializer.serialize(v) for k, v in (op.item or {}).items()}}}


def _key_of(request: dict[str, Any]) -> str:
    if "PutRequest" in request:
        return request["PutRequest"]["Item"][KEY]["S"]
    return request["DeleteRequest"]["Key"][KEY]["S"]
