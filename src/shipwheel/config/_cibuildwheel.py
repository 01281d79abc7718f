"""cibuildwheel's configuration as a source below ``[tool.shipwheel]``: ``[tool.cibuildwheel]`` and ``CIBW_*``.

A project that releases with cibuildwheel gets the same matrix and the same build steps from shipwheel with no new
configuration. Each cibuildwheel option is read with cibuildwheel's meaning (its documentation and
``cibuildwheel/options.py``, version 3.3) and turned into the shipwheel key that means the same:

- lists joined as cibuildwheel joins them (``&&`` for commands, spaces for selectors);
- ``archs`` per operating system into ``platforms`` (``auto``/``native`` mean shipwheel's default platforms of
  that system, so that the matrix does not depend on the machine it is computed on);
- ``enable``: free-threaded 3.14 is built by default as in cibuildwheel 3, 3.13t only with
  ``cpython-freethreading``; PyPy and GraalPy groups are noted (shipwheel builds CPython only);
- per-platform tables (``[tool.cibuildwheel.linux]``), ``[[tool.cibuildwheel.overrides]]`` and platform variables
  (``CIBW_TEST_COMMAND_LINUX``) become per-identifier :class:`Override` objects, in cibuildwheel's order.

This is hand-written rather than calling cibuildwheel because cibuildwheel has no public Python API for its
options (``options.py`` changes between releases) and needs Python 3.11; the configuration format is the stable,
documented interface.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OS_SELECT", "CibwSource", "Override", "expand_environment", "read_cibuildwheel"]

#: The identifiers of each operating system, as a selector.
OS_SELECT: Mapping[str, str] = {
    "linux": "*-manylinux_* *-musllinux_*",
    "macos": "*-macosx_*",
    "windows": "*-win32 *-win_*",
}
_OSES = tuple(OS_SELECT)

#: cibuildwheel option -> (shipwheel key, how a TOML list is joined: a separator, or None to keep a list)
_MAPPED: Mapping[str, tuple[str, str | None]] = {
    "build": ("build", None),
    "skip": ("skip", None),
    "test-skip": ("test-skip", None),
    "before-all": ("before-all", " && "),
    "before-build": ("before-build", " && "),
    "before-test": ("before-test", " && "),
    "test-command": ("test-command", " && "),
    "repair-wheel-command": ("repair-wheel-command", " && "),
    "test-requires": ("test-requires", None),
    "test-groups": ("test-groups", None),
    "test-sources": ("test-sources", None),
    "test-extras": ("test-extras", None),
    "environment": ("environment", None),
    "environment-pass": ("environment-pass", None),
    "build-frontend": ("build-frontend", None),
    "config-settings": ("config-settings", None),
}
#: Read for the whole run, never per identifier (cibuildwheel reads them without the platform variable).
_GLOBAL_ONLY = frozenset({"build", "skip", "test-skip", "enable", "build-frontend"})
#: Understood, but only meaningful inside cibuildwheel's own runs (containers, its tool pins, its verbosity).
_CI_ONLY = frozenset(
    {
        "container-engine",
        "build-verbosity",
        "xbuild-tools",
        "xbuild-files",
        "pyodide-version",
        "test-runtime",
        "audit-requires",
        "audit-command",
    }
)
_IMAGE_SUFFIX = "-image"
#: Environment-only variables of cibuildwheel (no TOML key).
_ENV_ONLY = frozenset(
    {"PLATFORM", "OUTPUT_DIR", "ALLOW_EMPTY", "DEBUG_KEEP_CONTAINER", "DEBUG_TRACEBACK", "CACHE_PATH", "ONLY"}
)
_LINUX_ARCHS = ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64")
_WIN_ARCHS = {"AMD64": "win_amd64", "x86": "win32", "ARM64": "win_arm64"}
_MAC_ARCHS = ("x86_64", "arm64", "universal2")
_32BIT = {"i686", "armv7l", "x86"}
_OTHER_ARCHS = frozenset(
    {"wasm32", "arm64_v8a", "arm64_iphoneos", "arm64_iphonesimulator", "x86_64_iphonesimulator"}
)


@dataclass(frozen=True, slots=True)
class Override:
    """Values that apply to the identifiers ``select`` matches (a per-platform table, an ``[[overrides]]`` entry
    or a platform variable such as ``CIBW_TEST_COMMAND_LINUX``), keyed by shipwheel key, raw (not coerced)."""

    select: str
    values: Mapping[str, Any]
    origin: str
    #: shipwheel key -> "append" or "prepend" (cibuildwheel's ``inherit``): join with the value below
    inherit: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class CibwSource:
    """What cibuildwheel's configuration says, translated: ``values`` (shipwheel key -> (raw value, origin)),
    per-identifier ``overrides``, and ``notes`` (warnings naming keys that are not understood or not used)."""

    present: bool = False
    values: dict[str, tuple[Any, str]] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ci_only: list[str] = field(default_factory=list)


def _env_var(key: str, os_name: str | None = None) -> str:
    var = "CIBW_" + key.upper().replace("-", "_")
    return f"{var}_{os_name.upper()}" if os_name else var


#: keys whose value may also be a table (cibuildwheel's schema), and what the table's values may be
_TABLES = {
    "environment": (str,),
    "config-settings": (str, list),
    "build-frontend": (str, list),
    "dependency-versions": (str,),
}


def _check_type(key: str, value: Any, where: str) -> None:
    """cibuildwheel's schema: a string, a list of strings, or (for some keys) a table; anything else is refused
    with cibuildwheel's own meaning of the key named, never a traceback."""
    from ..errors import ConfigError

    if isinstance(value, str):
        return
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return
    if isinstance(value, dict) and key in _TABLES:
        kinds = _TABLES[key]
        if all(
            isinstance(v, kinds) and (not isinstance(v, list) or all(isinstance(i, str) for i in v))
            for v in value.values()
        ):
            return
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    table = " or a table of strings" if key in _TABLES else ""
    name = where if where.endswith(key) else f"'{key}' in {where}"
    raise ConfigError(
        f"{name} must be a string or a list of strings{table}, got {shown}",
        hint="see cibuildwheel's documentation of the option",
    )


