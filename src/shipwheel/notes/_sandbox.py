"""The one place where a project's Jinja2 templates run: jinja's sandbox, bounded, with one-line errors.

A towncrier ``template`` and ``notes.template`` come from the checkout being released, so whoever can open a pull
request can write them. In a plain :class:`jinja2.Environment` a template reaches any Python object through
attributes (``{{ get_indent.__globals__['os'].system(...) }}``); :class:`jinja2.sandbox.SandboxedEnvironment`
refuses attributes and methods that lead there (names starting with ``_``, function internals, ``str.format`` on
unsafe objects) and caps ``range()``. Well-behaved templates render byte for byte as in a plain environment: the
sandbox only intercepts, it does not change what safe operations return (towncrier's own templates and NumPy's,
multidict's, pytest's and attrs' are compared with ``towncrier build --draft`` in the tests).

Two operations that allocate without end (``'x' * 10**10``, ``2 ** 10**9``) are refused too, and every failure
of a template (its syntax, a runtime error such as ``{{ 1/0 }}``, a refused operation) is a
:class:`~shipwheel.errors.ConfigError` of one line naming the template; never a traceback.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from ..errors import ConfigError

__all__ = ["ProjectTemplate", "compile_project_template"]

#: The largest string or list one ``*`` may build, in items: far above any release note, far below the memory.
MAX_REPEAT = 1 << 22
#: The largest exponent of ``**`` on integers (``2 ** 4096`` has 1,234 digits).
MAX_EXPONENT = 4096


class _Sandbox(SandboxedEnvironment):
    """jinja's sandbox with ``*`` and ``**`` bounded."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, int) and abs(right) > MAX_EXPONENT and not isinstance(left, float):
                raise SecurityError(f"the exponent {right} is larger than {MAX_EXPONENT}")
            return operator.pow(left, right)
        # op == "*": a sequence repeated, or a number times a number (never large by itself)
        for seq, times in ((left, right), (right, left)):
            sequence = isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int)
            if sequence and len(seq) * times > MAX_REPEAT:
                raise SecurityError(f"repeating {len(seq)} items {times} times is over {MAX_REPEAT:,} items")
        return operator.mul(left, right)


class ProjectTemplate:
    """A compiled project template; :meth:`render` turns any failure into a one-line :class:`ConfigError`."""

    __slots__ = ("_hint", "_template", "name")

    def __init__(self, template: Any, name: str, hint: str) -> None:
        self._template = template
        self._hint = hint
        self.name = name

    def render(self, context: Mapping[str, Any]) -> str:
        try:
            return str(self._template.render(**context))
        except SecurityError as exc:
            raise ConfigError(
                f"the template {self.name} was stopped by the sandbox: {_first_line(exc)}", hint=self._hint
            ) from None
        except Exception as exc:  # a template can raise anything: {{ 1/0 }}, a bad filter argument, recursion
            raise ConfigError(
                f"the template {self.name} fails: {type(exc).__name__}: {_first_line(exc)}", hint=self._hint
            ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def compile_project_template(text: str, name: str, *, hint: str, **options: Any) -> ProjectTemplate:
    """Compile a template from a project in the sandbox.

    :param name: how the template is named in errors (its path, or ``towncrier:default``).
    :param hint: what the user can do when it fails.
    :param options: :class:`jinja2.Environment` options (``trim_blocks=True`` as towncrier uses).
    :raises ConfigError: the template does not parse.
    """
    env = _Sandbox(**options)
    try:
        return ProjectTemplate(env.from_string(text), name, hint)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"{name}:{exc.lineno}: {exc.message}", hint=hint) from None
    except Exception as exc:  # jinja's compiler can fail on pathological input (deep nesting) too
        raise ConfigError(f"the template {name} cannot be read: {type(exc).__name__}", hint=hint) from None
