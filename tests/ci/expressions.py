"""GitHub Actions expressions (``${{ }}``), the part of the language the generated workflow's local run needs.

Literals, context properties (``needs.tag-check.outputs.target``), ``!``, ``==``/``!=`` (strings compared
ignoring case, as GitHub does), ``&&``/``||`` (returning an operand, as GitHub does), parentheses and
``startsWith``. Anything else, and any context or property the run does not know, raises :class:`Unevaluable`:
the local run refuses rather than guesses what GitHub would have put there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Context", "Unevaluable", "evaluate", "render", "substitute"]

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!().,\[\]])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class Unevaluable(AssertionError):
    """An expression the local run cannot evaluate the way GitHub would (a test failure, never a guess)."""


class Context:
    """The contexts of one step: ``strict`` ones refuse an unknown property; ``lenient`` ones (GitHub's
    ``inputs`` on a push) give null for it."""

    def __init__(self, strict: Mapping[str, Any], lenient: Mapping[str, Any] | None = None) -> None:
        self.strict = dict(strict)
        self.lenient = dict(lenient or {})

    def root(self, name: str) -> tuple[Any, bool]:
        if name in self.strict:
            return self.strict[name], False
        if name in self.lenient:
            return self.lenient[name], True
        raise Unevaluable(f"the context {name!r} is not known to the local run")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Unevaluable(f"cannot read the expression {text!r} at {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _truthy(value: Any) -> bool:
    return value not in (None, False, "", 0)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if type(a) is not type(b):
        raise Unevaluable(f"comparing {a!r} with {b!r} needs GitHub's type coercion")
    return bool(a == b)


class _Parser:
    def __init__(self, text: str, context: Context) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.context = context

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise Unevaluable(f"the expression {self.text!r} ends too early")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise Unevaluable(f"expected {expected!r} in {self.text!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise Unevaluable(f"cannot read the expression {self.text!r} past {self.tokens[self.pos][1]!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = right if _truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        if self.peek() in ("==", "!="):
            op = self.take()[1]
            same = _equal(value, self.unary())
            return same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(" and kind == "op":
            value = self.or_()
            self.take(")")
            return value
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind != "name":
            raise Unevaluable(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == "(":
            return self.call(text)
        value, lenient = self.context.root(text)
        path = text
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = str(self.primary())
                self.take("]")
            path += f".{key}"
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif lenient:
                value = None
            else:
                raise Unevaluable(f"{path} is not known to the local run (in {self.text!r})")
        return value

    def call(self, name: str) -> Any:
        self.take("(")
        args = [self.or_()]
        while self.peek() == ",":
            self.take()
            args.append(self.or_())
        self.take(")")
        if name.casefold() == "startswith" and len(args) == 2:
            return str(args[0] or "").casefold().startswith(str(args[1] or "").casefold())
        raise Unevaluable(f"the function {name}() is not known to the local run (in {self.text!r})")


def evaluate(expression: str, context: Context) -> Any:
    """The value of ``expression`` (without ``${{ }}``) in ``context``."""
    return _Parser(expression, context).parse()


def render(value: Any) -> str:
    """A value as GitHub writes it into a string: null is empty, booleans are lower case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping | list):
        raise Unevaluable(f"{value!r} is an object, not a string")
    return str(value)


def substitute(text: str, context: Context) -> str:
    """``text`` with every ``${{ expression }}`` replaced by its value."""
    return _EXPRESSION.sub(lambda m: render(evaluate(m.group(1), context)), text)
