"""The resolved configuration of one project: its options, and what each identifier gets and from where."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import SpecifierSet

from ..matrix import ALL_PLATFORMS, Identifier, expected_identifiers
from ._archs import Host, host_platforms, release_platforms
from ._cascade import Resolved, os_of, resolve
from ._downstream import DownstreamProject
from ._lines import LINES, LineChoice
from ._model import (
    CIBW_ARCHS,
    CIBW_ENABLE,
    SPECS,
    BuildOptions,
    ChangelogOptions,
    CiOptions,
    FetchOptions,
    NotesOptions,
    ProjectInfo,
    PublishOptions,
    ReleaseOptions,
    SignOptions,
    StageOptions,
    VerifyOptions,
)
from ._values import Level, Value

__all__ = ["Config", "JsonValue"]

#: A JSON-ready value (what ``as_dict`` and ``shipwheel config --json`` give).
JsonValue = str | int | float | bool | None | list[str] | dict[str, str]
_OSES = ("linux", "macos", "windows")


@dataclass(frozen=True, slots=True)
class JobMatrix:
    """One combination of one cibuildwheel job of the project's workflows: every level as that job sees it
    (its ``CIBW_*``), and the runner's machine (None: unknown, read for the whole release)."""

    levels: tuple[Level, ...]
    host: Host | None
    origin: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Config:
    """The resolved configuration of one project.

    ``sources`` maps every dotted key (``test-command``, ``verify.max-file-size``) to where its value for every
    identifier came from (``default``, ``cibuildwheel 4.3 default``, ``[tool.cibuildwheel]``, ``env CIBW_SKIP``,
    a workflow, ``pyproject.toml``, ``env SHIPWHEEL_…``, ``command line``); :meth:`explain` says the same per
    identifier.
    """

    project_dir: Path
    pyproject: Path | None
    project: ProjectInfo
    build: BuildOptions
    verify: VerifyOptions
    stage: StageOptions
    fetch: FetchOptions
    publish: PublishOptions
    sign: SignOptions
    changelog: ChangelogOptions
    notes: NotesOptions
    release: ReleaseOptions
    ci: CiOptions
    sources: Mapping[str, str]
    #: every level of every source, lowest first: what :meth:`for_identifier` folds
    levels: tuple[Level, ...] = ()
    #: the levels once per combination of every cibuildwheel job of the project's workflows, with its runner:
    #: the release is the union of what cibuildwheel builds in each
    variants: tuple[JobMatrix, ...] = ()
    #: the cibuildwheel line the configuration is read with, and why
    cibuildwheel: LineChoice = field(default_factory=lambda: LineChoice(LINES[0], "default"))
    #: problems worth a warning on every command (a key that is not understood ...), one line each
    warnings: tuple[str, ...] = ()
    #: what ``shipwheel config`` tells and no other command needs to (PyPy groups, keys of other tools)
    remarks: tuple[str, ...] = ()
    #: cibuildwheel settings that only its own CI runs use (container images, its tool pins)
    ci_only: tuple[str, ...] = ()
    #: how the file the ``[tool.*]`` tables came from is shown (never a temporary path)
    pyproject_label: str = ""
    #: ``[[tool.shipwheel.downstream]]``: the projects whose test suites test this one's candidates
    downstream: tuple[DownstreamProject, ...] = ()

    # --- the matrix -------------------------------------------------------------------------------------
    @property
    def configures_build(self) -> bool:
        """Whether any build setting comes from the project or the user (not only from the defaults)."""
        return (
            any(not _is_default(o) for k, o in self.sources.items() if "." not in k)
            or any(lv.tool != "default" and (lv.os or lv.select) for lv in self.levels)
            or bool(self.variants)
        )

    def identifiers(self, requires_python: SpecifierSet | None = None) -> list[Identifier]:
        """The identifiers a release of the project ships: per system, the line's CPython versions that
        ``requires-python`` (default: the project's) admits on the configured platforms, kept by ``build``,
        dropped by ``skip``; the union over the project's cibuildwheel jobs when its workflows set matrix
        variables per job."""
        found: set[Identifier] = set()
        for job in self.variants or (JobMatrix(self.levels, None, ""),):
            for os_name in _OSES if job.host is None else (job.host.system,):
                platforms = self._platforms(job.levels, os_name, job.host)
                found.update(self._select(job.levels, os_name, platforms, requires_python))
        order = list(self.build.platforms)
        return sorted(found, key=lambda i: (i.minor, i.free_threaded, _index(order, i.platform)))

    def cibuildwheel_identifiers(self, os_name: str, host: Host | None = None) -> list[Identifier]:
        """What ``cibuildwheel --print-build-identifiers --platform OS`` of the project's line prints on
        ``host`` (default: this machine) with this configuration, in cibuildwheel's order."""
        platforms = self._platforms(self.levels, os_name, host or Host.here())
        ids = self._select(self.levels, os_name, platforms)
        return sorted(ids, key=lambda i: (i.minor, i.free_threaded, _index(platforms, i.platform)))

    def _value(self, levels: Sequence[Level], key: str, os_name: str | None) -> Resolved:
        found = resolve(levels, key, SPECS[key].kind, os=os_name)
        assert found is not None, key  # the defaults set every key
        return found

    def _platforms(self, levels: Sequence[Level], os_name: str, host: Host | None) -> list[str]:
        """The platforms of ``os_name``: shipwheel's own ``platforms`` when set there, else cibuildwheel's
        ``archs`` (on ``host``, or for the whole release when ``host`` is None)."""
        platforms = self._value(levels, "platforms", os_name)
        own = [str(p) for p in _strings(platforms.value) if os_of(f"x-{p}") == os_name]
        if platforms.tool == "shipwheel":
            return own
        archs = resolve(levels, CIBW_ARCHS, "str", os=os_name)
        words = str(archs.value) if archs is not None else "auto"
        any_case = self.cibuildwheel.line.table_inherit
        if host is None:
            default = [str(p) for p in _strings(self._value(levels, "platforms", None).value)]
            return release_platforms(words, os_name, default, any_case=any_case)
        return host_platforms(words, os_name, host, any_case=any_case)

    def _select(
        self,
        levels: Sequence[Level],
        os_name: str,
        platforms: Sequence[str],
        requires_python: SpecifierSet | None = None,
    ) -> list[Identifier]:
        line = self.cibuildwheel.line
        enable = resolve(levels, CIBW_ENABLE, "list", os=os_name)
        groups, _ = line.enabled_groups(_strings(enable.value) if enable is not None else ())
        free = self._value(levels, "free-threaded", os_name)
        versions = line.free_threaded_versions(groups)
        if free.tool == "shipwheel":  # asked for by name: every free-threaded CPython of the line
            versions = (*line.free_threaded_enabled, *line.free_threaded)
        ids = expected_identifiers(
            platforms=platforms,
            build=_strings(self._value(levels, "build", os_name).value) or ("*",),
            skip=_strings(self._value(levels, "skip", os_name).value),
            free_threaded=bool(free.value),
            requires_python=requires_python or self.project.requires_python,
            versions=line.cpython,
            free_threaded_versions=versions,
        )
        return [i for i in ids if str(i) not in line.missing]

    # --- per identifier ---------------------------------------------------------------------------------
    def explain(self, identifier: str | None = None, os_name: str | None = None) -> dict[str, Resolved]:
        """Every build key's value for ``identifier`` (or for a system, or unscoped), where it came from and
        what it replaced."""
        out = {}
        for key, spec in SPECS.items():
            if spec.section not in {"", "cibuildwheel"}:
                continue
            found = resolve(self.levels, key, spec.kind, identifier=identifier, os=os_name)
            if found is not None:
                out[key] = found
        return out

    def for_identifier(self, identifier: str) -> BuildOptions:
        """The build options of one identifier, every level of every source folded as cibuildwheel folds its
        own (platform tables, overrides, ``inherit``), shipwheel's values winning per key."""
        resolved = self.explain(identifier)
        values: dict[str, Value] = {}
        for f in dataclasses.fields(BuildOptions):
            key = f.name.replace("_", "-")
            values[f.name] = resolved[key].value
        command = resolved["repair-wheel-command"]
        if resolved["repair"].tool != "shipwheel":
            # an empty command set in cibuildwheel's configuration keeps the wheel as built (its platform default,
            # and shipwheel's own empty command, repair it)
            values["repair"] = not (command.tool == "cibuildwheel" and command.value == "")
        return _build_options(values)

    def before_all(self, os_name: str) -> str:
        """The ``before-all`` command of a system (cibuildwheel runs it once per platform it builds on)."""
        found = resolve(self.levels, "before-all", "str", os=os_name)
        return str(found.value) if found is not None else ""

    def test_requirements(self, options: BuildOptions | None = None) -> tuple[str, ...]:
        """What the tests of a wheel need: ``test-requires`` and the requirements of ``test-groups``."""
        import dependency_groups
        from packaging.requirements import InvalidRequirement

        from ..errors import ConfigError

        options = options or self.build
        if not options.test_groups:
            return options.test_requires
        try:
            grouped = dependency_groups.resolve(self.project.dependency_groups, *options.test_groups)
        except (LookupError, ValueError, TypeError, InvalidRequirement) as exc:
            raise ConfigError(
                f"test-groups {' '.join(options.test_groups)}: {exc}",
                hint="name groups of the project's [dependency-groups] table",
            ) from None
        return (*options.test_requires, *grouped)

    def as_dict(self) -> dict[str, JsonValue]:
        """The resolved values as a JSON-ready dict keyed by dotted TOML key."""
        out: dict[str, JsonValue] = {}
        for key, spec in SPECS.items():
            if spec.section == "cibuildwheel":
                continue
            section = getattr(self, spec.section or "build")
            out[key] = jsonable(getattr(section, spec.name))
        return out


def jsonable(value: Value) -> JsonValue:
    """A configuration value as JSON gives it."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _is_default(origin: str) -> bool:
    return origin == "default" or origin.endswith(" default")


def _strings(value: Value) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


def _index(order: Sequence[str], item: str) -> int:
    """``item``'s place in ``order``; platforms not in it follow, in :data:`ALL_PLATFORMS` order."""
    return order.index(item) if item in order else len(order) + ALL_PLATFORMS.index(item)


def _build_options(values: Mapping[str, Value]) -> BuildOptions:
    make: Callable[..., BuildOptions] = BuildOptions  # each value was checked against its field's kind
    return make(**values)
