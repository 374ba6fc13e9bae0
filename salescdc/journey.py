"""An order's change journey: when each change reached each stage of the pipeline.

After a save at time T the Orders page tracks that orderid. Each `refresh` looks
for the order's lines in the lake objects written since T (reading each object
once), and asks Athena whether `order_changes` returns them yet. Per event:

* DynamoDB write — the item's own `updated_at` (or the stream's event_time),
* Kinesis arrival — the line's `arrival_time`,
* S3 object — LastModified of the object holding the line,
* queryable — when an Athena query over `order_changes` first returned it,
* in the Iceberg table — when `cdc_data.orders` first showed the change absorbed
  by a MERGE (salescdc.current_state): an upsert once the order's row carries its
  sequence number or a newer one (or the row is gone behind a newer tombstone), a
  delete once the row is gone and the tombstone's sequence number is at least its
  own (or a newer change re-created the row).

A `Journey` is plain data, so the page keeps it in session state between reruns.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from salescdc.analytics import Analytics, QueryError, order_events_sql, quote_identifier, quote_literal
from salescdc.clients import ClientFactory
from salescdc.contract import SEQUENCE_WIDTH, parse_timestamp
from salescdc.current_state import ORDERS_TABLE, TOMBSTONES_TABLE
from salescdc.errors import SalesCdcError, explain
from salescdc.lake import newest_objects, read_lines
from salescdc.settings import Settings

STAGES = ("DynamoDB write", "Kinesis arrival", "S3 object", "Queryable", "In Iceberg table")

# Lake objects are listed from a little before the save: clocks and LastModified are second-grained.
_SLACK = dt.timedelta(seconds=2)


@dataclass
class JourneyEvent:
    """One change of the order and when it reached each stage."""

    event_id: str
    op: str
    quantity: Any = None
    price: Any = None
    updated_at: dt.datetime | None = None
    event_time: dt.datetime | None = None
    arrival_time: dt.datetime | None = None
    s3_key: str | None = None
    s3_time: dt.datetime | None = None
    queryable_time: dt.datetime | None = None
    iceberg_time: dt.datetime | None = None
    sequence_number: str = ""
    is_save: bool = False  # the change this journey's save made

    @property
    def written_time(self) -> dt.datetime | None:
        return self.updated_at or self.event_time

    @property
    def is_delete(self) -> bool:
        return self.op == "REMOVE"

    def stage_times(self) -> list[tuple[str, dt.datetime | None]]:
        return list(zip(STAGES, (self.written_time, self.arrival_time, self.s3_time, self.queryable_time,
                                 self.iceberg_time)))

    def absorbed_by(self, row_sequence: str | None, tombstone_sequence: str | None) -> bool:
        """Whether `cdc_data.orders` holds this change, given the order's row and tombstone sequence numbers."""
        mine = _comparable(self.sequence_number)
        if row_sequence is not None:  # a live row: it carries this change or a newer one
            newer = _comparable(row_sequence)
            return newer > mine if self.is_delete else newer >= mine
        # No row: deleted by a tombstone at least as new as this change (the MERGE runs tombstones first,
        # so a tombstone alone is not enough while the row is still there).
        return tombstone_sequence is not None and _comparable(tombstone_sequence) >= mine


@dataclass
class Journey:
    """The journey of one order's changes since a save."""

    orderid: str
    saved_at: dt.datetime
    saved_stamp: dt.datetime | None = None  # the updated_at the save wrote
    events: dict[str, JourneyEvent] = field(default_factory=dict)
    read_keys: set[str] = field(default_factory=set)
    last_checked: dt.datetime | None = None
    last_error: str | None = None

    @property
    def saved_event(self) -> JourneyEvent | None:
        for event in self.events.values():
            if event.is_save:
                return event
        return None

    @property
    def complete(self) -> bool:
        """True once the saved change is queryable in Athena."""
        event = self.saved_event
        return event is not None and event.queryable_time is not None

    @property
    def absorbed(self) -> bool:
        """True once the saved change is in the Iceberg table `cdc_data.orders` (the journey's last step)."""
        event = self.saved_event
        return event is not None and event.iceberg_time is not None

    def ordered_events(self) -> list[JourneyEvent]:
        return sorted(self.events.values(), key=lambda e: (e.sequence_number.zfill(40), e.event_id))

    def rows(self) -> list[dict[str, Any]]:
        """One row per event with each stage's time and its delay after the DynamoDB write."""
        out = []
        for event in self.ordered_events():
            start = event.written_time
            row: dict[str, Any] = {
                "op": event.op,
                "quantity": event.quantity,
                "price": event.price,
                "this save": "yes" if event.is_save else "",
            }
            for stage, when in event.stage_times():
                if stage == "S3 object":
                    # S3 keeps LastModified in whole seconds (as AWS does): the object was written
                    # within that second, so show the second and an upper bound on the delay.
                    row[stage] = when.strftime("%H:%M:%S") if when else "…"
                    row[f"{stage} +s"] = (
                        f"≤ {(when + dt.timedelta(seconds=1) - start).total_seconds():.3f}"
                        if when and start else None
                    )
                    continue
                row[stage] = when.strftime("%H:%M:%S.%f")[:-3] if when else "…"
                if stage != STAGES[0]:
                    row[f"{stage} +s"] = (
                        round((when - start).total_seconds(), 3) if when and start else None
                    )
            row["S3 object key"] = event.s3_key or ""
            out.append(row)
        return out


