"""Orders like the tutorial's MockDataGenerator, planned from one seeded random.Random.

The planner decides every operation (kind, order id, values) from its own seeded
generator and from what was acknowledged so far, so the same seed against the same
starting table gives the same sequence of operations. Wall-clock `updated_at`
values are the only part that differs between two runs.

It updates and deletes only orders this run wrote (an operation on a key is sent
only after the previous operation on that key was settled), and it never puts two
operations on one key in one batch (BatchWriteItem rejects that). New order ids
avoid ids already in the table when the run started, so an "insert" really is an
insert.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salescdc.contract import utc_timestamp
from salescdc.generator.stats import DELETE, INSERT, UPDATE

PRODUCTS = ("Laptop", "Phone", "Tablet", "Headphones", "charger")
ORDER_ID_RANGE = (1, 10000)
QUANTITY_RANGE = (1, 5)
PRICE_CENTS_RANGE = (1000, 50000)  # 10.00 .. 500.00
_ID_DRAWS = 32  # random draws before falling back to scanning the free ids


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
    """Plans operations one by one against the state it intends; learns the truth from acknowledgements.

    Each drawn operation is applied at once to the *intended* state (what the table
    holds if every write succeeds), so the sequence of operations depends only on the
    seed, never on how the generator's pacing happens to cut it into batches. A batch
    ends early when the next operation touches a key already in it (BatchWriteItem
    forbids that); that operation opens the next batch. `settle` records what DynamoDB
    acknowledged and rolls the intended state back to the truth for whatever failed.
    """

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
        self._acked: dict[str, dict[str, Any]] = {}  # what DynamoDB confirmed: the truth
        # Intended state: ids in a list (plus index) so a random pick is O(1) and seed-stable.
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self._items: dict[str, dict[str, Any]] = {}
        self._held: Operation | None = None  # drawn, but its key was already in the last batch
        self._timestamp = timestamp

    @property
    def live(self) -> dict[str, dict[str, Any]]:
        """Orders this run wrote and that still exist, as DynamoDB acknowledged them."""
        return {oid: dict(item) for oid, item in self._acked.items()}

    def plan(self, n: int) -> list[Operation]:
        """Up to n operations on distinct order ids (none only when every id is in use)."""
        batch: list[Operation] = []
        used: set[str] = set()
        while len(batch) < n:
            op, self._held = (self._restamped(self._held) if self._held else self._draw()), None
            if op is None:
                break
            if op.orderid in used:
                self._held = op
                break
            used.add(op.orderid)
            batch.append(op)
        return batch

    def settle(self, sent: Iterable[Operation], acknowledged: Iterable[Operation]) -> None:
        """Record what DynamoDB acknowledged (and only that); undo the intent of what failed."""
        sent_ids = {op.orderid for op in sent}
        for op in acknowledged:
            sent_ids.discard(op.orderid)
            if op.kind == DELETE:
                self._acked.pop(op.orderid, None)
            else:
                self._acked[op.orderid] = dict(op.item or {})
        for oid in sent_ids:  # not acknowledged: the table still holds what it held
            if self._held is not None and self._held.orderid == oid:
                self._held = None
            if oid in self._acked:
                self._set(oid, self._acked[oid])
            else:
                self._remove(oid)

    # -- planning ----------------------------------------------------------

    def _restamped(self, op: Operation) -> Operation:
        """A held operation goes out one batch later: its updated_at says when it was sent."""
        if op.item is None:
            return op
        item = {**op.item, "updated_at": self._timestamp()}
        self._items[op.orderid] = dict(item)
        return Operation(op.kind, op.orderid, item)

    def _draw(self) -> Operation | None:
        op = self._choose()
        if op is not None:
            if op.kind == DELETE:
                self._remove(op.orderid)
            else:
                self._set(op.orderid, op.item or {})
        return op

    def _choose(self) -> Operation | None:
        roll = self.rng.random()
        if roll < self.delete_share + self.update_share and self._ids:
            target = self.rng.choice(self._ids)
            if roll < self.delete_share:
                return Operation(DELETE, target)
            return Operation(UPDATE, target, self._updated(self._items[target]))
        orderid = self._free_id()
        if orderid is None:
            if not self._ids:
                return None
            target = self.rng.choice(self._ids)
            return Operation(UPDATE, target, self._updated(self._items[target]))
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

    def _free_id(self) -> str | None:
        def free(oid: str) -> bool:
            return oid not in self._index and oid not in self._taken

        for _ in range(_ID_DRAWS):
            oid = str(self.rng.randint(*ORDER_ID_RANGE))
            if free(oid):
                return oid
        remaining = [str(i) for i in range(ORDER_ID_RANGE[0], ORDER_ID_RANGE[1] + 1) if free(str(i))]
        return self.rng.choice(remaining) if remaining else None

    def _set(self, orderid: str, item: dict[str, Any]) -> None:
        if orderid not in self._index:
            self._index[orderid] = len(self._ids)
            self._ids.append(orderid)
        self._items[orderid] = dict(item)

    def _remove(self, orderid: str) -> None:
        index = self._index.pop(orderid, None)
        if index is None:
            return
        last = self._ids.pop()
        if last != orderid:  # swap-remove keeps random choice O(1)
            self._ids[index] = last
            self._index[last] = index
        self._items.pop(orderid, None)
