"""Load the configuration: one reader per source, and one merge in the precedence written once (``PRECEDENCE``)."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from packaging.utils import canonicalize_name

from .._fs import read_text
from ..errors import ConfigError, ProjectError, SelectorError
from ._archs import release_platforms, runner_host
from ._cascade import resolve
from ._cibuildwheel import CibwReading, dependency_versions, line_defaults, read_table
from ._cibw_env import EnvValue, read_env
from ._config import Config, JobMatrix
from ._downstream import read_downstream
from ._files import load_defaults, read_pyproject, read_sdist_member, read_sdist_pyproject, read_toml
from ._lines import CibuildwheelLine, LineChoice, choose_line
from ._metadata import project_info
from ._model import (
    CIBW_ARCHS,
    SECTIONS,
    SPECS,
    BuildOptions,
    ChangelogOptions,
    CiOptions,
    FetchOptions,
    NotesOptions,
    ProjectInfo,
    PublishOptions,
    ReleaseOptions,
    Section,
    SignOptions,
    StageOptions,
    VerifyOptions,
)
from ._shipwheel import (
    ENV_PREFIX,
    Where,
    cli_level,
    default_level,
    env_level,
    env_name,
    shipwheel_levels,
    subtable,
)
from ._templates import TEMPLATES, check_template
from ._values import Level, Raw, Setting, Value
from ._workflows import Workflows, read_workflows

__all__ = ["ENV_PREFIX", "PRECEDENCE", "env_name", "load_config"]

# Warnings about the configuration go through the package's logger: every command that loads it shows them.
log = logging.getLogger("shipwheel")

#: The sources, lowest first; within each, its own levels in its own order (a table, its platform tables, its
#: overrides; ``CIBW_X`` then ``CIBW_X_<PLATFORM>``). The only place the precedence is written.
PRECEDENCE = (
    "default",  # shipwheel's packaged defaults.toml
    "cibuildwheel default",  # the project's cibuildwheel line: free-threaded builds, each platform's repair
    "[tool.cibuildwheel]",
    "CIBW_* variables",  # from the project's workflows, then the environment (which wins per variable)
    "[tool.shipwheel]",
    "SHIPWHEEL_* environment",
    "command line",
)


@dataclass(frozen=True, slots=True)
class _Files:
    """The files the configuration comes from: ``[project]``'s and the ``[tool.*]`` tables' (``--config-dir``)."""

    project_dir: Path
    is_sdist: bool
    pyproject: dict[str, Raw] | None
    tool_source: dict[str, Raw] | None
    tool_label: str
    base: Path
    checkout: Path | None
    pkg_info: str | None = None


@dataclass
class _Sources:
    """Every source as read, before the merge."""

    files: _Files
    environ: Mapping[str, str]
    cli: Mapping[str, Raw]
    workflows: Workflows
    cwd: Path = field(default_factory=Path.cwd)
    #: cibuildwheel 4 reads architecture names in any case
    choice_any_case: bool = True

    @property
    def tool(self) -> dict[str, Raw]:
        return subtable(self.files.tool_source or {}, "tool", "[tool]")

    @functools.cached_property
    def defaults(self) -> Level:
        """The packaged defaults."""
        return default_level(load_defaults(), self.files.base)

    @functools.cached_property
    def shipwheel(self) -> tuple[Level, ...]:
        """``[tool.shipwheel]`` and its per-identifier tables, ``SHIPWHEEL_*``, the command line."""
        user = subtable(self.tool, "shipwheel", "[tool.shipwheel]")
        own = shipwheel_levels(user, Where(self.files.base, self.files.tool_label))
        return (*own, env_level(self.environ, self.cwd), cli_level(self.cli, self.cwd))

    @property
    def cibw_env(self) -> dict[str, EnvValue]:
        """``CIBW_*`` from every cibuildwheel job of the workflows (where they agree), then the environment."""
        own = {k: (v, f"env {k}") for k, v in self.environ.items() if k.startswith("CIBW_")}
        return {**self.workflows.common(), **own}


def load_config(
    project_dir: Path | str = ".",
    *,
    overrides: Mapping[str, Raw] | None = None,
    environ: Mapping[str, str] | None = None,
    require_pyproject: bool = False,
    paths_relative_to: Path | str | None = None,
    config_dir: Path | str | None = None,
    label: str | None = None,
) -> Config:
    """Resolve the configuration of the project in ``project_dir`` (a folder, or an sdist file).

    :param overrides: values from the command line, keyed by dotted TOML key (``jobs``, ``verify.strict``);
        ``None`` values are ignored so that unset options fall through.
    :param environ: the environment to read ``SHIPWHEEL_*`` and ``CIBW_*`` variables from (default:
        ``os.environ``).
    :param require_pyproject: raise :class:`ProjectError` when the folder has no pyproject.toml.
    :param paths_relative_to: the folder relative paths from pyproject.toml and the defaults are resolved against
        (default: ``project_dir``, or the working folder for an sdist).
    :param config_dir: take ``[tool.shipwheel]``, ``[tool.cibuildwheel]`` and the workflows from this checkout
        (for an sdist made elsewhere); ``[project]`` still comes from ``project_dir``.
    :param label: how the project's pyproject.toml is named in messages and sources — never a temporary path.
    :raises ConfigError: unknown keys (with a suggestion) or values of the wrong type.
    """
    files = _files(Path(project_dir).expanduser(), config_dir, label, paths_relative_to, require_pyproject)
    sources = _Sources(
        files,
        os.environ if environ is None else environ,
        {k: v for k, v in (overrides or {}).items() if v is not None},
        read_workflows(files.checkout) if files.checkout is not None else Workflows(),
    )
    choice = _line(sources)
    sources.choice_any_case = choice.line.table_inherit
    reading = _read_cibuildwheel(sources, choice.line, sources.cibw_env)
    levels = _levels(sources, choice.line, reading)
    sections, origins = _sections(levels)
    build = sections[""]
    cache = getattr(build, "cache_dir", None)
    info = project_info(
        files.pyproject,
        None if files.is_sdist else files.project_dir,
        pkg_info=files.pkg_info,
        cache=cache if isinstance(cache, Path) else None,
    )
    info = _requires_python(info, sources.cibw_env)
    _check(levels, origins, sources)
    warnings = [*reading.notes_for_warning(), *_rejections(choice)]
    for warning in warnings:
        log.warning("%s", warning)
    return _config(
        files,
        sections,
        origins,
        levels,
        _variants(sources, choice.line),
        choice,
        info,
        reading,
        warnings,
        sources,
    )


def _files(
    given: Path, config_dir: Path | str | None, label: str | None, relative: Path | str | None, required: bool
) -> _Files:
    """Read ``[project]``'s file (a folder's pyproject.toml, or an sdist's) and the ``[tool.*]`` tables' one."""
    if given.is_file():
        project_dir = given.resolve()
        label = label or f"{given.name}:pyproject.toml"
        pyproject = read_sdist_pyproject(project_dir, label)
        pkg_info = read_sdist_member(project_dir, "PKG-INFO")
        base, checkout = Path(relative or Path.cwd()).resolve(), None
    else:
        project_dir, pkg_info = given.resolve(), None
        pyproject = read_pyproject(project_dir, label)
        base = Path(relative).resolve() if relative is not None else project_dir
        checkout = project_dir
        if pyproject is None and (project_dir / "PKG-INFO").is_file():
            pkg_info = _read_pkg_info(project_dir / "PKG-INFO")
    if pyproject is None and required and not (project_dir / "setup.py").is_file():
        raise ProjectError(
            f"no pyproject.toml in {project_dir}",
            hint="run shipwheel in the project's folder or pass the folder (or an sdist) as PROJECT",
        )
    files = _Files(
        project_dir,
        given.is_file(),
        pyproject,
        pyproject,
        label or "pyproject.toml",
        base,
        checkout,
        pkg_info,
    )
    return (
        files
        if config_dir is None
        else _with_config_dir(files, Path(config_dir).expanduser().resolve(), relative)
    )


def _with_config_dir(files: _Files, folder: Path, relative: Path | str | None) -> _Files:
    path = folder / "pyproject.toml"
    if not path.is_file():
        raise ProjectError(
            f"no pyproject.toml in {folder}", hint="pass the folder of a checkout as --config-dir"
        )
    tool_source = read_toml(path)
    other = subtable(tool_source, "project", "[project]").get("name")
    mine = subtable(files.pyproject or {}, "project", "[project]").get("name")
    if (
        isinstance(other, str)
        and isinstance(mine, str)
        and canonicalize_name(other) != canonicalize_name(mine)
    ):
        raise ConfigError(
            f"--config-dir {folder} is the configuration of {other}, not of {mine}",
            hint="pass the checkout of the project the sdist belongs to",
        )
    base = folder if relative is None else files.base
    return _Files(
        files.project_dir,
        files.is_sdist,
        files.pyproject,
        tool_source,
        str(path),
        base,
        folder,
        files.pkg_info,
    )


def _configured_version(sources: _Sources) -> tuple[str, str] | None:
    """``ci.cibuildwheel-version`` from the command line, ``SHIPWHEEL_CI_CIBUILDWHEEL_VERSION`` or the file."""
    var = env_name("ci", "cibuildwheel-version")
    table = subtable(subtable(sources.tool, "shipwheel", "[tool.shipwheel]"), "ci", "[tool.shipwheel.ci]")
    for value, where in (
        (sources.cli.get("ci.cibuildwheel-version"), "--cibuildwheel-version"),
        (sources.environ.get(var), var),
        (table.get("cibuildwheel-version"), "ci.cibuildwheel-version"),
    ):
        if isinstance(value, str) and value:
            return value, where
    return None


def _line(sources: _Sources) -> LineChoice:
    def rejects(line: CibuildwheelLine) -> list[str]:
        try:
            reading = _read_cibuildwheel(sources, line, sources.cibw_env)
        except (ConfigError, SelectorError) as exc:
            return [exc.message]
        return reading.rejected + reading.unknown_groups

    return choose_line(_configured_version(sources), sources.workflows.pins, rejects)


def _read_cibuildwheel(sources: _Sources, line: CibuildwheelLine, env: Mapping[str, EnvValue]) -> CibwReading:
    """``[tool.cibuildwheel]`` then the ``CIBW_*`` variables, read with ``line``'s rules."""
    reading = read_table(sources.tool.get("cibuildwheel"), line, sources.files.base)
    reading.levels += read_env(env, line, sources.cwd, reading)
    table = sources.tool.get("cibuildwheel")
    pinned = env.get("CIBW_DEPENDENCY_VERSIONS")
    if pinned is not None:
        reading.levels += dependency_versions(pinned[0], pinned[1], reading, sources.cwd, from_env=True)
    elif isinstance(table, dict):
        reading.levels += dependency_versions(
            table.get("dependency-versions"), "[tool.cibuildwheel]", reading, sources.files.base
        )
    if "CIBW_OUTPUT_DIR" in env:
        value, origin = env["CIBW_OUTPUT_DIR"]
        reading.levels.append(_output_dir(value, origin, sources.cwd))
    reading.check_groups(line)
    return reading


