"""``CIBW_*`` variables as cibuildwheel reads them: ``CIBW_X`` for every identifier, then ``CIBW_X_<PLATFORM>``
for one system, each replacing the table's value (or joining it, with 4.x's ``CIBW_INHERIT``); ``CIBW_ENABLE``
adds to the table's groups. The variables come from the environment and from the project's own workflows
(:mod:`._workflows`), each with the place it was set."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from ._cibuildwheel import CI_ONLY, MAPPED, CibwReading, inherit_rules, known, translate
from ._lines import CibuildwheelLine
from ._model import CIBW_ENABLE, SPECS
from ._shipwheel import OS_SELECT, setting
from ._values import Level, Setting

__all__ = ["EnvValue", "read_env"]

#: variable name -> (value, where it was set: ``env CIBW_SKIP`` or a workflow)
EnvValue = tuple[str, str]
#: Read for the whole run, never per platform (cibuildwheel reads them with ``env_plat=False``).
_GLOBAL_ONLY = frozenset({"build", "skip", "test-skip", "enable", "pyodide-version"})
#: Environment-only variables of cibuildwheel (no TOML key); FREE_THREADED_SUPPORT and PRERELEASE_PYTHONS are
#: 2.x's switches (3.0 made them enable groups), still set by the workflows of branches that pin 2.x.
_ENV_ONLY = frozenset(
    {"PLATFORM", "OUTPUT_DIR", "ALLOW_EMPTY", "DEBUG_KEEP_CONTAINER", "DEBUG_TRACEBACK", "CACHE_PATH", "ONLY",
     "PROJECT_REQUIRES_PYTHON", "INHERIT", "DEPENDENCY_VERSIONS", "BUILD_VERBOSITY", "CONTAINER_ENGINE",
     "FREE_THREADED_SUPPORT", "PRERELEASE_PYTHONS"}
)  # fmt: skip


def var_of(key: str, os_name: str | None = None) -> str:
    """``CIBW_TEST_COMMAND`` / ``CIBW_TEST_COMMAND_LINUX``."""
    var = "CIBW_" + key.upper().replace("-", "_")
    return f"{var}_{os_name.upper()}" if os_name else var


def _global_only(key: str, line: CibuildwheelLine) -> bool:
    return key in _GLOBAL_ONLY or (key == "build-frontend" and not line.table_inherit)


def _inherit_rules(env: Mapping[str, EnvValue], line: CibuildwheelLine) -> dict[str, str]:
    """4.x's ``CIBW_INHERIT``: ``test-command; repair-wheel-command-linux: prepend`` (no rule: append)."""
    if not line.table_inherit or "CIBW_INHERIT" not in env:
        return {}
    return inherit_rules(env["CIBW_INHERIT"][0])


def read_env(
    env: Mapping[str, EnvValue], line: CibuildwheelLine, base: Path, out: CibwReading
) -> list[Level]:
    """The ``CIBW_*`` variables as a level for every identifier and one per system."""
    rules = _inherit_rules(env, line)
    scopes: list[tuple[str | None, str]] = [(None, "CIBW_* environment")] + [
        (o, f"CIBW_*_{o.upper()}") for o in OS_SELECT
    ]
    levels = []
    for os_name, name in scopes:
        values: dict[str, Setting] = {}
        for key, target in MAPPED.items():
            var = var_of(key, os_name)
            if var not in env or (os_name and _global_only(key, line)):
                continue
            text, origin = env[var]
            if key == "archs" and not text.strip():
                continue  # cibuildwheel ignores an empty archs
            raw = translate(key, text, origin.removeprefix("env "), line, out)
            found = setting(SPECS[target], raw, origin.removeprefix("env "), origin, base, from_env=True)
            rule = rules.get(
                f"{key}-{os_name}" if os_name else key, "append" if target == CIBW_ENABLE else "none"
            )
            values[target] = Setting(found.value, origin, rule)
        if values:
            levels.append(Level(name, "cibuildwheel", MappingProxyType(values), os=os_name))
    _unused(env, line, out)
    return levels


def _unused(env: Mapping[str, EnvValue], line: CibuildwheelLine, out: CibwReading) -> None:
    """Variables cibuildwheel has but shipwheel does not use, and variables cibuildwheel does not have."""
    keys = {k.upper().replace("-", "_"): k for k in line.options}
    for var, (_, origin) in env.items():
        name = var.removeprefix("CIBW_")
        suffix = name.rsplit("_", 1)[-1]
        base_name = name.rsplit("_", 1)[0] if suffix in {"LINUX", "MACOS", "WINDOWS"} else name
        key = keys.get(base_name)
        shown = origin.removeprefix("env ")
        if name in _ENV_ONLY:
            if name not in {"PROJECT_REQUIRES_PYTHON", "INHERIT", "DEPENDENCY_VERSIONS", "OUTPUT_DIR"}:
                out.ci_only.append(shown)
        elif key is None or not known(key, line):
            out.rejected.append(
                f"{shown}: cibuildwheel {line.name} has no option {base_name.lower().replace('_', '-')}"
            )
            out.notes.append(f"{shown} is not understood by shipwheel and is ignored")
        elif key in CI_ONLY or key.endswith("-image"):
            out.ci_only.append(shown)
        elif key in MAPPED and base_name != name and _global_only(key, line):
            out.notes.append(f"{shown}: cibuildwheel reads {var_of(key)} only, for every platform")
