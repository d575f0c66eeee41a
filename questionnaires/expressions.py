"""The skip-logic and constraint language: a small, safe subset of XLSForm/XPath expressions.

Expressions decide whether a question is shown (``relevant``) and whether an answer is
acceptable (``constraint``). They map one to one onto XLSForm's ``relevant`` and ``constraint``
columns, so a questionnaire exported to ODK/KoboToolbox behaves the same there. The language is
parsed by a tokenizer and a recursive-descent parser, never by Python's ``eval``; the browser runs
the same grammar in ``survey/static/js/skiplogic.js`` and both are checked against the shared cases
in ``tests/questionnaires/skiplogic_cases.json``.

Grammar (lowest precedence first)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := comparison ("and" comparison)*
    comparison := additive (("=" | "!=" | "<" | "<=" | ">" | ">=") additive)?
    additive   := multiplicative (("+" | "-") multiplicative)*
    multiplicative := unary (("*" | "div" | "mod") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | "${" NAME "}" | PATH | "." | FUNCTION "(" [expr ("," expr)*] ")"
                | COLUMN | "(" expr ")"

``PATH`` is an XPath path to a question as ODK forms write them (``/data/group/age``,
``../age``): it means the question named by its last step, as ``${age}`` does. ``COLUMN`` is a
bare name, which only a ``choice_filter`` may use: a column of the choices sheet of the choice
being filtered (``district = ${district}``). Typographic quotes (‘ ’ “ ”), which spreadsheets
put in for straight ones, are read as straight quotes.

Functions (as in ODK; see :data:`FUNCTIONS`): ``selected(${q}, 'v')``, ``selected-at``,
``count-selected``, ``string-length``, ``not``, ``true()``, ``false()``, ``boolean``,
``boolean-from-string``, ``number``, ``int``, ``round``, ``floor``, ``ceiling``, ``abs``, ``pow``,
``min``, ``max``, ``sqrt``, ``exp``, ``log``, ``log10``, ``sin``, ``cos``, ``tan``, ``asin``, ``acos``,
``atan``, ``atan2``, ``pi()``, ``string``, ``concat``, ``contains``, ``starts-with``, ``ends-with``,
``substr``, ``normalize-space``, ``regex(x, 'pattern')``, ``if(c, a, b)``, ``coalesce(a, b)``,
``once(x)``, ``today()``, ``now()``, ``date(x)``.

Values and rules (identical in the browser):

* an unanswered question (``None``, ``''``) is *empty*; ``empty = ''`` is true, any other
  comparison with an empty value is false (``!=`` is its negation);
* ``=``/``!=``: booleans compare by truth; if either side is a number, both are compared as
  numbers (a non-numeric string is never equal to a number); otherwise as strings;
* ``<``, ``<=``, ``>``, ``>=``: as numbers when both sides are numeric, as strings when both are
  non-numeric strings (ISO dates compare correctly), otherwise false;
* arithmetic works on numbers; anything non-numeric gives NaN; division or ``mod`` by zero gives
  NaN; NaN is false;
* a multiple-choice answer is a list; ``selected`` compares its items as text (``4`` and ``'4'`` are
  the same choice);
* an ISO date (``2025-03-09``) used as a number is its count of days since 1970-01-01, as in ODK,
  so ``today() - ${birth_date}`` is an age in days; ``today()`` is the date in Vietnam
  (UTC+07:00) unless the caller passes the day; ``round`` rounds halves up on both sides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

__all__ = ["ExpressionError", "choice_names", "evaluate", "normalise_quotes", "parse", "references", "validate"]

VIETNAM = timezone(timedelta(hours=7), "ICT")
_EPOCH = date(1970, 1, 1)
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'})

_NUMERIC = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)\s*$")
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][A-Za-z0-9_.\-]*)\})
  | (?P<number>\d+(\.\d*)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<path>(?:\.\./|/)(?:(?:[A-Za-z_][A-Za-z0-9_\-]*|\.\.)/)*[A-Za-z_][A-Za-z0-9_\-]*)
  | (?P<dot>\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
    """,
    re.VERBOSE,
)
FUNCTIONS: Mapping[str, tuple[int, int]] = {
    "selected": (2, 2),
    "count-selected": (1, 1),
    "string-length": (1, 1),
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "number": (1, 1),
    "regex": (2, 2),
    "if": (3, 3),
    "coalesce": (2, 2),
    "concat": (0, 99),
    "string": (1, 1),
    "int": (1, 1),
    "round": (1, 2),
    "floor": (1, 1),
    "ceiling": (1, 1),
    "abs": (1, 1),
    "pow": (2, 2),
    "sqrt": (1, 1),
    "exp": (1, 1),
    "log": (1, 1),
    "log10": (1, 1),
    "sin": (1, 1),
    "cos": (1, 1),
    "tan": (1, 1),
    "asin": (1, 1),
    "acos": (1, 1),
    "atan": (1, 1),
    "atan2": (2, 2),
    "pi": (0, 0),
    "min": (1, 99),
    "max": (1, 99),
    "contains": (2, 2),
    "starts-with": (2, 2),
    "ends-with": (2, 2),
    "substr": (2, 3),
    "normalize-space": (1, 1),
    "selected-at": (2, 2),
    "boolean": (1, 1),
    "boolean-from-string": (1, 1),
    "once": (1, 1),
    "today": (0, 0),
    "now": (0, 0),
    "date": (1, 1),
}
"""Every function the language knows, with its (minimum, maximum) number of arguments."""
_KEYWORDS = frozenset({"and", "or", "div", "mod"})


