"""The Orders page's edit session: loaded rows, the grid's edits, what a save did to each row.

A person loads a page of orders, edits cells, adds and deletes rows in a grid, and
saves. This module keeps what that needs, as plain data a page can hold between
reruns, and knows nothing of Streamlit:

* `loaded` — the items exactly as read (the baseline every conditional write
  compares against; prices stay exact Decimals);
* `rows` — the working rows the grid shows: the editable columns, `updated_at`,
  a `message` with the row's last outcome, and a hidden `_base` pointing at the
  row's loaded item (None for a row added in the grid);
* `version` — bumped whenever `rows` is replaced, so the grid starts afresh.

`save` takes the grid's edits in Streamlit's data-editor form (`edited_rows` by
position, `added_rows`, `deleted_rows`), works out the `Changes` (a row counts as
edited only when a value really differs), lets `OrderRepository.save` validate
and write them, and folds the one outcome per row back into the rows and the
baseline: a saved row shows its new value, a conflict shows the item's current
value (which becomes the new baseline), an invalid or failed row keeps what the
person typed with the reason next to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from salescdc.errors import explain
from salescdc.order_rules import EDITABLE, KEY, is_missing, plain, to_decimal
from salescdc.orders import CONFLICT, SAVED, Changes, RowOutcome, RowStatus, describe

SHOWN = (KEY, *EDITABLE, "updated_at")
BASE = "_base"
MESSAGE = "message"
_VALUES = (KEY, *EDITABLE)


class Saver(Protocol):
    """What a save needs from the repository (OrderRepository is one)."""

    def save(self, changes: Changes, now: dt.datetime | None = None) -> list[RowOutcome]: ...


class OutcomeLine(NamedTuple):
    """One line of the 'Last save' table."""

    status: str
    action: str
    orderid: str
    outcome: str


@dataclass(frozen=True)
class SaveResult:
    """What one press of Save did."""

    outcomes: list[RowOutcome]
    nothing_to_save: bool = False
    error: str | None = None  # the whole save failed (e.g. the table is missing)

    @property
    def followed(self) -> RowOutcome | None:
        """The first saved edit or addition: the change whose journey to the lake is worth showing."""
        return next((o for o in self.outcomes if o.ok and o.action in ("edit", "add")), None)

    def summary(self) -> str:
        """One sentence for a toast."""
        if self.nothing_to_save:
            return "Nothing to save."
        if self.error:
            return f"Save failed: {self.error}"
        saved = sum(1 for o in self.outcomes if o.ok)
        rest = len(self.outcomes) - saved
        return f"Saved {saved} of {len(self.outcomes)} changed rows" + (
            f"; {rest} need attention (see the message on each row)." if rest else "."
        )


def row_view(item: Mapping[str, Any], base: int | None, message: str = "") -> dict[str, Any]:
    """An item as a grid row; the grid works in floats, the baseline keeps the exact Decimal."""
    price = item.get("price")
    number = to_decimal(price)
    return {
        BASE: base,
        KEY: item.get(KEY, ""),
        "product_name": item.get("product_name", ""),
        "quantity": item.get("quantity"),
        "price": float(number) if number is not None else price,
        "updated_at": item.get("updated_at", ""),
        MESSAGE: message,
    }


def _blank(row: Mapping[str, Any]) -> bool:
    return all(row.get(c) in (None, "") for c in _VALUES)


def _same_number(before: Any, after: Any) -> bool:
    a, b = to_decimal(before), to_decimal(after)
    if a is not None and b is not None:
        return a == b
    return _same_text(before, after)


def _same_text(before: Any, after: Any) -> bool:
    return ("" if is_missing(before) else before) == ("" if is_missing(after) else after)


def differs(loaded: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    """True when a grid row's values differ from its loaded item (193.72 as float equals Decimal 193.72)."""
    for column in _VALUES:
        same = _same_number if column in ("quantity", "price") else _same_text
        if not same(loaded.get(column), row.get(column)):
            return True
    return False


def _mark(outcome: RowOutcome) -> str:
    return f"{outcome.status}: {outcome.message}"


def outcome_line(outcome: RowOutcome) -> OutcomeLine:
    text = outcome.message or ("saved" if outcome.ok else str(outcome.status))
    if outcome.status == CONFLICT and outcome.current and outcome.action != "edit":
        text += f" (current: {describe(outcome.current)})"
    return OutcomeLine(str(outcome.status), outcome.action, outcome.orderid, text)