def _output_dir(value: str, origin: str, cwd: Path) -> Level:
    from ._shipwheel import setting

    found = setting(SPECS["output-dir"], value, origin, origin, cwd, from_env=True)
    return Level(origin, "cibuildwheel", MappingProxyType({"output-dir": found}))


def _levels(sources: _Sources, line: CibuildwheelLine, reading: CibwReading) -> list[Level]:
    """Every level, in ``PRECEDENCE`` order."""
    cibuildwheel = [sources.defaults, *line_defaults(line), *reading.levels]
    return [*cibuildwheel, *_archs_platforms(cibuildwheel, line), *_pure_wheel(sources), *sources.shipwheel]


def _pure_wheel(sources: _Sources) -> list[Level]:
    """``ci.pure-wheel-environment`` from the job of the project's workflows that builds its pure wheel (one
    level with the workflows' ``CIBW_*``: below ``[tool.shipwheel]``, which may set it, or empty it)."""
    pure = sources.workflows.pure
    if pure is None:
        return []
    value = Setting(MappingProxyType(dict(pure.env)), pure.origin)
    return [Level(pure.origin, "workflows", MappingProxyType({"ci.pure-wheel-environment": value}))]


def _archs_platforms(levels: Sequence[Level], line: CibuildwheelLine) -> list[Level]:
    """cibuildwheel's ``archs`` as the ``platforms`` of the whole release (what ``config`` shows and what the
    steps read as "configured for platform wheels"); none when no level sets ``archs``."""
    default = resolve(levels, "platforms", "list")
    assert default is not None and isinstance(default.value, tuple)
    platforms: list[str] = []
    origin = ""
    for os_name in ("linux", "macos", "windows"):
        archs = resolve(levels, CIBW_ARCHS, "str", os=os_name)
        words = str(archs.value) if archs is not None else "auto"
        platforms += release_platforms(words, os_name, default.value, any_case=line.table_inherit)
        origin = origin or (archs.origin if archs is not None else "")
    if not origin:
        return []
    values = {"platforms": Setting(tuple(platforms), origin)}
    return [Level(origin, "cibuildwheel", MappingProxyType(values))]


