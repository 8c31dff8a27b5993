"""V3IO condition, filter and update expressions, parsed and evaluated the way the web API does.

The subset the platform documents and modelmon sends:

- conditions / filters: ``a == 1 AND (b != 'x' OR NOT exists(c))``, comparisons ``== != < <= > >=``,
  ``exists(a)``, ``not exists(a)``, literals (numbers, ``'text'``, ``true``/``false``,
  ``blob('<base64>')``);
  a comparison with a missing attribute is false.
- updates: ``SET a = a + 1; b = if_not_exists(b, 0) + 2.5; REMOVE c`` (``SET`` optional).

Text literals are in single quotes, with no escape ("String values within the expression are enclosed
within single quotes", Iguazio docs, expressions overview); an expression holding a backslash or longer
than 8 KB is refused (software specifications, "Expressions"). storey and MLRun also send ``"text"``,
which the platform seems to take, but it is not the documented syntax: refused here, so modelmon keeps
to what is documented.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
      | '(?P<sq>[^']*)'
      | (?P<op>==|!=|<=|>=|<|>|=|\(|\)|,|\+|-|;)
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)

#: The longest expression the platform takes (software specifications, "Maximum length of an expression").
MAX_EXPRESSION_BYTES = 8 * 1024
_STATEMENTS = re.compile(r"(?:'[^']*'|[^;'])+")

Attrs = Mapping[str, Any]
Value = Callable[[Attrs], Any]

_MISSING = object()


class ExpressionError(ValueError):
    """An expression the server cannot parse (answered with 400)."""


def _check(text: str) -> str:
    """``text`` if the platform would take it: at most 8 KB, no backslash."""
    if len(text.encode()) > MAX_EXPRESSION_BYTES:
        raise ExpressionError(f"expression of {len(text.encode())} bytes is longer than {MAX_EXPRESSION_BYTES}")
    if "\\" in text:
        raise ExpressionError("a backslash is not supported within expressions")
    return text


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot parse expression at {text[pos:pos + 20]!r}")
        pos = m.end()
        if m["num"] is not None:
            raw = m["num"]
            tokens.append(("lit", float(raw) if any(c in raw for c in ".eE") else int(raw)))
        elif m["sq"] is not None:
            tokens.append(("lit", m["sq"]))
        elif m["op"] is not None:
            tokens.append(("op", m["op"]))
        else:
            word = m["name"]
            if word.lower() in ("true", "false"):
                tokens.append(("lit", word.lower() == "true"))
            else:
                tokens.append(("name", word))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("unexpected end of expression")
        self.i += 1
        return tok

    def expect_op(self, op: str) -> None:
        tok = self.take()
        if tok != ("op", op):
            raise ExpressionError(f"expected {op!r}, got {tok[1]!r}")

    def at_keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "name" and tok[1].lower() == word

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    # ---- conditions
    def condition(self) -> Callable[[Attrs], bool]:
        left = self.conjunction()
        while self.at_keyword("or"):
            self.take()
            right = self.conjunction()
            left = (lambda a, b: lambda attrs: a(attrs) or b(attrs))(left, right)
        return left

    def conjunction(self) -> Callable[[Attrs], bool]:
        left = self.negation()
        while self.at_keyword("and"):
            self.take()
            right = self.negation()
            left = (lambda a, b: lambda attrs: a(attrs) and b(attrs))(left, right)
        return left

    def negation(self) -> Callable[[Attrs], bool]:
        if self.at_keyword("not"):
            self.take()
            inner = self.negation()
            return lambda attrs: not inner(attrs)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.condition()
            self.expect_op(")")
            return inner
        if self.at_keyword("exists"):
            self.take()
            self.expect_op("(")
            kind, name = self.take()
            if kind != "name":
                raise ExpressionError("exists() takes an attribute name")
            self.expect_op(")")
            return lambda attrs: name in attrs
        return self.comparison()

    def comparison(self) -> Callable[[Attrs], bool]:
        left = self.value()
        kind, op = self.take()
        if kind != "op" or op not in _COMPARE:
            raise ExpressionError(f"expected a comparison operator, got {op!r}")
        right = self.value()
        compare = _COMPARE[op]

        def evaluate(attrs: Attrs) -> bool:
            a, b = left(attrs), right(attrs)
            if a is _MISSING or b is _MISSING:
                return False
            try:
                return bool(compare(a, b))
            except TypeError:
                return False

        return evaluate

    # ---- values
    def value(self) -> Value:
        left = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            right = self.term()
            left = _arith(left, right, op)
        return left

    def term(self) -> Value:
        kind, tok = self.take()
        if kind == "lit":
            return lambda attrs: tok
        if kind == "name" and tok.lower() == "blob":
            self.expect_op("(")
            kind2, encoded = self.take()
            if kind2 != "lit" or not isinstance(encoded, str):
                raise ExpressionError("blob() takes a base64 text")
            self.expect_op(")")
            data = base64.b64decode(encoded)
            return lambda attrs: data
        if kind == "name" and tok.lower() == "if_not_exists":
            self.expect_op("(")
            kind2, name = self.take()
            if kind2 != "name":
                raise ExpressionError("if_not_exists() takes an attribute name first")
            self.expect_op(",")
            default = self.value()
            self.expect_op(")")
            return lambda attrs: attrs[name] if name in attrs else default(attrs)
        if kind == "name":
            return lambda attrs: attrs.get(tok, _MISSING)
        if tok == "(":
            inner = self.value()
            self.expect_op(")")
            return inner
        raise ExpressionError(f"unexpected {tok!r}")


def _arith(left: Value, right: Value, op: str) -> Value:
    def evaluate(attrs: Attrs) -> Any:
        a, b = left(attrs), right(attrs)
        if a is _MISSING or b is _MISSING:
            raise ExpressionError("arithmetic on a missing attribute (use if_not_exists)")
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) \
                or not isinstance(b, int | float):
            raise ExpressionError("arithmetic needs numbers")
        return a + b if op == "+" else a - b

    return evaluate


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b and isinstance(a, str) == isinstance(b, str),
    "!=": lambda a, b: not (a == b and isinstance(a, str) == isinstance(b, str)),
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def parse_condition(text: str) -> Callable[[Attrs], bool]:
    """A predicate over an item's attributes; an empty text is always true."""
    if not text or not text.strip():
        return lambda attrs: True
    parser = _Parser(_check(text))
    predicate = parser.condition()
    if not parser.done():
        raise ExpressionError(f"unexpected {parser.peek()[1]!r} after the condition")  # type: ignore[index]
    return predicate


def apply_update(text: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """The attributes after ``text``: SET/REMOVE statements applied in order."""
    new = dict(attrs)
    if _STATEMENTS.sub("", _check(text)).strip(" ;"):
        raise ExpressionError(f"unterminated text literal in {text[:40]!r}")
    for statement in _STATEMENTS.findall(text):
        if not statement.strip():
            continue
        parser = _Parser(statement)
        if parser.at_keyword("remove"):
            parser.take()
            kind, name = parser.take()
            if kind != "name" or not parser.done():
                raise ExpressionError(f"bad REMOVE statement {statement.strip()!r}")
            new.pop(name, None)
            continue
        if parser.at_keyword("set"):
            parser.take()
        kind, name = parser.take()
        if kind != "name":
            raise ExpressionError(f"bad SET statement {statement.strip()!r}")
        parser.expect_op("=")
        value = parser.value()
        if not parser.done():
            raise ExpressionError(f"unexpected {parser.peek()[1]!r} in {statement.strip()!r}")  # type: ignore[index]
        result = value(new)
        if result is _MISSING:
            raise ExpressionError(f"{statement.strip()!r} reads a missing attribute")
        new[name] = result
    return new
