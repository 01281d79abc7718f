"""``shipwheel config --import-cibuildwheel``: the ``[tool.shipwheel]`` table that means what a project's
cibuildwheel configuration means, for a project that wants to move."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tomli_w

from ._cibuildwheel import OS_SELECT
from ._model import Config

__all__ = ["import_cibuildwheel"]

_CIBW = ("[tool.cibuildwheel", "[[tool.cibuildwheel", "env CIBW_", "cibuildwheel")


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def import_cibuildwheel(config: Config) -> str:
    """The TOML text of a ``[tool.shipwheel]`` table (with ``[tool.shipwheel.linux]``-style tables and
    ``[[tool.shipwheel.overrides]]``) holding every value that came from cibuildwheel's configuration."""
    values = config.as_dict()
    table: dict[str, Any] = {
        key: _plain(values[key]) for key, source in config.sources.items() if source.startswith(_CIBW)
    }
    per_os = {selector: name for name, selector in OS_SELECT.items()}
    overrides: list[dict[str, Any]] = []
    for o in config.overrides:
        if not o.origin.startswith(_CIBW):
            continue
        entry = {name.replace("_", "-"): _plain(v) for name, v in o.values.items()}
        if o.select in per_os and not o.inherit:
            table.setdefault(per_os[o.select], {}).update(entry)
        else:
            extra = {"inherit": dict(o.inherit)} if o.inherit else {}
            overrides.append({"select": o.select, **entry, **extra})
    if overrides:
        table["overrides"] = overrides
    header = "# [tool.shipwheel] equivalent to this project's cibuildwheel configuration (shipwheel config --import-cibuildwheel)\n"
    if config.ci_only:
        header += "# left out, used by cibuildwheel's CI runs only: " + ", ".join(config.ci_only) + "\n"
    for warning in config.warnings:
        header += f"# note: {warning}\n"
    return header + tomli_w.dumps({"tool": {"shipwheel": table}}, multiline_strings=False)
