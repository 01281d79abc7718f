"""What every step of ``shipwheel release`` sees (:class:`Context`) and is made of (:class:`Step`).

Each step has three parts: whether it applies (``skip``), what the real state says (``observe``), doing it
(``run``). ``observe`` looks at git, the wheelhouse and the index and returns a detail when the step has already
taken effect (``None`` otherwise); it must not change anything, since ``--dry-run`` calls it too. ``run`` does the
step through the public face of the module that owns it and returns a detail for the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from .._git import Git
from ..config import Config
from ..distfiles import file_digests
from ._names import project_name
from ._state import ReleaseState

__all__ = ["Context", "Step", "hashes", "never", "project_name"]


@dataclass(slots=True)
class Context:
    """What every step sees: the configuration, the release, git, the target index and the record."""

    config: Config
    version: Version
    git: Git
    repository: str
    select: str | None
    state: ReleaseState
    environ: Mapping[str, str]
    progress: Callable[[str], None]

    @property
    def name(self) -> str:
        return project_name(self.config)

    @property
    def tag(self) -> str:
        from ._tag import tag_name

        return tag_name(self.config, str(self.version))

    def tagged(self) -> bool:
        from ._tag import find_tag

        return find_tag(self.git, self.tag) is not None

    def release_files(self) -> list[Path]:
        """The wheels and sdist of this version in the wheelhouse (other versions' files are left alone)."""
        from ..distfiles import DistFile

        folder = self.config.build.output_dir
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.iterdir()):
            dist = DistFile.parse(path.name)
            if dist is not None and path.is_file() and dist.version == self.version:
                out.append(path)
        return out


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    return file_digests(path)["sha256"]


def hashes(files: list[Path]) -> dict[str, str]:
    """``{name: sha256}`` of ``files``."""
    return {p.name: sha256_of(p) for p in files}


@dataclass(frozen=True, slots=True)
class Step:
    """One step: ``skip`` says why it does not apply (or ``None``), ``observe`` and ``run`` as above."""

    name: str
    skip: Callable[[Context], str | None]
    observe: Callable[[Context], str | None]
    run: Callable[[Context], str]


def never(_: Context) -> str | None:
    """For ``skip`` of a step that always applies."""
    return None