def _translate(key: str, value: Any, where: str, notes: list[str]) -> tuple[str, Any] | None:
    """A cibuildwheel (key, value) as the shipwheel (key, raw value), or None when it has no shipwheel key."""
    _check_type(key, value, where)
    target, sep = _MAPPED[key]
    if key == "environment" and ("$(" in str(value) or "`" in str(value)):
        notes.append(
            f"{where}: command substitution ($(...)) is not run by shipwheel; the value is used as written"
        )
    if isinstance(value, list) and sep is not None:
        value = sep.join(str(v) for v in value)
    if key == "environment" and isinstance(value, str):
        value = parse_environment(value, where)
    elif key == "config-settings" and isinstance(value, str):
        try:
            value = shlex.split(value)  # KEY=VALUE items; a key may repeat
        except ValueError as exc:
            from ..errors import ConfigError

            raise ConfigError(f"{where} {value!r} does not parse: {exc}", hint="check the quotes") from None
    elif key == "test-extras" and isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    elif key == "build-frontend" and isinstance(value, dict):
        args = value.get("args", [])  # kept in cibuildwheel's string form, which the build parses
        name = str(value.get("name", "default"))
        value = f"{name}; args: {shlex.join(args)}" if args else name
    return target, value


def parse_environment(text: str, where: str) -> dict[str, str]:
    """cibuildwheel's string form of ``environment``: ``A=1 B="two words" C=$A/x``; ``$VAR`` references stay in
    the values and are expanded when the build runs (:func:`shipwheel.config.expand_environment`)."""
    from ..errors import ConfigError

    out: dict[str, str] = {}
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(
            f"{where}: environment {text!r} does not parse: {exc}", hint="check the quotes"
        ) from None
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name.isidentifier():
            raise ConfigError(
                f"{where}: environment item {word!r} is not NAME=value", hint="write A=1 B=$A/x"
            )
        out[name] = value
    return out


