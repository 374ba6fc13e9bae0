"""Trino's NaN semantics for doubles and reals, where DuckDB's differ.

DuckDB orders NaN above every number and equal to itself (a total order). Trino has
two rules, and each function picks one:

- Comparison and equality are Java's (IEEE 754, DoubleOperators): every comparison
  with NaN is false except <>, so `nan() = nan()`, `nan() IN (nan())`,
  `nan() BETWEEN 0 AND infinity()` are false, a simple CASE never matches NaN, and
  `nullif(nan(), nan())` is NaN.
- max, max_by, greatest and array_max skip NaN unless every value is NaN
  (MinMaxCompare: the max side compares with COMPARISON_UNORDERED_FIRST, NaN lowest;
  ArrayMaxFunction's doubleGreater). min, min_by, least and array_min put NaN last,
  as DuckDB does, so they already agree.

Each rule takes a node sqlglot typed (a double or real operand) and gives the DuckDB
expression with Trino's answer; typed.py runs them children first (see its
_children_first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from localcloud.athena.sql import refuse_at_run_time

T = exp.DataType.Type
FLOATS = {T.DOUBLE, T.FLOAT}
IEEE_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_DONE = "nan_checked"


def _type_of(node: exp.Expression) -> T | None:
    return node.type.this if node.type is not None else None


def _is_float(node: exp.Expression) -> bool:
    return _type_of(node) in FLOATS


def _isnan(value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="isnan", expressions=[value.copy()])


def _done(node: exp.Expression) -> exp.Expression:
    node.meta[_DONE] = True
    return node


def checked(node: exp.Expression) -> bool:
    return bool(node.meta.get(_DONE))


def ieee_comparison(node: exp.Binary) -> exp.Expression | None:
    """= <> < <= > >= with a double side: false with NaN (true for <>), as Java compares."""
    doubles = [side for side in (node.this, node.expression) if _is_float(side)]
    if not doubles:
        return None
    # Which side(s) DuckDB answers differently for: NaN is its largest value, so `NaN > x`, `NaN >= x`,
    # `x < NaN`, `x <= NaN` are true there; `x > NaN` and `NaN < x` are already false.
    if isinstance(node, (exp.GT, exp.GTE)):
        doubles = [node.this] if _is_float(node.this) else []
    elif isinstance(node, (exp.LT, exp.LTE)):
        doubles = [node.expression] if _is_float(node.expression) else []
    if not doubles:
        return None
    plain = _done(node.copy())
    nan = _isnan(doubles[0])
    if isinstance(node, exp.NEQ):
        return exp.Paren(this=exp.Or(this=plain, expression=nan))
    return exp.Paren(this=exp.And(this=plain, expression=exp.Not(this=nan)))


def between(node: exp.Between) -> exp.Expression | None:
    """x BETWEEN a AND b is (x >= a AND x <= b): false as soon as one of them is NaN.

    DuckDB's answer differs only when a double operand is NaN; adding NOT isnan(…) for each
    keeps its NULLs (NOT isnan(NULL) is NULL, and a BETWEEN with a NULL operand is never true).
    """
    floats = [side for side in (node.this, node.args["low"], node.args["high"]) if _is_float(side)]
    if not floats:
        return None
    answer: exp.Expression = _done(node.copy())
    for side in floats:
        answer = exp.And(this=answer, expression=exp.Not(this=_isnan(side)))
    return exp.Paren(this=answer)


def in_list(node: exp.In) -> exp.Expression | None:
    """x IN (…) is x = e1 OR x = e2 …: for a NaN x, NULL when an element is NULL, else false.

    Only a NaN x is answered differently by DuckDB (NaN IN (NaN) is true there); an element
    that is NaN equals no x in either engine. A subquery's NULLs are not known here, so a
    NaN x against a subquery is refused at run time.
    """
    if not _is_float(node.this):
        return None
    plain = _done(node.copy())
    if node.args.get("query") is not None or node.args.get("unnest") is not None:
        nan_answer: exp.Expression = exp.Cast(
            this=refuse_at_run_time("NOT_SUPPORTED", "a NaN on the left of IN (subquery) is not supported by "
                                    "the local Athena engine"), to=exp.DataType.build("BOOLEAN"))
    else:
        maybe_null = [element for element in node.expressions
                      if not (isinstance(element, exp.Literal) or _is_nonnull_literal(element))]
        nan_answer = exp.false()
        if maybe_null:
            any_null = exp.or_(*[exp.Is(this=element.copy(), expression=exp.Null()) for element in maybe_null])
            nan_answer = exp.Case(ifs=[exp.If(this=any_null, true=exp.Null())], default=exp.false())
    return exp.Case(ifs=[exp.If(this=_isnan(node.this), true=nan_answer)], default=plain)


def _is_nonnull_literal(node: exp.Expression) -> bool:
    """A number written with a sign or a cast of a literal, which is never NULL."""
    while isinstance(node, (exp.Neg, exp.Cast, exp.Paren)):
        node = node.this
    return isinstance(node, (exp.Literal, exp.Boolean))


def simple_case(node: exp.Case) -> exp.Expression | None:
    """CASE x WHEN v THEN … compares with =: as a searched CASE, its = gets Java's NaN rule."""
    subject = node.this
    if subject is None or not (_is_float(subject) or any(_is_float(branch.this) for branch in node.args["ifs"])):
        return None
    searched = _done(node.copy())
    searched.set("this", None)
    for branch in searched.args["ifs"]:
        equal = exp.EQ(this=subject.copy(), expression=branch.this)
        branch.set("this", ieee_comparison(equal) or equal)
    return searched