def _variants(sources: _Sources, line: CibuildwheelLine) -> tuple[JobMatrix, ...]:
    """The levels once per combination of every cibuildwheel job of the project's workflows, with the runner
    it builds on: the release is the union of what cibuildwheel builds there."""
    own = {k: (v, f"env {k}") for k, v in sources.environ.items() if k.startswith("CIBW_")}
    out = []
    for job in sources.workflows.jobs:
        for variant in job.variants:
            reading = _read_cibuildwheel(sources, line, {**variant.env, **own})
            host = runner_host(variant.runner)
            origin = f"{job.workflow} (job {job.job}{f', {variant.runner}' if variant.runner else ''})"
            out.append(JobMatrix(tuple(_levels(sources, line, reading)), host, origin))
    return tuple(out)


def _sections(levels: Sequence[Level]) -> tuple[dict[str, Section], dict[str, str]]:
    """The unscoped value of every key, as the section dataclasses, and where each came from."""
    values: dict[str, dict[str, Value]] = {s: {} for s in SECTIONS}
    origins: dict[str, str] = {}
    for key, spec in SPECS.items():
        if spec.section == "cibuildwheel":
            continue
        found = resolve(levels, key, spec.kind)
        assert found is not None, key  # the packaged defaults set every key
        values[spec.section][spec.name] = found.value
        origins[key] = found.origin
    return {s: _make(SECTIONS[s], v) for s, v in values.items()}, origins