@dataclass
class EditSession:
    """One person's page of orders in the grid (see the module docstring)."""

    loaded: list[dict[str, Any]] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    last_save: list[OutcomeLine] = field(default_factory=list)

    # -- loading ----------------------------------------------------------
    def load(self, items: Iterable[Mapping[str, Any]]) -> None:
        """A fresh page: the items become the baseline and the rows."""
        self.loaded = [dict(item) for item in items]
        self.rows = [row_view(item, i) for i, item in enumerate(self.loaded)]
        self.version += 1

    def clear(self) -> None:
        """Nothing loaded (e.g. the table could not be read)."""
        self.loaded, self.rows = [], []
        self.version += 1

    # -- the grid's edits -----------------------------------------------------
    def rows_after(self, edits: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """The working rows with the grid's edits applied (Streamlit's data-editor state form)."""
        edits = edits or {}
        deleted = {int(i) for i in edits.get("deleted_rows", []) or []}
        edited = {int(k): dict(v) for k, v in (edits.get("edited_rows", {}) or {}).items()}
        rows = [
            {**row, **edited.get(i, {})} for i, row in enumerate(self.rows) if i not in deleted
        ]
        rows += [{**{c: None for c in SHOWN}, MESSAGE: "", **dict(added), BASE: None}
                 for added in edits.get("added_rows", []) or []]
        return [{k: plain(v) for k, v in row.items()} for row in rows]

    def changes(self, rows: list[dict[str, Any]]) -> Changes:
        """Working rows (after the grid's edits) against the baseline -> what to write."""
        loaded = self.loaded or []
        changes = Changes()
        kept: set[int] = set()
        for row in rows:
            base = row.get(BASE)
            if base is None:
                if not _blank(row):
                    changes.added.append({c: row.get(c) for c in _VALUES})
                continue
            kept.add(int(base))
            before = loaded[int(base)]
            if differs(before, row):
                changes.edited.append((before, {**before, **{c: row.get(c) for c in _VALUES}}))
        shown = {int(r[BASE]) for r in self.rows if r.get(BASE) is not None}
        changes.deleted.extend(loaded[base] for base in sorted(shown - kept))
        return changes

    # -- saving -----------------------------------------------------------
    def save(self, repo: Saver, edits: Mapping[str, Any] | None, now: dt.datetime | None = None) -> SaveResult:
        """Write the grid's edits; every row gets its outcome, the whole save fails only if the table does."""
        rows = self.rows_after(edits)
        changes = self.changes(rows)
        if not changes:
            return SaveResult([], nothing_to_save=True)
        try:
            outcomes = repo.save(changes, now=now)
        except Exception as exc:  # noqa: BLE001 - the table is unusable: one sentence, the rows stay as typed
            sentence = explain(exc)
            self.last_save = [OutcomeLine(str(RowStatus.FAILED), "", "", sentence)]
            return SaveResult([], error=sentence)
        self.apply(changes, rows, outcomes)
        self.last_save = [outcome_line(o) for o in outcomes]
        return SaveResult(outcomes)

    def apply(self, changes: Changes, rows: list[dict[str, Any]], outcomes: list[RowOutcome]) -> None:
        """The save's outcomes back into the baseline and the rows, with a message per row."""
        before: list[dict[str, Any]] = self.loaded or []
        loaded = list(before)
        n_edit, n_add = len(changes.edited), len(changes.added)
        edit_out, add_out, del_out = outcomes[:n_edit], outcomes[n_edit:n_edit + n_add], outcomes[n_edit + n_add:]
        by_base = {id(pair[0]): o for pair, o in zip(changes.edited, edit_out)}
        added = iter(add_out)
        new_rows: list[dict[str, Any]] = []
        for row in rows:
            base = row.get(BASE)
            if base is None:
                if _blank(row):
                    continue
                outcome = next(added)
                if outcome.status == SAVED and outcome.item is not None:
                    loaded.append(outcome.item)
                    new_rows.append(row_view(outcome.item, len(loaded) - 1, "added"))
                else:
                    new_rows.append({**row, MESSAGE: _mark(outcome)})
                continue
            base = int(base)
            edit = by_base.get(id(before[base]))
            if edit is None:
                new_rows.append({**row, BASE: base, MESSAGE: ""})
            elif edit.status == SAVED and edit.item is not None:
                loaded[base] = edit.item
                new_rows.append(row_view(edit.item, base, "saved"))
            elif edit.status == CONFLICT:
                if edit.current is None:
                    continue  # deleted by someone else: the outcome list says so
                loaded[base] = edit.current  # the current value becomes the new baseline
                new_rows.append(row_view(edit.current, base, _mark(edit)))
            else:
                new_rows.append({**row, BASE: base, MESSAGE: _mark(edit)})
        for deleted, outcome in zip(changes.deleted, del_out):
            if outcome.status == CONFLICT and outcome.current is not None:
                loaded.append(outcome.current)
                new_rows.append(row_view(outcome.current, len(loaded) - 1, _mark(outcome)))
            elif outcome.status != SAVED:
                base = next(i for i, item in enumerate(before) if item is deleted)
                new_rows.append(row_view(deleted, base, _mark(outcome)))
        self.loaded = loaded
        self.rows = new_rows
        self.version += 1