def _archs_to_platforms(archs: str, os_name: str, defaults: tuple[str, ...]) -> list[str]:
    """cibuildwheel's ``archs`` for one operating system as shipwheel platforms."""
    from ..errors import ConfigError

    own_defaults = [p for p in defaults if _os_of(p) == os_name]
    if os_name == "linux":
        every = [f"{lib}_{a}" for lib in ("manylinux", "musllinux") for a in _LINUX_ARCHS]
    elif os_name == "macos":
        every = [f"macosx_{a}" for a in _MAC_ARCHS]
    else:
        every = list(_WIN_ARCHS.values())
    out: list[str] = []
    for word in archs.replace(",", " ").split():
        if word in {"auto", "native", "auto64"}:
            out += own_defaults
        elif word == "all":
            out += every
        elif word == "auto32":
            out += [p for p in every if p.rsplit("_", 1)[-1] in _32BIT or p == "win32"]
        elif word in _OTHER_ARCHS:
            continue  # Pyodide, iOS and Android architectures: no wheel shipwheel builds
        elif word in _WIN_ARCHS:
            out += [_WIN_ARCHS[word]] if os_name == "windows" else []
        elif word in _LINUX_ARCHS or word in _MAC_ARCHS:
            # the names are per system: macOS arm64 is not Windows ARM64, nor Linux aarch64
            out += [p for p in every if os_name != "windows" and p.split("_", 1)[-1] == word]
        else:
            raise ConfigError(
                f"'archs' of cibuildwheel: unknown architecture {word!r}",
                hint="use auto, native, all, auto64, auto32 or x86_64, i686, aarch64, arm64, universal2, AMD64, x86, ARM64",
            )
    return list(dict.fromkeys(out))


def _os_of(platform: str) -> str:
    if platform.startswith(("manylinux", "musllinux")):
        return "linux"
    return "macos" if platform.startswith("macosx") else "windows"


def _known(key: str) -> bool:
    return (
        key in _MAPPED
        or key in {"archs", "enable", "dependency-versions"}
        or key in _CI_ONLY
        or key.endswith(_IMAGE_SUFFIX)
    )


def _check_keys(table: Mapping[str, Any], where: str, src: CibwSource, *, allow: frozenset[str]) -> None:
    for key in table:
        if key in allow:
            continue
        if not _known(key):
            src.notes.append(f"{where}: '{key}' is not understood by shipwheel and is ignored")
        elif key in _CI_ONLY or key.endswith(_IMAGE_SUFFIX):
            src.ci_only.append(f"{where} {key}")


