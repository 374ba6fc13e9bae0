"""Trino's decimal(p, s) of an expression, computed only where it is certain.

The functions whose result type Trino derives from a decimal argument's precision and scale
(round, ceiling, floor, truncate, sign, avg; MathFunctions.java) need that argument's exact
type. sqlglot's type annotation cannot give it: it types `price * price` and `sum(price)` as
`price`'s own decimal(10,2) (Trino: decimal(20,4) and decimal(38,2)), and that made
avg(x * x) answer 1.56 where Trino answers 1.5625. So the type is derived here, bottom up,
with Trino's rules (https://trino.io/docs/current/language/types.html#decimal and the
operators' signatures), and only from what is known for sure:

- a CAST to decimal(p, s) (DECIMAL '1.25' and 1.25 arrive as such casts);
- a catalog column (the annotation has its Glue type), or a derived table's, CTE's or VALUES
  column, traced to the expression it stands for;
- integers beside a decimal, as Trino coerces them: tinyint decimal(3,0), smallint (5,0),
  integer (10,0), bigint (19,0); an integer literal is an integer (bigint when it needs to be);
- + and -: decimal(min(38, max(p1 - s1, p2 - s2) + max(s1, s2) + 1), max(s1, s2));
  *: decimal(min(38, p1 + p2), s1 + s2); unary minus, abs, min, max, avg: the operand's;
  sum: decimal(38, s);
- round(x): decimal(min(38, p - s + min(1, s)), 0); round(x, n): decimal(min(38, p + 1), s);
  ceiling, floor: decimal(p - s + min(s, 1), 0); truncate(x): decimal(max(1, p - s), 0);
  truncate(x, n): decimal(p, s); sign: decimal(1, 0).

- x / y: decimal(min(38, p1 + s2 + max(s2 - s1, 0)), max(s1, s2)), when decimals.py will make it exact;
  x % y: decimal(min(p2 - s2, p1 - s1) + max(s1, s2), max(s1, s2)).

Anything else (CASE, COALESCE, UNION columns, …) is "not certain": None.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

T = exp.DataType.Type
Decimal = tuple[int, int]

_INTEGER_DIGITS = {T.TINYINT: 3, T.SMALLINT: 5, T.INT: 10, T.BIGINT: 19}
_MAX_PRECISION = 38


def literal_integer(node: exp.Expression) -> int | None:
    """The value of an integer literal (a negative one too), else None."""
    negative = False
    while isinstance(node, (exp.Neg, exp.Paren)):
        negative ^= isinstance(node, exp.Neg)
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return -int(node.this) if negative else int(node.this)
    return None


def declared_decimal(data_type: exp.DataType | None) -> Decimal | None:
    """(p, s) of a decimal(p, s) data type; None for any other (or a decimal without both)."""
    if data_type is None or data_type.this != T.DECIMAL or len(data_type.expressions) != 2:
        return None
    try:
        return int(data_type.expressions[0].name), int(data_type.expressions[1].name)
    except ValueError:
        return None


class DecimalTypes:
    """Trino's decimal types in one annotated, qualified tree (typed._typed's); `of(node)` for any node in it."""

    def __init__(self, typed_tree: exp.Expression):
        # Each column node -> the expression it stands for (a derived table's projection, a VALUES
        # cell list), or the column itself when it is a catalog table's (its annotation is the catalog's).
        self._meaning: dict[int, exp.Expression | list[exp.Expression] | None] = {}
        try:
            scopes = list(traverse_scope(typed_tree))
        except Exception:  # scope analysis is best effort, like the annotation: nothing is certain then
            scopes = []
        for scope in scopes:
            for column in scope.columns:
                self._meaning[id(column)] = self._trace(scope.sources.get(column.table), column)

    @staticmethod
    def _trace(source: object, column: exp.Column) -> exp.Expression | list[exp.Expression] | None:
        if isinstance(source, exp.Table):
            return column
        if not isinstance(source, Scope):
            return None
        body = source.expression
        if isinstance(body, exp.Select):
            for projection in body.selects:
                if projection.alias_or_name == column.name:
                    return projection.unalias() if isinstance(projection, exp.Alias) else projection
            return None
        if isinstance(body, exp.Values):
            alias = body.args.get("alias")
            names = [c.name for c in alias.columns] if alias is not None else []
            if column.name not in names:
                return None
            index = names.index(column.name)
            cells = []
            for row in body.expressions:
                items = row.expressions if isinstance(row, exp.Tuple) else [row]
                if index >= len(items):
                    return None
                cells.append(items[index])
            return cells
        return None  # a UNION's column takes a common type: not certain

    # -- integers (only as operands beside a decimal) -------------------------------------------------
    def _integer_digits(self, node: exp.Expression) -> int | None:
        value = literal_integer(node)
        if value is not None:
            return 10 if -2 ** 31 <= value < 2 ** 31 else 19
        if isinstance(node, exp.Cast) and node.to.this in _INTEGER_DIGITS:
            return _INTEGER_DIGITS[node.to.this]
        if isinstance(node, exp.Column) and self._meaning.get(id(node)) is node and node.type is not None:
            return _INTEGER_DIGITS.get(node.type.this)
        return None

    def operand(self, node: exp.Expression) -> Decimal | None:
        """(p, s) of a decimal of certain type, or of an integer as Trino coerces it beside a decimal."""
        found = self.of(node)
        if found is not None:
            return found
        digits = self._integer_digits(node)
        return (digits, 0) if digits is not None else None

    # -- decimals ---------------------------------------------------------------------------------
    def of(self, node: exp.Expression) -> Decimal | None:
        """Trino's (precision, scale) of `node` when it is certainly a decimal of that type, else None."""
        if isinstance(node, exp.Paren):
            return self.of(node.this)
        if isinstance(node, exp.Cast):
            return declared_decimal(node.to)
        if isinstance(node, exp.Column):
            return self._column(node)
        if isinstance(node, (exp.Neg, exp.Abs, exp.Max, exp.Min, exp.Avg)):
            return self.of(node.this)
        if isinstance(node, exp.Sum):
            inner = self.of(node.this)
            return (_MAX_PRECISION, inner[1]) if inner is not None else None
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
            return self._arithmetic(node)
        if isinstance(node, exp.Div):
            return self._division(node)
        if isinstance(node, exp.Mod):
            return self._modulus(node)
        return self.result_of_rounding(node)

    def _modulus(self, node: exp.Mod) -> Decimal | None:
        """x % y: decimal(min(p2 - s2, p1 - s1) + max(s1, s2), max(s1, s2)) (DecimalOperators' modulus)."""
        left, right = self.operand(node.this), self.operand(node.expression)
        if left is None or right is None or (self.of(node.this) is None and self.of(node.expression) is None):
            return None
        (p1, s1), (p2, s2) = left, right
        return min(p2 - s2, p1 - s1) + max(s1, s2), max(s1, s2)

    def _division(self, node: exp.Div) -> Decimal | None:
        """x / y: decimal(min(38, p1 + s2 + max(s2 - s1, 0)), max(s1, s2)), but only when decimals.py will
        make this division exact with these very scales (it runs later, and leaves any other to DuckDB)."""
        from localcloud.athena import decimals

        left, right = self.operand(node.left), self.operand(node.right)
        if left is None or right is None or (self.of(node.left) is None and self.of(node.right) is None):
            return None
        if not (decimals._is_decimal(node.left) or decimals._is_decimal(node.right)) or \
                (decimals._scale(node.left, self), decimals._scale(node.right, self)) != (left[1], right[1]):
            return None
        s1, s2 = left[1], right[1]
        scale = max(s1, s2)
        written = decimals._precision(node.left, self)  # the precision the rewrite will declare (38 when unsure)
        precision = 38 if written is None else max(min(_MAX_PRECISION, written + s2 + max(s2 - s1, 0)), scale, 1)
        return precision, scale

    def _column(self, node: exp.Column) -> Decimal | None:
        meaning = self._meaning.get(id(node))
        if meaning is node:
            return declared_decimal(node.type)
        if isinstance(meaning, list):
            types = {self.of(cell) for cell in meaning}
            return types.pop() if len(types) == 1 else None
        return self.of(meaning) if isinstance(meaning, exp.Expression) else None

    def _arithmetic(self, node: exp.Binary) -> Decimal | None:
        left, right = self.operand(node.left), self.operand(node.right)
        if left is None or right is None or (left[1] == 0 and right[1] == 0 and
                                             self.of(node.left) is None and self.of(node.right) is None):
            return None  # two integers make an integer, not a decimal
        (p1, s1), (p2, s2) = left, right
        if isinstance(node, exp.Mul):
            if s1 + s2 > _MAX_PRECISION:
                return None
            return min(_MAX_PRECISION, p1 + p2), s1 + s2
        return min(_MAX_PRECISION, max(p1 - s1, p2 - s2) + max(s1, s2) + 1), max(s1, s2)

    def result_of_rounding(self, node: exp.Expression) -> Decimal | None:
        """Trino's type of round/ceiling/floor/truncate/sign of a decimal argument of certain type, else None."""
        if not isinstance(node, (exp.Round, exp.Ceil, exp.Floor, exp.Trunc, exp.Sign)):
            return None
        argument = self.of(node.this)
        if argument is None:
            return None
        p, s = argument
        places = node.args.get("decimals")
        if isinstance(node, exp.Sign):
            return 1, 0
        if isinstance(node, (exp.Ceil, exp.Floor)):
            return (p - s + min(s, 1), 0) if places is None else None
        if isinstance(node, exp.Round):
            if places is None:
                return min(_MAX_PRECISION, p - s + min(1, s)), 0
            return (min(_MAX_PRECISION, p + 1), s) if literal_integer(places) is not None else None
        if places is None:  # truncate
            return max(1, p - s), 0
        return (p, s) if literal_integer(places) is not None else None
