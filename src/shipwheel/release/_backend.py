"""What the build backend says about the release: the version in its metadata, and the sdist it makes.

Both come from a clean copy of HEAD (:meth:`shipwheel._git.Git.clean_copy`, the one ``shipwheel build`` builds
from: the history, tags and submodules build backends read are there) built in one isolated environment with
pypa/build.
"""

from __future__ import annotations

import email.parser
import logging
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from build import BuildBackendException, ProjectBuilder
from build.env import DefaultIsolatedEnv
from pyproject_hooks import quiet_subprocess_runner

from .._git import Git
from .._subprocess import find_uv

__all__ = ["BackendView", "inspect_backend", "sdist_members"]

log = logging.getLogger("shipwheel")


@dataclass(frozen=True, slots=True)
class BackendView:
    """The backend's version (``None`` with ``error`` when it failed) and the members of its sdist."""

    version: str | None
    sdist_name: str | None = None
    sdist_members: tuple[str, ...] = ()
    sdist_size: int = 0
    error: str = ""


def inspect_backend(git: Git, subdir: str, *, sdist: bool = True) -> BackendView:
    """Ask the build backend of HEAD's project in ``subdir`` for its metadata version and (``sdist``) its sdist."""
    with tempfile.TemporaryDirectory(prefix="shipwheel-check-") as tmp:
        clone = Path(tmp) / "clone"
        git.clean_copy(git.resolve("HEAD"), clone)
        srcdir = clone / subdir if subdir else clone
        out = Path(tmp) / "out"
        try:
            installer = "uv" if _has_uv() else "pip"
            with DefaultIsolatedEnv(installer=installer) as env:  # type: ignore[arg-type]
                builder = ProjectBuilder.from_isolated_env(env, srcdir, runner=quiet_subprocess_runner)
                env.install(builder.build_system_requires)
                env.install(builder.get_requires_for_build("wheel"))
                meta_dir = Path(builder.metadata_path(out))
                version = _metadata_version(meta_dir / "METADATA")
                if not sdist:
                    return BackendView(version)
                env.install(builder.get_requires_for_build("sdist"))
                path = Path(builder.build("sdist", out))
        except BuildBackendException as exc:
            return BackendView(None, error=f"the build backend failed: {exc.exception!r}")
        except Exception as exc:  # pypa/build raises plain exceptions for a missing build-system and the like
            return BackendView(None, error=f"{type(exc).__name__}: {exc}")
        return BackendView(version, path.name, sdist_members(path), path.stat().st_size)


def _has_uv() -> bool:
    return find_uv() is not None


def _metadata_version(path: Path) -> str | None:
    message = email.parser.Parser().parsestr(path.read_text(encoding="utf-8"), headersonly=True)
    value = message.get("Version")
    return str(value) if value else None


def sdist_members(sdist: Path) -> tuple[str, ...]:
    """The files of an sdist, relative to its top folder."""
    with tarfile.open(sdist) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    # Strip the top folder (name-version/).
    return tuple(sorted(str(PurePosixPath(*PurePosixPath(n).parts[1:])) for n in names if "/" in n))
