"""``shipwheel config --import-cibuildwheel``: the ``[tool.shipwheel]`` table that means what a project's
cibuildwheel configuration means, for a project that wants to move."""

from __future__ import annotations

from collections.abc import Mapping

import tomli_w

from ._config import Config, JsonValue, jsonable
from ._lines import LINES
from ._model import CIBW_ARCHS, CIBW_ENABLE
from ._values import Setting

__all__ = ["import_cibuildwheel"]

_CIBW = ("[tool.cibuildwheel", "[[tool.cibuildwheel", "env CIBW_", "CIBW_", ".github/")
Table = dict[str, "JsonValue | Table | list[Table]"]


def _entry(values: Mapping[str, Setting]) -> Table:
    return {key: jsonable(s.value) for key, s in values.items() if key not in (CIBW_ARCHS, CIBW_ENABLE)}


def import_cibuildwheel(config: Config) -> str:
    """The TOML text of a ``[tool.shipwheel]`` table (with ``[tool.shipwheel.linux]``-style tables and
    ``[[tool.shipwheel.overrides]]``) holding every value that came from cibuildwheel's configuration."""
    values = config.as_dict()
    table: Table = {key: values[key] for key, source in config.sources.items() if source.startswith(_CIBW)}
    overrides: list[Table] = []
    for level in config.levels:
        if level.tool != "cibuildwheel" or (level.os is None and level.select is None):
            continue
        entry = _entry(level.values)
        if not entry:
            continue
        inherit = {k: s.inherit for k, s in level.values.items() if s.inherit != "none"}
        if level.os is not None and not inherit:
            sub = table.get(level.os)
            table[level.os] = {**(sub if isinstance(sub, dict) else {}), **entry}
        else:
            select = level.select or {"linux": "*-manylinux_* *-musllinux_*", "macos": "*-macosx_*"}.get(
                level.os or "", "*-win32 *-win_*"
            )
            overrides.append({"select": select, **entry, **({"inherit": dict(inherit)} if inherit else {})})
    if overrides:
        table["overrides"] = list(overrides)
    line = config.cibuildwheel.line
    if any(i.free_threaded and (3, i.minor) in line.free_threaded_enabled for i in config.identifiers()):
        table["free-threaded"] = True
    if line != LINES[0]:
        table["ci"] = {"cibuildwheel-version": line.newest}
    header = (
        "# [tool.shipwheel] equivalent to this project's cibuildwheel configuration "
        "(shipwheel config --import-cibuildwheel)\n"
    )
    if config.ci_only:
        header += "# left out, used by cibuildwheel's CI runs only: " + ", ".join(config.ci_only) + "\n"
    for warning in config.warnings:
        header += f"# note: {warning}\n"
    return header + tomli_w.dumps({"tool": {"shipwheel": table}}, multiline_strings=False)