class ExpressionError(ValueError):
    """An expression cannot be parsed; the message gives the position and what was expected."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "ref" | "number" | "string" | "op" | "dot" | "name" | "end"
    value: str
    pos: int


# An AST node is a tuple: ("num", float) ("str", str) ("ref", name) ("dot",) ("neg", node)
# ("call", name, (args...)) ("bin", op, left, right).
Node = tuple[Any, ...]


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {text[pos]!r} at position {pos + 1} in {text!r}")
        kind = m.lastgroup or ""
        if kind == "refname":  # pragma: no cover - lastgroup names the outer group
            kind = "ref"
        if kind == "path":
            kind, value = "ref", m.group(0).rsplit("/", 1)[1]
            out.append(_Token(kind, value, pos))
        elif kind != "ws":
            value = m.group("refname") if kind == "ref" else m.group(0)
            if kind == "string":
                value = value[1:-1]
            out.append(_Token(kind, value, pos))
        pos = m.end()
    out.append(_Token("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, tok: _Token, expected: str) -> ExpressionError:
        found = "the end" if tok.kind == "end" else repr(tok.value)
        return ExpressionError(f"expected {expected} at position {tok.pos + 1} but found {found} in {self.text!r}")

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "name" and tok.value == word

    def expect_op(self, op: str) -> None:
        tok = self.next()
        if tok.kind != "op" or tok.value != op:
            raise self.error(tok, repr(op))

    def parse(self) -> Node:
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(tok, "an operator or the end")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.is_word("or"):
            self.next()
            node = ("bin", "or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.comparison()
        while self.is_word("and"):
            self.next()
            node = ("bin", "and", node, self.comparison())
        return node

    def comparison(self) -> Node:
        node = self.additive()
        tok = self.peek()
        if tok.kind == "op" and tok.value in {"=", "!=", "<", "<=", ">", ">="}:
            self.next()
            node = ("bin", tok.value, node, self.additive())
            nxt = self.peek()
            if nxt.kind == "op" and nxt.value in {"=", "!=", "<", "<=", ">", ">="}:
                raise self.error(nxt, "'and' or 'or' (comparisons do not chain)")
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.peek().kind == "op" and self.peek().value in {"+", "-"}:
            op = self.next().value
            node = ("bin", op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while (self.peek().kind == "op" and self.peek().value == "*") or self.is_word("div") or self.is_word("mod"):
            op = self.next().value
            node = ("bin", op, node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.value == "-":
            self.next()
            return ("neg", self.unary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind == "number":
            return ("num", float(tok.value))
        if tok.kind == "string":
            return ("str", tok.value)
        if tok.kind == "ref":
            return ("ref", tok.value)
        if tok.kind == "dot":
            return ("dot",)
        if tok.kind == "op" and tok.value == "(":
            node = self.or_expr()
            self.expect_op(")")
            return node
        if tok.kind == "name" and tok.value not in _KEYWORDS:
            nxt = self.peek()
            if not (nxt.kind == "op" and nxt.value == "("):
                return ("column", tok.value)
            if tok.value not in FUNCTIONS:
                raise ExpressionError(
                    f"unknown function {tok.value!r} at position {tok.pos + 1} in {self.text!r} "
                    f"(known: {', '.join(sorted(FUNCTIONS))})"
                )
            self.expect_op("(")
            args: list[Node] = []
            if not (self.peek().kind == "op" and self.peek().value == ")"):
                args.append(self.or_expr())
                while self.peek().kind == "op" and self.peek().value == ",":
                    self.next()
                    args.append(self.or_expr())
            self.expect_op(")")
            low, high = FUNCTIONS[tok.value]
            if not low <= len(args) <= high:
                raise ExpressionError(
                    f"{tok.value}() takes {low if low == high else f'{low} to {high}'} argument(s), "
                    f"got {len(args)} in {self.text!r}"
                )
            if tok.value == "regex" and args[1][0] != "str":
                raise ExpressionError(f"regex() needs a quoted pattern in {self.text!r}")
            return ("call", tok.value, tuple(args))
        raise self.error(tok, "a value, ${question}, a function or '('")


@lru_cache(maxsize=1024)
def parse(text: str) -> Node:
    """Parse ``text`` into a syntax tree, raising :class:`ExpressionError` if it is not valid.

    >>> parse("${q1} >= 4")
    ('bin', '>=', ('ref', 'q1'), ('num', 4.0))
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression cannot be empty")
    return _Parser(normalise_quotes(text)).parse()


