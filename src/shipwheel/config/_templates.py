"""Every ``{field}`` template of the configuration, checked when it loads: a field the step does not pass, a
positional or indexed field, a format spec, an unknown conversion or an unbalanced brace is a one-line
configuration error with a suggestion, never a traceback when the step runs."""

from __future__ import annotations

import difflib
import string
from collections.abc import Mapping

from ..errors import ConfigError

__all__ = ["TEMPLATES", "check_template"]

#: dotted key -> the fields its template may use (what the step that formats it passes)
TEMPLATES: Mapping[str, tuple[str, ...]] = {
    "release.tag-format": ("version",),
    "release.tag-message": ("project", "version"),
    "release.commit-message": ("project", "version"),
    "release.bump-message": ("project", "version"),
    "release.notes-file": ("version",),
    "release.branch-format": ("series",),
    "changelog.pr-url": ("number",),
}


def check_template(key: str, template: str, origin: str) -> None:
    """Raise :class:`ConfigError` when ``template`` (the value of ``key`` from ``origin``) would fail to
    format with the fields the step passes."""
    allowed = TEMPLATES[key]
    fields = ", ".join("{" + f + "}" for f in allowed)
    where = f"{key} {template!r} (from {origin})"
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(
            f"{where}: {exc}", hint=f"write {{{{ and }}}} for a literal brace; fields: {fields}"
        ) from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
            fix = f"did you mean {{{close[0]}}}?" if close else f"use {fields}"
            what = "a positional field" if name == "" or name.isdigit() else f"unknown field {{{name}}}"
            raise ConfigError(f"{where}: {what}", hint=fix)
        if spec:
            raise ConfigError(
                f"{where}: format spec ':{spec}' is not supported", hint=f"write {{{name}}} alone"
            )
        if conversion not in (None, "s", "r", "a"):
            raise ConfigError(f"{where}: unknown conversion '!{conversion}'", hint=f"write {{{name}}} alone")