def read_cibuildwheel(
    pyproject: Mapping[str, Any] | None, environ: Mapping[str, str], default_platforms: tuple[str, ...]
) -> CibwSource:
    """Read ``[tool.cibuildwheel]`` of ``pyproject`` and the ``CIBW_*`` variables of ``environ``.

    :raises ConfigError: values cibuildwheel itself would refuse (an unknown architecture, a bad environment).
    """
    from ..errors import ConfigError

    tool = (pyproject or {}).get("tool")
    table = tool.get("cibuildwheel") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(
            "[tool.cibuildwheel] must be a table", hint="write it as a [tool.cibuildwheel] section"
        )
    table = table or {}
    env = {k: v for k, v in environ.items() if k.startswith("CIBW_")}
    src = CibwSource(present=bool(table) or bool(env))
    if not src.present:
        return src
    base_where = "[tool.cibuildwheel]"
    _check_keys(table, base_where, src, allow=frozenset({*_OSES, "overrides", "pyodide", "ios", "android"}))
    for name in ("pyodide", "ios", "android"):
        if name in table:
            src.ci_only.append(f"[tool.cibuildwheel.{name}]")

    # cibuildwheel's order, lowest first: table, platform table, [[overrides]], CIBW_X, CIBW_X_<PLATFORM>.
    env_general = {k for k in _MAPPED if _env_var(k) in env}
    for key, value in table.items():
        if key in _MAPPED:
            translated = _translate(key, value, f"{base_where} {key}", src.notes)
            if translated:
                src.values[translated[0]] = (translated[1], base_where)
    for os_name in _OSES:
        sub = table.get(os_name)
        if sub is None:
            continue
        where = f"[tool.cibuildwheel.{os_name}]"
        if not isinstance(sub, dict):
            raise ConfigError(f"{where} must be a table", hint=f"write it as a {where} section")
        _check_keys(sub, where, src, allow=frozenset())
        values = {}
        for key, value in sub.items():
            if key in _MAPPED and key not in env_general:
                if key in _GLOBAL_ONLY:
                    src.notes.append(f"{where}: '{key}' applies to the whole run in shipwheel")
                translated = _translate(key, value, f"{where} {key}", src.notes)
                if translated:
                    values[translated[0]] = translated[1]
        if values:
            src.overrides.append(Override(OS_SELECT[os_name], values, where))
    overrides = table.get("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise ConfigError(
            "[[tool.cibuildwheel.overrides]] must be an array of tables", hint="see cibuildwheel's docs"
        )
    for index, entry in enumerate(overrides):
        where = f"[[tool.cibuildwheel.overrides]] #{index + 1}"
        select = entry.get("select")
        if isinstance(select, list):
            select = " ".join(select)
        if not isinstance(select, str) or not select:
            raise ConfigError(
                f"{where} has no 'select'", hint='add select = "cp312-*" (the identifiers it applies to)'
            )
        inherit_raw = entry.get("inherit", {})
        _check_keys(entry, where, src, allow=frozenset({"select", "inherit"}))
        values, inherit = {}, {}
        for key, value in entry.items():
            if key in _MAPPED and key not in env_general:
                translated = _translate(key, value, f"{where} {key}", src.notes)
                if translated:
                    values[translated[0]] = translated[1]
                    mode = inherit_raw.get(key, "none") if isinstance(inherit_raw, dict) else "none"
                    if mode in {"append", "prepend"}:
                        inherit[translated[0]] = mode
        if values:
            src.overrides.append(Override(select, values, where, inherit))

    for key in _MAPPED:
        var = _env_var(key)
        if var in env:
            translated = _translate(key, env[var], var, src.notes)
            if translated:
                src.values[translated[0]] = (translated[1], f"env {var}")
    for os_name in _OSES:
        values = {}
        for key in _MAPPED.keys() - _GLOBAL_ONLY:
            var = _env_var(key, os_name)
            if var in env:
                translated = _translate(key, env[var], var, src.notes)
                if translated:
                    values[translated[0]] = translated[1]
        if values:
            src.overrides.append(Override(OS_SELECT[os_name], values, f"env CIBW_*_{os_name.upper()}"))

    _no_repair_command(src)
    _matrix(table, env, src, default_platforms)
    _dependency_versions(table, env, src)
    for var in env:
        name = var[len("CIBW_") :]
        base = name.rsplit("_", 1)[0] if name.rsplit("_", 1)[-1] in {"LINUX", "MACOS", "WINDOWS"} else name
        key = base.lower().replace("_", "-")
        if name in _ENV_ONLY:
            if name == "OUTPUT_DIR":
                src.values["output-dir"] = (env[var], f"env {var}")
            else:
                src.ci_only.append(var)
        elif not _known(key) and not any(key == k.replace("-", "_").lower() for k in _MAPPED):
            src.notes.append(f"{var} is not understood by shipwheel and is ignored")
        elif key in _CI_ONLY or key.endswith(_IMAGE_SUFFIX):
            src.ci_only.append(var)
    return src


def _no_repair_command(src: CibwSource) -> None:
    """cibuildwheel's empty ``repair-wheel-command`` keeps the wheel as built (its Linux default is auditwheel
    only when the key is not set): shipwheel's ``repair = false``. A per-identifier command turns repair back on
    for the identifiers it selects."""
    import dataclasses

    command = src.values.get("repair-wheel-command")
    if command is not None and command[0] == "":
        src.values["repair"] = (False, command[1])
    for index, o in enumerate(src.overrides):
        if "repair-wheel-command" in o.values:
            values = {**o.values, "repair": o.values["repair-wheel-command"] != ""}
            src.overrides[index] = dataclasses.replace(o, values=values)


