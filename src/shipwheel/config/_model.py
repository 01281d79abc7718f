"""Typed, frozen views of the ``[tool.shipwheel]`` table.

Each section of the table is one dataclass; the loader fills it from the packaged defaults, the project's
pyproject.toml, ``SHIPWHEEL_*`` variables and the command line, in that order of rising precedence. Field names
are the TOML keys with ``-`` turned into ``_``. Supported field types: ``str``, ``int``, ``float``, ``bool``,
``tuple[str, ...]`` (a TOML list, or a whitespace-separated string) and ``Mapping[str, str]`` (a TOML table, or
``KEY=VALUE`` pairs in an environment variable). A field whose metadata says ``path=True`` is resolved against
the project folder when it comes from pyproject.toml or the defaults, and against the working folder when it
comes from the environment or the command line.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.specifiers import SpecifierSet

from ..matrix import Identifier, expand_braces, expected_identifiers
from ._cibuildwheel import Override
from ._downstream import DownstreamProject

__all__ = [
    "BYTES",
    "JOBS",
    "JOBS_OR_CORES",
    "RATIO",
    "RETRIES",
    "SECTIONS",
    "TIMEOUT",
    "Bounds",
    "BuildOptions",
    "ChangelogOptions",
    "Config",
    "FetchOptions",
    "NotesOptions",
    "ProjectInfo",
    "PublishOptions",
    "ReleaseOptions",
    "SignOptions",
    "StageOptions",
    "VerifyOptions",
]

_PATH = MappingProxyType({"path": True})


@dataclass(frozen=True, slots=True)
class Bounds:
    """The range a numeric option must lie in; the config loader and the command line both check it.

    Upper ends exist because a huge count or timeout is never meant and breaks the layer below (thread pools,
    ``socket.settimeout``, back-off arithmetic) with an error that names none of the user's input.
    """

    low: float
    high: float
    #: the value must be greater than ``low``, not equal to it (a timeout of 0 is not a timeout)
    above: bool = False

    def check(self, value: float) -> bool:
        """Whether ``value`` lies in the range (never for NaN or infinity)."""
        if not math.isfinite(value) or value > self.high:
            return False
        return value > self.low if self.above else value >= self.low

    def describe(self, kind: type) -> str:
        """``a whole number from 1 to 1024`` / ``a number of seconds above 0 and at most 86400``."""
        noun = "a whole number" if kind is int else "a number"
        high = f"{self.high:g}" if self.high < 1e15 else f"{int(self.high)}"
        if self.above:
            return f"{noun} above {self.low:g} and at most {high}"
        return f"{noun} from {self.low:g} to {high}"


#: Parallel workers where 0 means one per core (build, verify).
JOBS_OR_CORES = Bounds(0, 1024)
#: Parallel workers (downloads, uploads).
JOBS = Bounds(1, 1024)
#: Retries after the first try.
RETRIES = Bounds(0, 100)
#: Network timeouts, in seconds: more than 0, at most a day.
TIMEOUT = Bounds(0, 86400, above=True)
#: File sizes in bytes.
BYTES = Bounds(1, 2**62)
#: Compression ratios.
RATIO = Bounds(0, 1e9, above=True)


def _num(bounds: Bounds) -> Mapping[str, Any]:
    return MappingProxyType({"bounds": bounds})


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildOptions:
    """Top-level keys of ``[tool.shipwheel]``: the build matrix and how each wheel is built, repaired and tested."""

    build: tuple[str, ...]
    skip: tuple[str, ...]
    platforms: tuple[str, ...]
    free_threaded: bool
    interpreters: tuple[str, ...]
    before_all: str
    before_build: str
    environment: Mapping[str, str]
    environment_pass: tuple[str, ...]
    build_frontend: str
    #: PEP 517 config settings as ``KEY=VALUE`` items; a key may repeat (``setup-args`` of meson-python)
    config_settings: tuple[str, ...] = field(metadata=MappingProxyType({"pairs": True}))
    before_test: str
    test_requires: tuple[str, ...]
    #: PEP 735 dependency groups of the project installed for the tests (cibuildwheel's test-groups)
    test_groups: tuple[str, ...]
    test_extras: tuple[str, ...]
    test_sources: tuple[str, ...]
    test_command: str
    test_skip: tuple[str, ...]
    repair: bool
    repair_wheel_command: str
    sdist_zip: bool
    jobs: int = field(metadata=_num(JOBS_OR_CORES))
    output_dir: Path = field(metadata=_PATH)
    cache_dir: Path = field(metadata=_PATH)
    log_dir: Path = field(metadata=_PATH)

    def identifiers(self, requires_python: SpecifierSet | None) -> list[Identifier]:
        """The identifiers these options select for a project that admits ``requires_python``, sorted."""
        return expected_identifiers(
            platforms=self.platforms,
            build=self.build,
            skip=self.skip,
            free_threaded=self.free_threaded,
            requires_python=requires_python,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyOptions:
    """``[tool.shipwheel.verify]``: limits and strictness of ``shipwheel verify``."""

    max_file_size: int = field(metadata=_num(BYTES))
    max_uncompressed_size: int = field(metadata=_num(BYTES))
    max_compression_ratio: float = field(metadata=_num(RATIO))
    strict: bool
    ignore: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class StageOptions:
    """``[tool.shipwheel.stage]``: where ``shipwheel stage`` puts release candidates, and the most uploads at once."""

    to: str
    jobs: int = field(metadata=_num(JOBS))


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchOptions:
    """``[tool.shipwheel.fetch]``: where ``shipwheel fetch`` takes the release files from."""

    from_: str = field(metadata={"key": "from"})
    wheelhouse: Path = field(metadata=_PATH)
    jobs: int = field(metadata=_num(JOBS))
    retries: int = field(metadata=_num(RETRIES))
    timeout: float = field(metadata=_num(TIMEOUT))
    allow_hosts: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class PublishOptions:
    """``[tool.shipwheel.publish]``: the index ``shipwheel publish`` uploads to and how."""

    repository: str
    jobs: int = field(metadata=_num(JOBS))
    retries: int = field(metadata=_num(RETRIES))
    timeout: float = field(metadata=_num(TIMEOUT))
    verify: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class SignOptions:
    """``[tool.shipwheel.sign]``: the GPG key ``shipwheel sign`` uses; ``trusted_keys``: the fingerprints whose
    signatures are accepted (empty: ``key``)."""

    key: str
    gpg: str
    trusted_keys: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangelogOptions:
    """``[tool.shipwheel.changelog]``: how contributor and pull-request lists are made from git."""

    pr_url: str
    bots: tuple[str, ...]
    #: also leave out GitHub's bot accounts (``[bot]`` names and addresses) and names ending in " bot" / "-bot"
    detect_bots: bool
    titles_file: str
    format: str


@dataclass(frozen=True, kw_only=True, slots=True)
class NotesOptions:
    """``[tool.shipwheel.notes]``: release notes from towncrier fragments."""

    template: str
    format: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ReleaseOptions:
    """``[tool.shipwheel.release]``: version locations, commit and tag, and the preflight checks of a release."""

    version_files: tuple[str, ...]
    version_patterns: Mapping[str, str]
    commit_message: str
    bump_message: str
    tag_format: str
    tag_message: str
    branch: str
    notes_file: str
    deprecation_patterns: tuple[str, ...]
    deprecation_paths: tuple[str, ...]
    api_command: str
    api_registry: str
    api_version: str
    docs_command: str
    sdist_ignore: tuple[str, ...]
    project_quota: int
    announce_from: str
    announce_to: tuple[str, ...]
    smtp_host: str
    smtp_port: int
    smtp_starttls: bool
    smtp_user: str
    smtp_ca_file: str
    docs_dir: str
    docs_repo: str
    docs_url: str
    branch_format: str
    steps: tuple[str, ...]
    complete_matrix: bool


#: TOML sub-table name (``""`` for the top level) -> dataclass.
SECTIONS: Mapping[str, type[Any]] = MappingProxyType(
    {
        "": BuildOptions,
        "verify": VerifyOptions,
        "stage": StageOptions,
        "fetch": FetchOptions,
        "publish": PublishOptions,
        "sign": SignOptions,
        "changelog": ChangelogOptions,
        "notes": NotesOptions,
        "release": ReleaseOptions,
    }
)


def toml_key(f: dataclasses.Field[Any]) -> str:
    """The TOML key of a dataclass field (``test_command`` -> ``test-command``)."""
    key: str = f.metadata.get("key", f.name.replace("_", "-"))
    return key


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectInfo:
    """What the ``[project]`` table says about the project being released."""

    name: str | None
    version: str | None
    requires_python: SpecifierSet | None
    dynamic: tuple[str, ...] = ()
    #: the ``[dependency-groups]`` table (PEP 735), as written
    dependency_groups: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Config:
    """The resolved configuration of one project.

    ``sources`` maps every dotted key (``test-command``, ``verify.max-file-size``) to where its value came from:
    ``default``, ``pyproject.toml``, ``env SHIPWHEEL_…`` or ``command line``.
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
    sources: Mapping[str, str]
    #: cibuildwheel's per-identifier values (platform tables, ``[[overrides]]``, ``CIBW_*_LINUX``), in order
    overrides: tuple[Override, ...] = ()
    #: warnings about the configuration (a cibuildwheel key shipwheel does not understand …), one line each
    warnings: tuple[str, ...] = ()
    #: cibuildwheel settings that only its own CI runs use (container images, its tool pins)
    ci_only: tuple[str, ...] = ()
    #: how the file the ``[tool.*]`` tables came from is shown (never a temporary path)
    pyproject_label: str = ""
    #: ``[[tool.shipwheel.downstream]]``: the projects whose test suites test this one's candidates
    downstream: tuple[DownstreamProject, ...] = ()

    def identifiers(self) -> list[Identifier]:
        """The identifiers a release of the project ships: the build options over ``requires-python``."""
        return self.build.identifiers(self.project.requires_python)

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

    def for_identifier(self, identifier: str) -> BuildOptions:
        """The build options of one identifier: the overrides whose ``select`` matches it applied in order."""
        options = self.build
        for o in self.overrides:
            patterns = [p for item in o.select.split() for p in expand_braces(item)]
            if not any(fnmatch.fnmatchcase(identifier, p) for p in patterns):
                continue
            changes = {}
            for name, value in o.values.items():
                mode = o.inherit.get(name.replace("_", "-"), "none")
                old = getattr(options, name)
                if mode != "none":
                    value = _inherit(old, value, prepend=mode == "prepend")
                changes[name] = value
            options = dataclasses.replace(options, **changes)
        return options

    def as_dict(self) -> dict[str, Any]:
        """The resolved values as a JSON-ready dict keyed by dotted TOML key."""
        out: dict[str, Any] = {}
        for section, cls in SECTIONS.items():
            obj = getattr(self, section or "build")
            for f in dataclasses.fields(cls):
                key = f"{section}.{toml_key(f)}" if section else toml_key(f)
                value = getattr(obj, f.name)
                if isinstance(value, Path):
                    value = str(value)
                elif isinstance(value, tuple):
                    value = list(value)
                elif isinstance(value, Mapping):
                    value = dict(value)
                out[key] = value
        return out


def _inherit(old: Any, new: Any, *, prepend: bool) -> Any:
    """cibuildwheel's ``inherit``: a command joined with ``&&``, lists concatenated, tables merged."""
    first, second = (new, old) if prepend else (old, new)
    if isinstance(new, str):
        return " && ".join(v for v in (first, second) if v)
    if isinstance(new, tuple):
        return (*first, *second)
    return MappingProxyType({**first, **second})
