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
from typing import Any

from packaging.specifiers import SpecifierSet

__all__ = [
    "SECTIONS",
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
    test_requires: tuple[str, ...]
    test_command: str
    repair: bool
    sdist_zip: bool
    jobs: int
    output_dir: Path = field(metadata=_PATH)
    cache_dir: Path = field(metadata=_PATH)
    log_dir: Path = field(metadata=_PATH)


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyOptions:
    """``[tool.shipwheel.verify]``: limits and strictness of ``shipwheel verify``."""

    max_file_size: int
    max_uncompressed_size: int
    max_compression_ratio: float
    strict: bool
    ignore: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class StageOptions:
    """``[tool.shipwheel.stage]``: where ``shipwheel stage`` puts release candidates."""

    to: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchOptions:
    """``[tool.shipwheel.fetch]``: where ``shipwheel fetch`` takes the release files from."""

    from_: str = field(metadata={"key": "from"})
    wheelhouse: Path = field(metadata=_PATH)
    jobs: int
    retries: int
    timeout: float
    allow_hosts: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class PublishOptions:
    """``[tool.shipwheel.publish]``: the index ``shipwheel publish`` uploads to and how."""

    repository: str
    jobs: int
    retries: int
    timeout: float
    verify: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class SignOptions:
    """``[tool.shipwheel.sign]``: the GPG key ``shipwheel sign`` uses."""

    key: str
    gpg: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangelogOptions:
    """``[tool.shipwheel.changelog]``: how contributor and pull-request lists are made from git."""

    pr_url: str
    bots: tuple[str, ...]
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
