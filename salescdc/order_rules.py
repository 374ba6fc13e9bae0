"""What makes an order's values acceptable, in one place for the Orders page and the generator.

The limits come from where the values go, so that no saved order can stall or
poison the pipeline downstream:

* orderid: 1..256 characters (a Kinesis partition key is at most 256 characters
  and the pipe uses the orderid as one) and no surrounding whitespace (such a key
  is easy to type and then impossible to find or delete by the orderid a person sees);
* quantity: a whole number from 1 to 2,147,483,647 (the lake's `int` column);
* price: from 0.01 to 99,999,999.99 with at most two decimals (the lake's
  `decimal(10,2)` column), so 1e40, -0, NaN and Infinity are refused.

`normalize` turns one row (editor values: text, floats, Decimals, pandas NA)
into item values plus one sentence per broken rule; it never raises.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Mapping
from typing import Any

KEY = "orderid"
# The attributes a person edits; anything else on an item is carried through untouched.
EDITABLE = ("product_name", "quantity", "price")

MAX_ORDERID_CHARS = 256
MAX_QUANTITY = 2**31 - 1
MIN_PRICE = decimal.Decimal("0.01")
MAX_PRICE = decimal.Decimal("99999999.99")
_CENT = decimal.Decimal("0.01")


def is_missing(value: Any) -> bool:
    """None, NaN, and pandas' NA/NaT (without importing pandas here)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, (str, bytes, list, dict, tuple, set, decimal.Decimal, numbers.Number)):
        return False
    try:  # pandas NA / NaT
        import pandas as pd

        return bool(pd.isna(value))
    except (ImportError, TypeError, ValueError):
        return False


def plain(value: Any) -> Any:
    """An editor cell as a plain Python value: missing -> None, numpy scalars -> int/float."""
    if is_missing(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes, decimal.Decimal)):
        return value.item()
    return value


def to_decimal(value: Any) -> decimal.Decimal | None:
    """A number as an exact finite Decimal, or None: floats go through their shortest repr (193.72 stays 193.72)."""
    if is_missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, decimal.Decimal):
        return value if value.is_finite() else None
    if isinstance(value, numbers.Integral):
        return decimal.Decimal(int(value))
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            return None
        return decimal.Decimal(repr(float(value)))
    if isinstance(value, str):
        try:
            number = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def clean_text(value: Any) -> str:
    """A text cell with surrounding whitespace removed ('' when missing)."""
    return "" if is_missing(value) else str(value).strip()


def orderid_problem(value: Any) -> str | None:
    """Why this orderid cannot be saved, or None."""
    text = "" if is_missing(value) else str(value)
    if not text.strip():
        return "orderid must not be empty."
    if text != text.strip():
        return f"orderid must not start or end with spaces, not {text!r}."
    if len(text) > MAX_ORDERID_CHARS:
        return f"orderid must be at most {MAX_ORDERID_CHARS} characters (a Kinesis partition key), not {len(text)}."
    return None


def quantity_problem(quantity: decimal.Decimal | None) -> str | None:
    """Why this quantity cannot be saved, or None."""
    rule = f"quantity must be a whole number from 1 to {MAX_QUANTITY:,}"
    if quantity is None:
        return rule + "."
    if quantity != quantity.to_integral_value() or not 1 <= quantity <= MAX_QUANTITY:
        return f"{rule}, not {quantity}."
    return None


def price_problem(price: decimal.Decimal | None) -> str | None:
    """Why this price cannot be saved, or None. Comparisons come before quantize, which fails on 1e40."""
    if price is None:
        return f"price must be a number from {MIN_PRICE} to {MAX_PRICE:,}."
    if price < 0:
        return f"price must not be negative, not {price}."
    if price < MIN_PRICE:
        return f"price must be at least {MIN_PRICE}, not {price}."
    if price > MAX_PRICE:
        return f"price must be at most {MAX_PRICE:,} (the lake's decimal(10,2)), not {price}."
    if price != price.quantize(_CENT):
        return f"price must have at most 2 decimals, not {price}."
    return None


def normalize(row: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A row -> (item values, messages). Messages empty means valid; never raises.

    Rules: orderid as above; product non-empty; quantity and price within the lake's types.
    """
    messages: list[str] = []
    item: dict[str, Any] = {}

    raw_orderid = row.get(KEY)
    problem = orderid_problem(raw_orderid)
    if problem:
        messages.append(problem)
    item[KEY] = clean_text(raw_orderid) if problem else str(raw_orderid)

    product = clean_text(row.get("product_name"))
    if not product:
        messages.append("product_name must not be empty.")
    item["product_name"] = product

    quantity = to_decimal(row.get("quantity"))
    problem = quantity_problem(quantity)
    if problem:
        messages.append(problem)
    else:
        item["quantity"] = int(quantity)  # type: ignore[arg-type]  # checked above

    price = to_decimal(row.get("price"))
    problem = price_problem(price)
    if problem:
        messages.append(problem)
    else:
        item["price"] = price
    return item, messages
