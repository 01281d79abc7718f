"""GitHub Actions ``${{ }}`` expressions, evaluated as far as a workflow file can say.

Enough of GitHub's expression language for the values workflows give cibuildwheel: literals, ``matrix.*`` and
``inputs.*``, the ``github`` context of a release (a tag push), ``! == != < <= > >= && ||``, parentheses and
``contains``, ``startsWith``, ``endsWith``, ``format``. Anything else (secrets, step outputs, other contexts) raises
:class:`Unknown`: the value depends on a run, not on the file. Hand-written because no maintained Python library
evaluates GitHub expressions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = ["RELEASE_GITHUB", "Unknown", "evaluate", "substitute"]

#: The ``github`` context of the run that makes a release: a push of the tag.
RELEASE_GITHUB: Mapping[str, str] = {
    "event_name": "push",
    "ref": "refs/tags/v0.0.0",
    "ref_type": "tag",
    "ref_name": "v0.0.0",
}
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|<=|>=|&&|\|\||[!<>(),.\[\]])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
Result = str | float | bool | None


class Unknown(Exception):
    """The expression needs something a workflow file does not say (its text is the reference)."""


def substitute(text: str, context: Mapping[str, object]) -> str:
    """``text`` with every ``${{ expr }}`` replaced by its value."""
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _string(evaluate(m.group(1), context)), text, flags=re.S)


def evaluate(expression: str, context: Mapping[str, object]) -> Result:
    """The value of one expression (without ``${{ }}``)."""
    tokens = _tokens(expression)
    parser = _Parser(tokens, {**context, "github": {**RELEASE_GITHUB, **_mapping(context.get("github"))}})
    value = parser.either()
    if parser.pos != len(tokens):
        raise Unknown(expression.strip())
    return value


def _mapping(value: object) -> dict[str, object]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise Unknown(text)
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _string(value: Result) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return value


def _number(value: Result) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _truthy(value: Result) -> bool:
    return value not in (None, False, "", 0.0)


def _equal(a: Result, b: Result) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # GitHub compares strings ignoring case
    return a == b


_FUNCTIONS: dict[str, Callable[..., Result]] = {
    "contains": lambda a, b: _string(b).lower() in _string(a).lower(),
    "startswith": lambda a, b: _string(a).lower().startswith(_string(b).lower()),
    "endswith": lambda a, b: _string(a).lower().endswith(_string(b).lower()),
    "format": lambda f, *args: re.sub(r"\{(\d+)\}", lambda m: _string(args[int(m[1])]), _string(f)),
}


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], context: Mapping[str, object]) -> None:
        self.tokens, self.context, self.pos = tokens, context, 0

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self, text: str) -> bool:
        if self.peek() == text:
            self.pos += 1
            return True
        return False

    def either(self) -> Result:
        value = self.both()
        while self.take("||"):
            right = self.both()
            value = value if _truthy(value) else right
        return value

    def both(self) -> Result:
        value = self.compare()
        while self.take("&&"):
            right = self.compare()
            value = right if _truthy(value) else value
        return value

    def compare(self) -> Result:
        value = self.unary()
        for op in ("==", "!=", "<=", ">=", "<", ">"):
            if self.take(op):
                right = self.unary()
                if op in {"==", "!="}:
                    return _equal(value, right) == (op == "==")
                a, b = (value, right) if op in {"<", "<="} else (right, value)
                x, y = _number(a), _number(b)
                if x is None or y is None:
                    return False
                return x < y if op in {"<", ">"} else x <= y
        return value

    def unary(self) -> Result:
        if self.take("!"):
            return not _truthy(self.unary())
        return self.primary()

    def primary(self) -> Result:
        if self.pos >= len(self.tokens):
            raise Unknown("an incomplete expression")
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if text == "(":
            value = self.either()
            if not self.take(")"):
                raise Unknown("an unclosed parenthesis")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind != "name":
            raise Unknown(text)
        return self.reference(text)

    def reference(self, name: str) -> Result:
        low = name.lower()
        if low in {"true", "false", "null"}:
            return {"true": True, "false": False, "null": None}[low]
        if self.take("("):
            args = [] if self.take(")") else self.arguments()
            if low not in _FUNCTIONS:
                raise Unknown(f"{name}()")
            return _FUNCTIONS[low](*args)
        path = name
        if name not in self.context:
            while self.take(".") and self.pos < len(self.tokens):
                path += f".{self.tokens[self.pos][1]}"
                self.pos += 1
            raise Unknown(path)
        value: object = self.context[name]
        while self.take("."):
            key = self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""
            self.pos += 1
            path += f".{key}"
            # a property the object lacks is null, as in GitHub's expressions (``matrix.cibw.build || '*'``)
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, Mapping):
            raise Unknown(path)
        return value if isinstance(value, str | float | bool) or value is None else str(value)

    def arguments(self) -> list[Result]:
        args = [self.either()]
        while self.take(","):
            args.append(self.either())
        if not self.take(")"):
            raise Unknown("a function call")
        return args