def _make(cls: type[Section], values: Mapping[str, Value]) -> Section:
    make: Callable[..., Section] = cls
    return make(**values)


def _check(levels: Sequence[Level], origins: Mapping[str, str], sources: _Sources) -> None:
    """What must hold of the resolved values: selectors that can match, known platforms, sound templates."""
    from ..matrix import ALL_PLATFORMS, Selector

    for key in ("build", "skip", "test-skip"):
        for os_name in (None, "linux", "macos", "windows"):  # a platform table's selectors too
            found = resolve(levels, key, "list", os=os_name)
            assert found is not None
            try:
                Selector.parse(found.value if isinstance(found.value, tuple) else (), what=f"{key} selector")
            except SelectorError as exc:
                if found.origin == "command line":
                    raise
                raise ConfigError(f"{exc.message} (from {found.origin})", hint=exc.hint) from None
    platforms = resolve(levels, "platforms", "list")
    for platform in platforms.value if platforms is not None and isinstance(platforms.value, tuple) else ():
        if platform not in ALL_PLATFORMS:
            raise ConfigError(
                f"unknown platform {platform!r} in 'platforms' (from {origins['platforms']})",
                hint="use platform parts like manylinux_x86_64, musllinux_aarch64, macosx_arm64, win_amd64",
            )
    for os_name in ("linux", "macos", "windows"):  # an unknown architecture fails at load, not mid-release
        archs = resolve(levels, CIBW_ARCHS, "str", os=os_name)
        if archs is not None:
            release_platforms(str(archs.value), os_name, (), any_case=sources.choice_any_case)
    for key in TEMPLATES:
        found = resolve(levels, key, "str")
        if found is not None and isinstance(found.value, str):
            check_template(key, found.value, found.origin)


