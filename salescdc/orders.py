"""The order repository: read the orders table page by page, validate edits, save them safely.

Saving uses conditional writes. Every edited or deleted row carries the values it
had when it was loaded, and the write only happens if the item still has exactly
those values; otherwise the row is reported as a conflict with the item's current
value (the generator may have written it in the meantime). One bad row never
stops the others: `save` returns one outcome per row and raises only when the
table itself is unusable (missing, access denied).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import botocore.exceptions
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from salescdc.clients import ClientFactory
from salescdc.contract import utc_timestamp
from salescdc.errors import TerminalError, explain, is_transient
from salescdc.order_rules import EDITABLE, KEY, clean_text, is_missing, normalize, to_decimal
from salescdc.settings import Settings

COLUMNS = (KEY, *EDITABLE, "updated_at")


class RowStatus(StrEnum):
    """What happened to one changed row."""

    SAVED = "saved"
    CONFLICT = "conflict"
    INVALID = "invalid"
    FAILED = "failed"


SAVED = RowStatus.SAVED
CONFLICT = RowStatus.CONFLICT
INVALID = RowStatus.INVALID
FAILED = RowStatus.FAILED

Action = Literal["edit", "add", "delete"]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

__all__ = [
    "CONFLICT", "COLUMNS", "EDITABLE", "FAILED", "INVALID", "KEY", "SAVED", "Action", "Changes", "OrderPage",
    "OrderRepository", "RowOutcome", "RowStatus", "describe", "normalize", "to_decimal", "utc_timestamp",
]


@dataclass(frozen=True)
class OrderPage:
    """One page of orders and the key to continue from (None on the last page)."""

    items: list[dict[str, Any]]
    next_key: dict[str, Any] | None


@dataclass
class Changes:
    """What a person did to a loaded page.

    `edited` pairs each row as LOADED with its new values; `deleted` holds rows as
    loaded; `added` holds new rows.
    """

    edited: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.edited or self.added or self.deleted)


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one changed row."""

    action: Action
    orderid: str
    status: RowStatus
    messages: tuple[str, ...] = ()
    item: dict[str, Any] | None = None  # what was written (saved)
    current: dict[str, Any] | None = None  # the item as it is now (conflict); None when it no longer exists

    @property
    def ok(self) -> bool:
        return self.status == SAVED

    @property
    def message(self) -> str:
        return " ".join(self.messages)


