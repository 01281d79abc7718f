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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from packaging.specifiers import SpecifierSet

from ._values import Bounds, Spec, specs_of

__all__ = [
    "BYTES",
    "CIBW_ARCHS",
    "CIBW_ENABLE",
    "JOBS",
    "JOBS_OR_CORES",
    "PORT",
    "RATIO",
    "RELEASE_STEPS",
    "RETRIES",
    "SECTIONS",
    "SPECS",
    "TIMEOUT",
    "Bounds",
    "BuildOptions",
    "ChangelogOptions",
    "CiOptions",
    "FetchOptions",
    "NotesOptions",
    "ProjectInfo",
    "PublishOptions",
    "ReleaseOptions",
    "SignOptions",
    "Spec",
    "StageOptions",
    "VerifyOptions",
    "toml_key",
]

_PATH = MappingProxyType({"path": True})

#: Parallel workers where 0 means one per core (build, verify).
JOBS_OR_CORES = Bounds(0, 1024)
#: Parallel workers (downloads, uploads).
JOBS = Bounds(1, 1024)
#: Retries after the first try.
RETRIES = Bounds(0, 100)
#: Development versions a staging container keeps.
DEV_KEEP = Bounds(1, 1000)
#: Network timeouts, in seconds: more than 0, at most a day.
TIMEOUT = Bounds(0, 86400, above=True)
#: File sizes in bytes.
BYTES = Bounds(1, 2**62)
#: Compression ratios.
RATIO = Bounds(0, 1e9, above=True)
#: TCP ports.
PORT = Bounds(1, 65535)
#: Byte quotas where 0 means not checked.
QUOTA = Bounds(0, 2**62)

#: Every step ``shipwheel release`` knows, in the order it runs them: the one list the configuration's
#: ``release.steps`` is checked against and the release pipeline runs (a new step is added here).
RELEASE_STEPS: tuple[str, ...] = (
    "check", "notes", "version", "tag", "build", "verify", "downstream", "sign", "stage", "publish", "docs", "announce", "bump",
    "push",  # not in the default release.steps: pushing is the release manager's call
)  # fmt: skip


def _num(bounds: Bounds) -> Mapping[str, Bounds]:
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

    from_: str
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
    project_quota: int = field(metadata=_num(QUOTA))
    announce_from: str
    announce_to: tuple[str, ...]
    smtp_host: str
    smtp_port: int = field(metadata=_num(PORT))
    smtp_starttls: bool
    smtp_user: str
    smtp_plain_login: bool
    smtp_ca_file: str
    docs_dir: str
    docs_repo: str
    docs_url: str
    branch_format: str
    steps: tuple[str, ...]
    complete_matrix: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class CiOptions:
    """``[tool.shipwheel.ci]``: the CI workflows ``shipwheel ci`` writes."""

    #: the cibuildwheel release the workflows pin and whose rules the configuration is read with; empty: the
    #: version the project's own workflows pin, else the newest line that accepts the configuration
    cibuildwheel_version: str
    #: the requirement the workflows install shipwheel with (``pip install``); empty: this shipwheel's own
    #: release, ``shipwheel==X``
    shipwheel_requirement: str
    #: the variables that make the build give the project's pure wheel (``py3-none-any``) beside its platform
    #: wheels; empty: the project ships none. Read from the job of the project's workflows that builds it.
    pure_wheel_environment: Mapping[str, str]
    #: when the workflow builds and stages development wheels: a cron line (five fields, UTC); empty: never
    dev_schedule: str
    #: how many development versions the staging container keeps (the newest; older ones are deleted)
    dev_keep: int = field(metadata=_num(DEV_KEEP))


Section = (
    BuildOptions
    | VerifyOptions
    | StageOptions
    | FetchOptions
    | PublishOptions
    | SignOptions
    | ChangelogOptions
    | NotesOptions
    | ReleaseOptions
    | CiOptions
)

#: TOML sub-table name (``""`` for the top level) -> dataclass.
SECTIONS: Mapping[str, type[Section]] = MappingProxyType(
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
        "ci": CiOptions,
    }
)


def toml_key(f: dataclasses.Field[object]) -> str:
    """The TOML key of a dataclass field (``test_command`` -> ``test-command``, ``from_`` -> ``from``)."""
    return f.name.removesuffix("_").replace("_", "-")


def _all_specs() -> Mapping[str, Spec]:
    specs: dict[str, Spec] = {}
    choices = {"steps": RELEASE_STEPS}
    for section, cls in SECTIONS.items():
        for spec in specs_of(section, cls, choices if section == "release" else None):
            specs[spec.key] = spec
    # cibuildwheel's own matrix keys: read per system and turned into platforms and free-threaded versions
    specs[CIBW_ARCHS] = Spec("cibuildwheel", "archs", "str")
    specs[CIBW_ENABLE] = Spec("cibuildwheel", "enable", "list")
    return MappingProxyType(specs)


CIBW_ARCHS = "cibuildwheel.archs"
CIBW_ENABLE = "cibuildwheel.enable"
#: Every configuration key, by dotted TOML key (``test-command``, ``verify.max-file-size``).
SPECS: Mapping[str, Spec] = _all_specs()


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectInfo:
    """What the project's metadata says: from ``[project]``, else ``setup.cfg``, an sdist's ``PKG-INFO`` or the
    build backend (``source`` says which)."""

    name: str | None
    version: str | None
    requires_python: SpecifierSet | None
    dynamic: tuple[str, ...] = ()
    #: the ``[dependency-groups]`` table (PEP 735): group -> requirements and ``{include-group = NAME}`` tables
    dependency_groups: Mapping[str, tuple[str | Mapping[str, str], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: where name, version and requires-python came from (``[project]``, ``setup.cfg``, ``PKG-INFO``, ``the
    #: build backend's metadata``)
    source: str = "[project]"