def start(orderid: str, saved_at: dt.datetime | None = None, saved_stamp: str | None = None) -> Journey:
    """A journey for `orderid` saved at `saved_at` with item timestamp `saved_stamp` (as written)."""
    saved = saved_at or dt.datetime.now(dt.timezone.utc)
    return Journey(orderid=orderid, saved_at=saved, saved_stamp=parse_timestamp(saved_stamp))


def _same_instant(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    return a is not None and b is not None and abs((a - b).total_seconds()) < 0.0015


def _event_from_line(journey: Journey, record: dict[str, Any]) -> JourneyEvent:
    event = JourneyEvent(
        event_id=str(record.get("event_id") or ""),
        op=str(record.get("op") or ""),
        quantity=record.get("quantity"),
        price=record.get("price"),
        updated_at=parse_timestamp(record.get("updated_at")),
        event_time=parse_timestamp(record.get("event_time")),
        arrival_time=parse_timestamp(record.get("arrival_time")),
        sequence_number=str(record.get("sequence_number") or ""),
    )
    event.is_save = _same_instant(event.updated_at, journey.saved_stamp)
    return event


def _belongs(journey: Journey, event: JourneyEvent) -> bool:
    """An event of this order from the save onwards (older events of the order are not the journey)."""
    if event.is_save:
        return True
    when = event.updated_at or event.event_time
    return when is not None and when >= journey.saved_at - _SLACK


def scan_lake(journey: Journey, settings: Settings, factory: ClientFactory) -> None:
    """Read the lake objects written since the save (each once) for this order's lines."""
    objects = newest_objects(settings, factory, since=journey.saved_at - _SLACK)
    for obj in sorted(objects, key=lambda o: (o.last_modified, o.key)):
        if obj.key in journey.read_keys:
            continue
        for line in read_lines(factory, obj.key):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or str(record.get("orderid")) != journey.orderid:
                continue
            event = _event_from_line(journey, record)
            if not event.event_id or not _belongs(journey, event):
                continue
            known = journey.events.get(event.event_id)
            if known is None:
                event.s3_key, event.s3_time = obj.key, obj.last_modified
                journey.events[event.event_id] = event
            elif known.s3_time is None or obj.last_modified < known.s3_time:
                # A duplicate delivery: the journey shows when the change first landed.
                known.s3_key, known.s3_time = obj.key, obj.last_modified
        journey.read_keys.add(obj.key)


def check_queryable(journey: Journey, settings: Settings, analytics: Analytics, now: dt.datetime | None = None) -> None:
    """Ask Athena for the order's events; the first answer containing an event marks it queryable."""
    result = analytics.run(order_events_sql(settings, journey.orderid))
    answered = now or dt.datetime.now(dt.timezone.utc)
    for record in result.frame.to_dict("records"):
        event_id = str(record.get("event_id") or "")
        event = journey.events.get(event_id)
        if event is None:
            candidate = _event_from_line(journey, record)
            if not event_id or not _belongs(journey, candidate):
                continue
            # Queryable before this refresh saw its object: keep it, the lake scan fills in S3.
            journey.events[event_id] = event = candidate
        if event.queryable_time is None:
            event.queryable_time = answered


def _comparable(sequence: str) -> str:
    """A sequence number as text that sorts like the number it spells (as the MERGE's lpad does)."""
    return sequence.zfill(SEQUENCE_WIDTH)


def iceberg_state_sql(settings: Settings, orderid: str) -> str:
    """The order's row and tombstone in the Iceberg tables (O(live orders), never the history)."""
    db, key = quote_identifier(settings.glue_database), quote_literal(orderid)
    return f"""SELECT 'row' AS kind, sequence_number FROM {db}.{quote_identifier(ORDERS_TABLE)} WHERE orderid = {key}
UNION ALL
SELECT 'tombstone', sequence_number FROM {db}.{quote_identifier(TOMBSTONES_TABLE)} WHERE orderid = {key}"""


def check_iceberg(journey: Journey, settings: Settings, analytics: Analytics, now: dt.datetime | None = None) -> None:
    """Ask Athena for the order's Iceberg row and tombstone; mark the queryable events they have absorbed."""
    waiting = [e for e in journey.events.values() if e.iceberg_time is None and e.sequence_number]
    if not waiting:
        return
    frame = analytics.run(iceberg_state_sql(settings, journey.orderid)).frame
    answered = now or dt.datetime.now(dt.timezone.utc)
    found = {str(kind): str(sequence)
             for kind, sequence in zip(frame.get("kind", []), frame.get("sequence_number", []))}
    for event in waiting:
        if event.absorbed_by(found.get("row"), found.get("tombstone")):
            event.iceberg_time = answered


def refresh(
    journey: Journey,
    settings: Settings,
    factory: ClientFactory,
    analytics: Analytics | None = None,
    now: dt.datetime | None = None,
) -> Journey:
    """Bring the journey up to date; errors are kept as a sentence in `last_error`, never raised."""
    journey.last_error = None
    try:
        scan_lake(journey, settings, factory)
        pending = not journey.events or any(e.queryable_time is None for e in journey.events.values())
        if analytics is not None and pending:
            check_queryable(journey, settings, analytics, now=now)
            scan_lake(journey, settings, factory)
        if analytics is not None and journey.events:
            check_iceberg(journey, settings, analytics, now=now)
    except QueryError as exc:
        journey.last_error = str(exc)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, SalesCdcError) as exc:
        journey.last_error = explain(exc)
    journey.last_checked = now or dt.datetime.now(dt.timezone.utc)
    return journey