def _requires_python(info: ProjectInfo, env: Mapping[str, EnvValue]) -> ProjectInfo:
    """cibuildwheel's ``CIBW_PROJECT_REQUIRES_PYTHON`` stands for the project's own requires-python."""
    import dataclasses

    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if "CIBW_PROJECT_REQUIRES_PYTHON" not in env or not env["CIBW_PROJECT_REQUIRES_PYTHON"][0].strip():
        return info
    text, origin = env["CIBW_PROJECT_REQUIRES_PYTHON"]
    try:
        return dataclasses.replace(info, requires_python=SpecifierSet(text))
    except InvalidSpecifier:
        raise ConfigError(
            f"{origin.removeprefix('env ')} {text!r} is not a version specifier",
            hint="write it like '>=3.10'",
        ) from None


def _rejections(choice: LineChoice) -> list[str]:
    if not choice.rejected:
        return []
    why = choice.reason
    return [
        f"cibuildwheel {choice.pinned or choice.line.newest} ({why}) refuses: {'; '.join(choice.rejected)}"
    ]


def _config(
    files: _Files,
    sections: Mapping[str, Section],
    origins: Mapping[str, str],
    levels: Sequence[Level],
    variants: tuple[JobMatrix, ...],
    choice: LineChoice,
    info: ProjectInfo,
    reading: CibwReading,
    warnings: Sequence[str],
    sources: _Sources,
) -> Config:
    config = Config(
        project_dir=files.project_dir,
        pyproject=files.project_dir / "pyproject.toml"
        if files.pyproject is not None and not files.is_sdist
        else None,
        project=info,
        sources=MappingProxyType(dict(origins)),
        levels=tuple(levels),
        variants=variants,
        cibuildwheel=choice,
        warnings=tuple(warnings),
        remarks=tuple([*reading.remarks(), *sources.workflows.notes]),
        ci_only=tuple(dict.fromkeys(reading.ci_only)),
        pyproject_label=files.tool_label if files.tool_source is not None else "",
        build=_section(sections, "", BuildOptions),
        verify=_section(sections, "verify", VerifyOptions),
        stage=_section(sections, "stage", StageOptions),
        fetch=_section(sections, "fetch", FetchOptions),
        publish=_section(sections, "publish", PublishOptions),
        sign=_section(sections, "sign", SignOptions),
        changelog=_section(sections, "changelog", ChangelogOptions),
        notes=_section(sections, "notes", NotesOptions),
        release=_section(sections, "release", ReleaseOptions),
        ci=_section(sections, "ci", CiOptions),
        downstream=read_downstream(subtable(sources.tool, "shipwheel", "[tool.shipwheel]"), files.tool_label),
    )
    return _with_release_platforms(config) if variants else config


def _with_release_platforms(config: Config) -> Config:
    """With cibuildwheel jobs in the workflows, ``platforms`` is what they build together, from the workflows
    (unless shipwheel's own ``platforms`` is set)."""
    import dataclasses

    if config.explain()["platforms"].tool == "shipwheel":
        return config
    platforms = tuple(dict.fromkeys(i.platform for i in config.identifiers()))
    jobs = sorted({job.origin.split(" (job ", 1)[0] for job in config.variants})
    sources = {**config.sources, "platforms": ", ".join(jobs)}
    build = dataclasses.replace(config.build, platforms=platforms)
    return dataclasses.replace(config, build=build, sources=MappingProxyType(sources))


_S = TypeVar("_S", bound=Section)


def _section(sections: Mapping[str, Section], name: str, cls: type[_S]) -> _S:
    found = sections[name]
    assert isinstance(found, cls)
    return found


def _read_pkg_info(path: Path) -> str:
    try:
        return read_text(path, errors="replace")
    except OSError as exc:
        raise ProjectError(
            f"cannot read {path}: {exc.strerror}", hint="check the file and its permissions"
        ) from exc