def nullif(node: exp.Nullif) -> exp.Expression | None:
    """nullif(a, b) is NULL only when a = b; NaN never equals NaN, so nullif(nan(), nan()) is NaN."""
    if not (_is_float(node.this) or _is_float(node.expression)):
        return None
    equal = exp.EQ(this=node.this.copy(), expression=node.expression.copy())
    equal = ieee_comparison(equal) or equal
    return _done(exp.Case(ifs=[exp.If(this=equal, true=exp.Null())], default=node.this.copy()))


def _nan_lowest(value: exp.Expression) -> exp.Expression:
    """A sort key over a double that puts NaN below every number; NULL stays NULL."""
    key = exp.Struct(expressions=[
        exp.PropertyEQ(this=exp.to_identifier("n"), expression=exp.Not(this=_isnan(value))),
        exp.PropertyEQ(this=exp.to_identifier("v"), expression=value.copy())])
    return exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null())],
                    default=key)


def _value_of(key: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="struct_extract", expressions=[key, exp.Literal.string("v")])


def aggregate_unit(node: exp.Expression, kind: type) -> tuple[exp.Expression, exp.Expression] | None:
    """(the aggregate of `kind` in `node`, a copy of `node` and that aggregate's copy inside it).

    `node` is an aggregate's outermost part: its Window, else its Filter, else the aggregate.
    None when `node` holds no such aggregate, or is that aggregate or Filter inside a Window
    or Filter (which is rewritten whole instead: a value taken from it must be taken outside
    the OVER and FILTER clauses).
    """
    aggregate = node.this if isinstance(node, exp.Window) else node
    aggregate = aggregate.this if isinstance(aggregate, exp.Filter) else aggregate
    if not isinstance(aggregate, kind) or checked(aggregate):
        return None
    if not isinstance(node, exp.Window) and isinstance(node.parent, (exp.Filter, exp.Window)) \
            and node.parent.this is node:
        return None
    whole = node.copy()
    inner = whole.this if isinstance(whole, exp.Window) else whole
    inner = inner.this if isinstance(inner, exp.Filter) else inner
    return whole, _done(inner)


def maximum(node: exp.Expression) -> exp.Expression | None:
    """max(x) of doubles (alone, with FILTER or OVER): the largest number, NaN only when all are NaN."""
    unit = aggregate_unit(node, exp.Max)
    if unit is None:
        return None
    whole, inner = unit
    if inner.expressions or inner.args.get("count") or not _is_float(inner.this):
        return None
    inner.set("this", _nan_lowest(inner.this))
    return exp.Cast(this=_value_of(whole), to=inner.type.copy())


def max_by(node: exp.ArgMax) -> exp.Expression | None:
    """max_by(x, key) with double keys: NaN keys lose to every number (win only when all are NaN)."""
    if checked(node) or node.args.get("count") is not None or not _is_float(node.expression):
        return None
    rewritten = _done(node.copy())
    rewritten.set("expression", _nan_lowest(node.expression))
    return rewritten


def greatest(node: exp.Greatest) -> exp.Expression | None:
    """greatest(…) of doubles: the largest number, NaN only when all are NaN; NULL if one is NULL."""
    kinds = {_type_of(argument) for argument in [node.this, *node.expressions]}
    if checked(node) or not kinds & FLOATS:
        return None
    # A double among the arguments makes the result a double (sqlglot may type greatest(double,
    # decimal) as the decimal); reals alone (with integers or decimals) give a real.
    target = exp.DataType.build("DOUBLE" if T.DOUBLE in kinds else "REAL")
    rewritten = _done(node.copy())
    rewritten.set("this", _nan_lowest(exp.Cast(this=node.this.copy(), to=target.copy())))
    rewritten.set("expressions", [_nan_lowest(exp.Cast(this=e.copy(), to=target.copy())) for e in node.expressions])
    return exp.Cast(this=_value_of(rewritten), to=target)


def array_max(node: exp.ArrayMax) -> exp.Expression | None:
    """array_max of doubles: the largest number, NaN only when every element is NaN (doubleGreater)."""
    array_type = node.this.type
    if checked(node) or array_type is None or array_type.this != T.ARRAY or not array_type.expressions \
            or array_type.expressions[0].this not in FLOATS:
        return None
    numbers = exp.Anonymous(this="list_filter", expressions=[
        node.this.copy(), exp.Lambda(this=exp.Not(this=_isnan(exp.column("_m"))),
                                     expressions=[exp.to_identifier("_m")])])
    numbers.meta["duckdb"] = True
    largest_number = _done(exp.ArrayMax(this=numbers))
    return exp.Coalesce(this=largest_number, expressions=[_done(node.copy())])



RULES: dict[type, Callable[[Any], exp.Expression | None]] = {
    **{comparison: ieee_comparison for comparison in IEEE_COMPARISONS},
    exp.Between: between, exp.In: in_list, exp.Case: simple_case, exp.Nullif: nullif,
    exp.Window: maximum, exp.Filter: maximum, exp.Max: maximum, exp.ArgMax: max_by,
    exp.Greatest: greatest, exp.ArrayMax: array_max,
}