def normalise_quotes(text: str) -> str:
    """``text`` with typographic quotes (‘ ’ “ ”) made straight, as a spreadsheet user meant them."""
    return text.translate(_QUOTES)


def _walk(node: Node) -> list[Node]:
    out = [node]
    if node[0] == "neg":
        out += _walk(node[1])
    elif node[0] == "bin":
        out += _walk(node[2]) + _walk(node[3])
    elif node[0] == "call":
        for arg in node[2]:
            out += _walk(arg)
    return out


def choice_names(text: str) -> frozenset[str]:
    """The bare names (choice-sheet columns) an expression uses; only a ``choice_filter`` may."""
    return frozenset(n[1] for n in _walk(parse(text)) if n[0] == "column")


def references(text: str) -> frozenset[str]:
    """The question ids an expression refers to with ``${...}``."""
    found: set[str] = set()

    def walk(node: Node) -> None:
        if node[0] == "ref":
            found.add(node[1])
        elif node[0] == "neg":
            walk(node[1])
        elif node[0] == "bin":
            walk(node[2])
            walk(node[3])
        elif node[0] == "call":
            for arg in node[2]:
                walk(arg)

    walk(parse(text))
    return frozenset(found)


def uses_current_value(text: str) -> bool:
    """Whether ``text`` refers to the current answer with ``.`` (constraints do)."""

    def walk(node: Node) -> bool:
        if node[0] == "dot":
            return True
        if node[0] == "neg":
            return walk(node[1])
        if node[0] == "bin":
            return walk(node[2]) or walk(node[3])
        if node[0] == "call":
            return any(walk(a) for a in node[2])
        return False

    return walk(parse(text))


def validate(text: str, known: set[str] | frozenset[str], *, columns: bool = False) -> None:
    """Parse ``text`` and check that every ``${id}`` is in ``known``; raise ExpressionError.

    Bare names (choice-sheet columns) are accepted only with ``columns=True`` (a choice filter).
    """
    unknown = sorted(references(text) - set(known))
    if unknown:
        raise ExpressionError(f"{text!r} refers to unknown or later question(s): {', '.join(unknown)}")
    bare = sorted(choice_names(text))
    if bare and not columns:
        raise ExpressionError(
            f"{text!r}: {', '.join(bare)} is neither ${{question}} nor a function (known: {', '.join(sorted(FUNCTIONS))})"
        )


