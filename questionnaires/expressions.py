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
    primary    := NUMBER | STRING | "${" NAME "}" | "." | FUNCTION "(" [expr ("," expr)*] ")"
                | "(" expr ")"

Functions: ``selected(${q}, 'v')``, ``count-selected(${q})``, ``string-length(x)``, ``not(x)``,
``true()``, ``false()``, ``number(x)``, ``regex(x, 'pattern')``.

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
  the same choice).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

__all__ = ["ExpressionError", "evaluate", "parse", "references", "validate"]

_NUMERIC = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)\s*$")
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][A-Za-z0-9_.\-]*)\})
  | (?P<number>\d+(\.\d*)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
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
        if kind != "ws":
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
    return _Parser(text).parse()


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


def validate(text: str, known: set[str] | frozenset[str]) -> None:
    """Parse ``text`` and check that every ``${id}`` is in ``known``; raise ExpressionError."""
    unknown = sorted(references(text) - set(known))
    if unknown:
        raise ExpressionError(f"{text!r} refers to unknown or later question(s): {', '.join(unknown)}")


# -- evaluation -------------------------------------------------------------------------------


def _normalise(value: Any) -> Any:
    """Answers as the evaluator sees them: None, bool, float, str or a list of those."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
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
        return float(value) if _NUMERIC.match(value) else math.nan
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


def _call(name: str, args: list[Any]) -> Any:
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "not":
        return not _truth(args[0])
    if name == "number":
        return _number(args[0])
    if name == "string-length":
        return float(len(_text(args[0])))
    if name == "selected":
        items = args[0] if isinstance(args[0], list) else _text(args[0]).split()
        wanted = _text(args[1]).strip()
        return any(_text(item) == wanted for item in items)
    if name == "count-selected":
        items = args[0] if isinstance(args[0], list) else _text(args[0]).split()
        return float(len(items))
    if name == "regex":
        return re.search(_text(args[1]), _text(args[0])) is not None
    raise ExpressionError(f"unknown function {name!r}")  # pragma: no cover - the parser refuses it


def _eval(node: Node, answers: Mapping[str, Any], current: Any) -> Any:
    kind = node[0]
    if kind in {"num", "str"}:
        return node[1]
    if kind == "ref":
        return _normalise(answers.get(node[1]))
    if kind == "dot":
        return current
    if kind == "neg":
        return -_number(_eval(node[1], answers, current))
    if kind == "call":
        return _call(node[1], [_eval(a, answers, current) for a in node[2]])
    op, left_node, right_node = node[1], node[2], node[3]
    if op == "and":
        return _truth(_eval(left_node, answers, current)) and _truth(_eval(right_node, answers, current))
    if op == "or":
        return _truth(_eval(left_node, answers, current)) or _truth(_eval(right_node, answers, current))
    a, b = _eval(left_node, answers, current), _eval(right_node, answers, current)
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


def value(text: str, answers: Mapping[str, Any], current: Any = None) -> Any:
    """The value of an expression (number, text, boolean, list or None)."""
    return _eval(parse(text), answers, _normalise(current))


def evaluate(expr: str, answers: Mapping[str, Any], current: Any = None) -> bool:
    """Whether ``expr`` holds for ``answers`` (question id → answer); ``current`` is ``.``.

    >>> evaluate("${q1} >= 4 and selected(${q3}, 'a')", {"q1": 5, "q3": ["a", "b"]})
    True
    """
    return _truth(value(expr, answers, current))
