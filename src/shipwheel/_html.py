"""The package's own HTML pages (the verify report, the release status page): one jinja2 setup for both.

Each page is one self-contained document rendered from a template shipped in the package; jinja2 is imported by
whoever imports this module, only when a page is asked for.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import jinja2

from ._http import redact_text

__all__ = ["render_page"]


def render_page(
    package: str, template: str, *, filters: Mapping[str, Callable[..., Any]] | None = None, **values: Any
) -> str:
    """Render the template file ``template`` of ``package`` with ``values``, plus ``generated`` (now, in UTC).

    Values are HTML-escaped (they carry file names and server answers), and a name the template uses but no
    value gives is an error, not an empty string.
    """
    text = resources.files(package).joinpath(template).read_text(encoding="utf-8")
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(filters or {})
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # secrets removed from the page as from every other sink (a repository URL with its password in a record)
    return redact_text(env.from_string(text).render(generated=generated, **values))