# -- evaluation -------------------------------------------------------------------------------


def _normalise(value: Any) -> Any:
    """Answers as the evaluator sees them: None, bool, float, str or a list of those."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        try:
            return float(value)
        except OverflowError:  # a 400-digit answer: beyond every float, compared as ±infinity
            return math.inf if value > 0 else -math.inf
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_normalise(v) for v in value if v is not None and v != ""]
    return str(value)


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        if _NUMERIC.match(value):
            return float(value)
        m = _ISO_DATE.match(value)
        if m:
            try:
                return float((date(int(m[1]), int(m[2]), int(m[3])) - _EPOCH).days)
            except ValueError:
                return math.nan
        return math.nan
    return math.nan  # lists


def _truth(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not math.isnan(value) and value != 0
    return len(value) > 0  # str or list


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return str(value)


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return (a is None or a == "") and (b is None or b == "")
    if isinstance(a, bool) or isinstance(b, bool):
        return _truth(a) == _truth(b)
    if isinstance(a, list) or isinstance(b, list):
        return _text(a) == _text(b)
    if isinstance(a, float) or isinstance(b, float):
        x, y = _number(a), _number(b)
        return not math.isnan(x) and not math.isnan(y) and x == y
    return bool(a == b)


def _order(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None or isinstance(a, list) or isinstance(b, list):
        return False
    x, y = _number(a), _number(b)
    if not math.isnan(x) and not math.isnan(y):
        left: Any
        right: Any
        left, right = x, y
    elif isinstance(a, str) and isinstance(b, str) and math.isnan(x) and math.isnan(y):
        left, right = a, b
    else:
        return False
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _round(x: float, digits: float = 0.0) -> float:
    """Halves rounded up (towards +infinity), the same in Python and JavaScript."""
    if math.isnan(x) or math.isnan(digits) or math.isinf(x):
        return x if not math.isnan(digits) else math.nan
    scale = 10.0 ** int(digits)
    return math.floor(x * scale + 0.5) / scale


def _date_text(value: Any) -> Any:
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value.strip()
    x = _number(value)
    if math.isnan(x) or math.isinf(x):
        return None
    return (_EPOCH + timedelta(days=math.floor(x))).isoformat()


_MATH: Mapping[str, Any] = {
    "pow": math.pow, "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log10": math.log10, "sin": math.sin,
    "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan, "atan2": math.atan2,
}
"""XPath 3 / ODK maths functions; a domain error (``sqrt(-1)``) gives NaN, as in JavaScript."""


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else _text(value).split()


def _call(name: str, args: list[Any], today: date | None) -> Any:
    if name == "true":
        return True
    if name == "false":
        return False
    if name in {"not", "boolean"}:
        return _truth(args[0]) if name == "boolean" else not _truth(args[0])
    if name == "boolean-from-string":
        return _text(args[0]).strip() in {"true", "1"}
    if name == "number":
        return _number(args[0])
    if name == "int":
        x = _number(args[0])
        return x if math.isnan(x) or math.isinf(x) else float(math.trunc(x))
    if name == "round":
        return _round(_number(args[0]), _number(args[1]) if len(args) > 1 else 0.0)
    if name in {"floor", "ceiling", "abs"}:
        x = _number(args[0])
        if math.isnan(x) or math.isinf(x):
            return x if name != "abs" else abs(x)
        return float(math.floor(x)) if name == "floor" else float(math.ceil(x)) if name == "ceiling" else abs(x)
    if name in _MATH:
        try:
            return float(_MATH[name](*(_number(a) for a in args)))
        except (OverflowError, ValueError, ZeroDivisionError):
            return math.nan
    if name == "pi":
        return math.pi
    if name in {"min", "max"}:
        numbers = [_number(a) for a in args]
        if any(math.isnan(n) for n in numbers):
            return math.nan
        return min(numbers) if name == "min" else max(numbers)
    if name == "string":
        return _text(args[0])
    if name == "concat":
        return "".join(_text(a) for a in args)
    if name == "contains":
        return _text(args[1]) in _text(args[0])
    if name == "starts-with":
        return _text(args[0]).startswith(_text(args[1]))
    if name == "ends-with":
        return _text(args[0]).endswith(_text(args[1]))
    if name == "substr":
        text = _text(args[0])
        start = _number(args[1])
        end = _number(args[2]) if len(args) > 2 else float(len(text))
        if math.isnan(start) or math.isnan(end):
            return ""
        return text[max(0, int(start)):max(0, int(end))]
    if name == "normalize-space":
        return " ".join(_text(args[0]).split())
    if name == "string-length":
        return float(len(_text(args[0])))
    if name == "selected":
        wanted = _text(args[1]).strip()
        return any(_text(item) == wanted for item in _items(args[0]))
    if name == "selected-at":
        found = _items(args[0])
        i = _number(args[1])
        return _text(found[int(i)]) if not math.isnan(i) and 0 <= int(i) < len(found) else ""
    if name == "count-selected":
        return float(len(_items(args[0])))
    if name == "regex":
        return re.search(_text(args[1]), _text(args[0])) is not None
    if name == "if":
        return args[1] if _truth(args[0]) else args[2]
    if name == "coalesce":
        return args[0] if args[0] is not None and args[0] != "" and args[0] != [] else args[1]
    if name == "once":
        return args[0]
    if name == "today":
        return (today or datetime.now(VIETNAM).date()).isoformat()
    if name == "now":
        return datetime.now(VIETNAM).isoformat(timespec="seconds")
    if name == "date":
        return _date_text(args[0])
    raise ExpressionError(f"unknown function {name!r}")  # pragma: no cover - the parser refuses it


@dataclass(frozen=True)
class _Scope:
    answers: Mapping[str, Any]
    current: Any
    choice: Mapping[str, Any]
    today: date | None


def _eval(node: Node, scope: _Scope) -> Any:
    kind = node[0]
    if kind in {"num", "str"}:
        return node[1]
    if kind == "ref":
        return _normalise(scope.answers.get(node[1]))
    if kind == "column":
        return _normalise(scope.choice.get(node[1]))
    if kind == "dot":
        return scope.current
    if kind == "neg":
        return -_number(_eval(node[1], scope))
    if kind == "call":
        return _call(node[1], [_eval(a, scope) for a in node[2]], scope.today)
    op, left_node, right_node = node[1], node[2], node[3]
    if op == "and":
        return _truth(_eval(left_node, scope)) and _truth(_eval(right_node, scope))
    if op == "or":
        return _truth(_eval(left_node, scope)) or _truth(_eval(right_node, scope))
    a, b = _eval(left_node, scope), _eval(right_node, scope)
    if op == "=":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op in {"<", "<=", ">", ">="}:
        return _order(op, a, b)
    x, y = _number(a), _number(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if math.isnan(x) or math.isnan(y) or y == 0:
        return math.nan
    if op == "div":
        return x / y
    return math.fmod(x, y)  # "mod": the sign follows the dividend, as in JavaScript and XPath


def value(
    text: str,
    answers: Mapping[str, Any],
    current: Any = None,
    *,
    choice: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> Any:
    """The value of an expression (number, text, boolean, list or None).

    ``choice`` holds the columns of the choice a ``choice_filter`` is testing (``name``,
    ``label`` and the choice's properties); ``today`` fixes the day ``today()`` returns.

    >>> value("concat(${first}, ' ', ${last})", {"first": "Lê", "last": "Văn"})
    'Lê Văn'
    """
    return _eval(parse(text), _Scope(answers, _normalise(current), choice or {}, today))


def evaluate(
    expr: str,
    answers: Mapping[str, Any],
    current: Any = None,
    *,
    choice: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> bool:
    """Whether ``expr`` holds for ``answers`` (question id → answer); ``current`` is ``.``.

    >>> evaluate("${q1} >= 4 and selected(${q3}, 'a')", {"q1": 5, "q3": ["a", "b"]})
    True
    """
    return _truth(value(expr, answers, current, choice=choice, today=today))


def display(result: Any) -> str:
    """A computed value as text, the way it is stored for a ``calculate`` question."""
    return _text(result)