# -- DynamoDB values ---------------------------------------------------
def _to_plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A deserialized item with whole-number quantity as int (Decimal prices stay exact)."""
    out = dict(item)
    q = out.get("quantity")
    if isinstance(q, decimal.Decimal) and q == q.to_integral_value():
        out["quantity"] = int(q)
    return out


def _from_dynamo(raw: Mapping[str, Any]) -> dict[str, Any]:
    return _to_plain({k: _deserializer.deserialize(v) for k, v in raw.items()})


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        value = to_decimal(value)
    return _serializer.serialize(value)


def _to_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _to_dynamo_value(v) for k, v in item.items() if not is_missing(v)}


class OrderRepository:
    """Pages through, validates and saves orders in the DynamoDB table named by settings."""

    def __init__(self, settings: Settings, factory: ClientFactory):
        self.settings = settings
        self.factory = factory

    @property
    def _ddb(self) -> Any:
        return self.factory.client("dynamodb")

    def _table_error(self, exc: botocore.exceptions.ClientError) -> TerminalError | None:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return TerminalError(
                f"The table {self.settings.table_name} does not exist: provision the pipeline first."
            )
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            return TerminalError(explain(exc))
        return None

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._ddb, method)(TableName=self.settings.table_name, **kwargs)
        except botocore.exceptions.ClientError as exc:
            terminal = self._table_error(exc)
            if terminal is not None:
                raise terminal from None
            raise

    # -- reading ---------------------------------------------------------
    def get(self, orderid: str) -> dict[str, Any] | None:
        """The item with this orderid (strongly consistent), or None."""
        response = self._call("get_item", Key={KEY: {"S": orderid}}, ConsistentRead=True)
        raw = response.get("Item")
        return _from_dynamo(raw) if raw else None

    def page(
        self,
        limit: int = 50,
        start_key: Mapping[str, Any] | None = None,
        search: str | None = None,
        exact: bool = False,
    ) -> OrderPage:
        """Up to `limit` orders after `start_key`, optionally only orderids starting with `search`.

        An exact search is a GetItem. A prefix search is a filtered Scan; since Scan
        applies the filter after reading, it keeps reading until the page is full.
        """
        search = (search or "").strip()
        if search and exact:
            found = self.get(search)
            return OrderPage([found] if found else [], None)

        items: list[dict[str, Any]] = []
        key = dict(start_key) if start_key else None
        while True:
            kwargs: dict[str, Any] = {"Limit": max(1, limit - len(items)) if not search else max(limit, 100)}
            if key:
                kwargs["ExclusiveStartKey"] = key
            if search:
                kwargs["FilterExpression"] = "begins_with(#k, :p)"
                kwargs["ExpressionAttributeNames"] = {"#k": KEY}
                kwargs["ExpressionAttributeValues"] = {":p": {"S": search}}
            response = self._call("scan", **kwargs)
            for raw in response.get("Items", []):
                items.append(_from_dynamo(raw))
                if len(items) == limit:
                    # Continue after the last row shown, not after what the scan read.
                    next_key = {KEY: raw[KEY]}
                    more = response.get("LastEvaluatedKey") is not None or raw is not response["Items"][-1]
                    return OrderPage(items, next_key if more else None)
            key = response.get("LastEvaluatedKey")
            if not key:
                return OrderPage(items, None)

    # -- validating ------------------------------------------------------
    def validate(self, row: Mapping[str, Any]) -> list[str]:
        """Messages for one row's values; empty when the row is valid."""
        return normalize(row)[1]

    def validate_changes(self, changes: Changes) -> dict[tuple[str, int], list[str]]:
        """Messages per (action, index) for the whole change set, including the cross-row rules:
        a new orderid is unique among new rows and not already in the table; an edited row keeps its orderid.
        """
        problems: dict[tuple[str, int], list[str]] = {}
        for i, (loaded, row) in enumerate(changes.edited):
            messages = self.validate(row)
            if clean_text(row.get(KEY)) != clean_text(loaded.get(KEY)):
                messages = [m for m in messages if not m.startswith("orderid")]
                messages.append(
                    f"orderid cannot be changed (was {_key_of(loaded)!r}); "
                    "delete the row and add a new one instead."
                )
            if messages:
                problems[("edit", i)] = messages
        seen: dict[str, int] = {}
        for i, row in enumerate(changes.added):
            messages = self.validate(row)
            orderid = clean_text(row.get(KEY))
            if orderid:
                if orderid in seen:
                    messages.append(f"orderid {orderid} appears more than once among the new rows.")
                else:
                    seen[orderid] = i
            if messages:
                problems[("add", i)] = messages
        return problems

    # -- saving ----------------------------------------------------------
    def save(self, changes: Changes, now: dt.datetime | None = None) -> list[RowOutcome]:
        """Apply the changes with conditional writes; one outcome per row, in edited/added/deleted order.

        Raises TerminalError only when the table is unusable (e.g. not provisioned).
        """
        stamp = utc_timestamp(now)
        problems = self.validate_changes(changes)
        outcomes: list[RowOutcome] = []
        for i, (loaded, row) in enumerate(changes.edited):
            orderid = _key_of(loaded)
            if ("edit", i) in problems:
                outcomes.append(RowOutcome("edit", orderid, INVALID, tuple(problems[("edit", i)])))
                continue
            values, _ = normalize(row)
            item = {k: v for k, v in loaded.items() if not is_missing(v)}
            item.update({k: values[k] for k in EDITABLE})
            item["updated_at"] = stamp
            outcomes.append(self._write("edit", orderid, loaded, item))
        for i, row in enumerate(changes.added):
            orderid = clean_text(row.get(KEY))
            if ("add", i) in problems:
                outcomes.append(RowOutcome("add", orderid, INVALID, tuple(problems[("add", i)])))
                continue
            values, _ = normalize(row)
            item = {**values, "updated_at": stamp}
            outcomes.append(self._write("add", orderid, None, item))
        for loaded in changes.deleted:
            # The key exactly as stored: an old item whose orderid has spaces around it can still be deleted.
            orderid = _key_of(loaded)
            if not orderid:
                outcomes.append(RowOutcome("delete", orderid, INVALID, ("The row has no orderid to delete.",)))
                continue
            outcomes.append(self._write("delete", orderid, loaded, None))
        return outcomes

    def _condition(self, loaded: Mapping[str, Any] | None) -> dict[str, Any]:
        """Still exactly as loaded (every loaded attribute equal), or absent for a new row."""
        if loaded is None:
            return {
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": KEY},
            }
        names: dict[str, str] = {"#k": KEY}
        values: dict[str, Any] = {}
        parts = ["attribute_exists(#k)"]
        for i, (attr, value) in enumerate(sorted(loaded.items())):
            names[f"#a{i}"] = attr
            if is_missing(value):
                parts.append(f"attribute_not_exists(#a{i})")
            else:
                values[f":v{i}"] = _to_dynamo_value(value)
                parts.append(f"#a{i} = :v{i}")
        kwargs = {"ConditionExpression": " AND ".join(parts), "ExpressionAttributeNames": names}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        return kwargs

    def _write(
        self, action: str, orderid: str, loaded: Mapping[str, Any] | None, item: dict[str, Any] | None
    ) -> RowOutcome:
        try:
            if item is None:
                self._call(
                    "delete_item",
                    Key={KEY: {"S": orderid}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **self._condition(loaded),
                )
            else:
                self._call(
                    "put_item",
                    Item=_to_dynamo(item),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **self._condition(loaded),
                )
        except TerminalError:
            raise
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return self._conflict(action, orderid, exc)
            return RowOutcome(action, orderid, FAILED, (self._failure(exc),))
        except botocore.exceptions.BotoCoreError as exc:
            return RowOutcome(action, orderid, FAILED, (self._failure(exc),))
        return RowOutcome(action, orderid, SAVED, item=item)

    def _failure(self, exc: BaseException) -> str:
        hint = " Try again in a moment." if is_transient(exc) else ""
        return explain(exc) + hint

    def _conflict(self, action: str, orderid: str, exc: botocore.exceptions.ClientError) -> RowOutcome:
        raw = exc.response.get("Item")
        if raw:
            current: dict[str, Any] | None = _from_dynamo(raw)
        else:
            # Older servers do not return the item; read it (it may also be gone).
            try:
                current = self.get(orderid)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
                current = None
        if action == "add":
            message = f"orderid {orderid} already exists; pick another orderid."
        elif current is None:
            message = f"Order {orderid} was deleted by someone else since it was loaded; nothing was written."
        else:
            message = (
                f"Order {orderid} changed since it was loaded (now {describe(current)}); "
                "nothing was written. Reload to edit the current value."
            )
        return RowOutcome(action, orderid, CONFLICT, (message,), current=current)


def _key_of(item: Mapping[str, Any]) -> str:
    """An item's orderid exactly as stored ('' when it has none)."""
    value = item.get(KEY)
    return "" if is_missing(value) else str(value)


def describe(item: Mapping[str, Any]) -> str:
    """A short human view of an item: 'Phone x 3 @ 199.99, updated 2026-…'."""
    text = f"{item.get('product_name', '?')} x {item.get('quantity', '?')} @ {item.get('price', '?')}"
    if item.get("updated_at"):
        text += f", updated {item['updated_at']}"
    return text