def _matrix(
    table: Mapping[str, Any], env: Mapping[str, str], src: CibwSource, defaults: tuple[str, ...]
) -> None:
    """``archs`` into ``platforms``, ``enable`` into ``free-threaded`` and ``skip``; selectors shipwheel can't
    match (PyPy, GraalPy, Pyodide, CPython it does not know) are left out with a note."""
    platforms: list[str] = []
    origin = ""
    for os_name in _OSES:
        sub = table.get(os_name) or {}
        candidates = [
            (env.get(_env_var("archs", os_name)), f"env {_env_var('archs', os_name)}"),
            (env.get(_env_var("archs")), "env CIBW_ARCHS"),
            (sub.get("archs"), f"[tool.cibuildwheel.{os_name}]"),
            (table.get("archs"), "[tool.cibuildwheel]"),
        ]
        archs, where = next(((a, w) for a, w in candidates if a), ("auto", ""))
        _check_type("archs", archs, where or "[tool.cibuildwheel]")
        if isinstance(archs, list):
            archs = " ".join(str(a) for a in archs)
        platforms += _archs_to_platforms(str(archs), os_name, defaults)
        origin = origin or where
    if origin:
        src.values["platforms"] = (platforms, origin)

    enable_raw = [table.get("enable", []), env.get("CIBW_ENABLE", "")]  # the variable adds to the table
    _check_type("enable", enable_raw[0], "[tool.cibuildwheel]")
    groups: set[str] = set()
    for item in enable_raw:
        groups |= set(item.split() if isinstance(item, str) else [str(g) for g in item])
    if "all" in groups:
        groups |= {"cpython-freethreading", "cpython-prerelease", "pypy", "pypy-eol", "graalpy"}
    for group in sorted(groups - {"all", "cpython-freethreading"}):
        src.notes.append(
            f"enable '{group}' has no effect: shipwheel builds the released CPython versions only"
        )
    src.values.setdefault("free-threaded", (True, "cibuildwheel's default (cp314t)"))
    skip_raw, skip_origin = src.values.get("skip", ("", "cibuildwheel's default"))
    skip = _selectors(skip_raw, "skip", src)
    if "cpython-freethreading" not in groups:
        skip.append("cp313t-*")  # cibuildwheel 3 builds 3.13t only when enabled
    src.values["skip"] = (skip, skip_origin)
    if "build" in src.values:
        build_raw, build_origin = src.values["build"]
        src.values["build"] = (_selectors(build_raw, "build", src), build_origin)
    if "test-skip" in src.values:
        raw, where = src.values["test-skip"]
        src.values["test-skip"] = (_selectors(raw, "test-skip", src), where)


def _selectors(raw: Any, what: str, src: CibwSource) -> list[str]:
    from ..errors import SelectorError
    from ..matrix import Selector  # matrix imports config: import when used

    items = raw.split() if isinstance(raw, str) else [str(p) for item in raw for p in str(item).split()]
    kept = []
    for item in items:
        try:
            Selector.parse(item)
        except SelectorError:
            src.notes.append(
                f"{what} selector {item!r} matches no CPython identifier shipwheel builds; left out"
            )
            continue
        kept.append(item)
    return kept


def _dependency_versions(table: Mapping[str, Any], env: Mapping[str, str], src: CibwSource) -> None:
    """``pinned``/``latest`` pin cibuildwheel's own tools (CI only); a constraints file constrains the build
    environments (``PIP_CONSTRAINT``, ``UV_CONSTRAINT``), which is where it applies in shipwheel."""
    value = env.get("CIBW_DEPENDENCY_VERSIONS") or table.get("dependency-versions")
    if not value:
        return
    _check_type("dependency-versions", value, "[tool.cibuildwheel]")
    if isinstance(value, dict):
        value = value.get("file", "")
    value = str(value).removeprefix("file:")
    if value in {"pinned", "latest"} or value.startswith("packages:"):
        src.ci_only.append(f"dependency-versions = {value!r}")
        return
    raw, origin = src.values.get("environment", ({}, "[tool.cibuildwheel]"))
    # relative to where cibuildwheel runs: the working folder for the variable, the project for the table
    if "CIBW_DEPENDENCY_VERSIONS" in env:
        path = os.path.abspath(value)
    else:
        path = value if os.path.isabs(value) else "{project}/" + value
    src.values["environment"] = ({**dict(raw), "PIP_CONSTRAINT": path, "UV_CONSTRAINT": path}, origin)


_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def expand_environment(assignments: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
    """Evaluate ``environment`` as cibuildwheel does: in order, each ``$VAR`` / ``${VAR}`` replaced by the value
    set just before, else the one in ``base`` (the build's environment), else the empty string. Returns only
    the assigned variables. ``$(...)`` command substitution is left as written."""
    out: dict[str, str] = {}

    def lookup(m: re.Match[str]) -> str:
        name = m["braced"] or m["plain"]
        return out.get(name, base.get(name, ""))

    for name, value in assignments.items():
        out[name] = _VAR.sub(lookup, value)
    return out
