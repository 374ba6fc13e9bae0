"""Orders like the tutorial's MockDataGenerator, planned from one seeded random.Random.

The planner decides every operation (kind, order id, values) from its own seeded
generator and from what was acknowledged so far, so the same seed against the same
starting table gives the same sequence of operations. Wall-clock `updated_at`
values are the only part that differs between two runs.

It updates and deletes only orders this run wrote and that DynamoDB acknowledged,
and it never plans two operations on one key in one batch (BatchWriteItem rejects
that). New order ids avoid ids already in the table when the run started, so an
"insert" really is an insert.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salescdc.generator.stats import DELETE, INSERT, UPDATE

PRODUCTS = ("Laptop", "Phone", "Tablet", "Headphones", "charger")
ORDER_ID_RANGE = (1, 10000)
QUANTITY_RANGE = (1, 5)
PRICE_CENTS_RANGE = (1000, 50000)  # 10.00 .. 500.00
_ID_DRAWS = 32  # random draws before falling back to scanning the free ids


def utc_timestamp(now: dt.datetime | None = None) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2026-01-31T12:00:00.123Z."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Operation:
    """One planned write. `item` is the whole item for insert/update, None for delete."""

    kind: str
    orderid: str
    item: dict[str, Any] | None = None

    def identity(self) -> tuple[Any, ...]:
        """What the seed decides: everything but the wall-clock updated_at."""
        if self.item is None:
            return (self.kind, self.orderid)
        return (self.kind, self.orderid, self.item["product_name"], self.item["quantity"], self.item["price"])


class OrderPlanner:
    """Plans batches of operations; learns what exists only from acknowledgements."""

    def __init__(
        self,
        seed: int | None,
        update_share: float = 0.0,
        delete_share: float = 0.0,
        taken: Iterable[str] = (),
        timestamp: Callable[[], str] = utc_timestamp,
    ):
        self.rng = random.Random(seed)
        self.update_share = update_share
        self.delete_share = delete_share
        self._taken = set(taken)  # ids in the table that this run did not write
        self._live: list[str] = []  # ids this run wrote and that still exist, in acknowledgement order
        self._index: dict[str, int] = {}
        self._items: dict[str, dict[str, Any]] = {}
        self._timestamp = timestamp

    @property
    def live(self) -> dict[str, dict[str, Any]]:
        """Orders this run wrote and that still exist, as last acknowledged."""
        return {oid: dict(self._items[oid]) for oid in self._live}

    def plan(self, n: int) -> list[Operation]:
        """Up to n operations on distinct order ids (fewer only when every id is in use)."""
        batch: list[Operation] = []
        used: set[str] = set()
        for _ in range(n):
            op = self._next(used)
            if op is None:
                break
            used.add(op.orderid)
            batch.append(op)
        return batch

    def acknowledge(self, ops: Iterable[Operation]) -> None:
        """Record writes DynamoDB acknowledged (and only those)."""
        for op in ops:
            if op.kind == DELETE:
                self._remove(op.orderid)
            else:
                if op.orderid not in self._index:
                    self._index[op.orderid] = len(self._live)
                    self._live.append(op.orderid)
                self._items[op.orderid] = dict(op.item or {})

    # -- planning ----------------------------------------------------------

    def _next(self, used: set[str]) -> Operation | None:
        roll = self.rng.random()
        if roll < self.delete_share + self.update_share:
            target = self._pick_live(used)
            if target is not None:
                if roll < self.delete_share:
                    return Operation(DELETE, target)
                return Operation(UPDATE, target, self._updated(self._items[target]))
        orderid = self._free_id(used)
        if orderid is None:
            target = self._pick_live(used)
            return None if target is None else Operation(UPDATE, target, self._updated(self._items[target]))
        return Operation(INSERT, orderid, self._new_order(orderid))

    def _new_order(self, orderid: str) -> dict[str, Any]:
        return {
            "orderid": orderid,
            "product_name": self.rng.choice(PRODUCTS),
            "quantity": self.rng.randint(*QUANTITY_RANGE),
            "price": self._price(),
            "updated_at": self._timestamp(),
        }

    def _updated(self, current: dict[str, Any]) -> dict[str, Any]:
        """A changed copy: quantity and/or price differ, updated_at is now."""
        change = self.rng.choice(("quantity", "price", "both"))
        item = dict(current)
        if change in ("quantity", "both"):
            item["quantity"] = self.rng.choice([q for q in range(QUANTITY_RANGE[0], QUANTITY_RANGE[1] + 1)
                                                if q != current.get("quantity")])
        if change in ("price", "both"):
            price = self._price()
            while price == current.get("price"):
                price = self._price()
            item["price"] = price
        item["updated_at"] = self._timestamp()
        return item

    def _price(self) -> Decimal:
        # Whole cents, so the price has exactly two decimals (Decimal('193.72'), never a float).
        return Decimal(self.rng.randint(*PRICE_CENTS_RANGE)).scaleb(-2)

    def _pick_live(self, used: set[str]) -> str | None:
        if len(used) >= len(self._live):
            candidates = [oid for oid in self._live if oid not in used]
            return self.rng.choice(candidates) if candidates else None
        while True:  # used is at most one batch, smaller than live: this ends quickly
            oid = self.rng.choice(self._live)
            if oid not in used:
                return oid

    def _free_id(self, used: set[str]) -> str | None:
        def free(oid: str) -> bool:
            return oid not in self._index and oid not in self._taken and oid not in used

        for _ in range(_ID_DRAWS):
            oid = str(self.rng.randint(*ORDER_ID_RANGE))
            if free(oid):
                return oid
        remaining = [str(i) for i in range(ORDER_ID_RANGE[0], ORDER_ID_RANGE[1] + 1) if free(str(i))]
        return self.rng.choice(remaining) if remaining else None

    def _remove(self, orderid: str) -> None:
        index = self._index.pop(orderid, None)
        if index is None:
            return
        last = self._live.pop()
        if last != orderid:  # swap-remove keeps random choice O(1)
            self._live[index] = last
            self._index[last] = index
        self._items.pop(orderid, None)
