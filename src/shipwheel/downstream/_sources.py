"""Where the runs' inputs come from: the candidate's wheels (the wheelhouse or a staging container), the wheel
each interpreter takes, the previous release on the index (the baseline) and each downstream project's
release and sdist (whose tests are run)."""

from __future__ import annotations

import email.parser
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging import tags
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..config import DownstreamProject
from ..distfiles import DistFile
from ..errors import ProjectError, RemoteError, TransferError
from ..interpreters import Interpreter
from ..staging import Selection, fetch_release, open_container

__all__ = [
    "Release",
    "candidate_wheels",
    "pick_wheel",
    "previous_release",
    "requires_python",
    "resolve_release",
]

#: Hosts an index's pages may send files from. An index is trusted as pip trusts it (PyPI's files are on
#: files.pythonhosted.org); each file is still checked against the sha256 the index publishes.
_ANY_HOST = ("*",)


def candidate_wheels(
    project: str, version: str, *, wheelhouse: Path, source: str | None, dest: Path
) -> list[Path]:
    """The candidate's wheels: from ``source`` (a staging container or an index, fetched into ``dest``), else
    from ``wheelhouse``.

    :raises ProjectError: no wheel of the release there.
    """
    if source:
        container = open_container(source, allow_hosts=_ANY_HOST)
        try:
            report = fetch_release(container, Selection(project=project, version=version, sdist=False), dest)
        finally:
            container.close()
        failed = [f for f in report.files if f.status == "failed"]
        if failed:
            raise RemoteError(
                f"could not fetch {failed[0].filename} from {report.container}: {failed[0].error}",
                hint="check the container and run the same command again",
            )
        folder, where = dest, report.container
    else:
        folder, where = wheelhouse, str(wheelhouse)
    wheels = sorted(
        p
        for p in (folder.iterdir() if folder.is_dir() else [])
        if (d := DistFile.parse(p.name)) is not None and d.kind == "wheel" and d.matches(project, version)
    )
    if not wheels:
        raise ProjectError(
            f"no wheel of {project} {version} in {where}",
            hint="build the candidate first (shipwheel build), or pass --from with the staging container",
        )
    return wheels


def _supported_tags(interpreter: Interpreter) -> list[tags.Tag]:
    """The tags an interpreter of this machine installs, best first (as pip orders them)."""
    version = interpreter.version[:2]
    abi = interpreter.identifier_python
    platforms = list(tags.platform_tags())
    return [
        *tags.cpython_tags(version, abis=[abi], platforms=platforms),
        *tags.compatible_tags(version, f"cp{version[0]}{version[1]}", platforms),
    ]


def pick_wheel(wheels: list[Path], interpreter: Interpreter) -> Path | None:
    """The wheel pip would install on ``interpreter`` (the best tag its Requires-Python admits), or ``None``."""
    ranked = {tag: i for i, tag in enumerate(_supported_tags(interpreter))}
    best: tuple[int, Path] | None = None
    for path in wheels:
        dist = DistFile.parse(path.name)
        if dist is None:
            continue
        rank = min((ranked[t] for t in dist.tags if t in ranked), default=None)
        if rank is None or not admits(requires_python(path), interpreter):
            continue
        if best is None or rank < best[0]:
            best = (rank, path)
    return best[1] if best else None


def admits(spec: SpecifierSet | None, interpreter: Interpreter) -> bool:
    """Whether ``Requires-Python`` ``spec`` admits ``interpreter``."""
    return spec is None or spec.contains(".".join(map(str, interpreter.version)), prereleases=True)


def requires_python(path: Path) -> SpecifierSet | None:
    """``Requires-Python`` of a wheel (its METADATA) or an sdist (its PKG-INFO); ``None`` when it says none."""
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as zf:
                name = next(
                    n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
                )
                text = zf.read(name).decode("utf-8", "replace")
        else:
            with tarfile.open(path, "r:*") as tf:
                member = next(
                    m for m in tf.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
                )
                handle = tf.extractfile(member)
                text = handle.read().decode("utf-8", "replace") if handle else ""
    except (OSError, StopIteration, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None
    value = email.parser.Parser().parsestr(text, headersonly=True).get("Requires-Python")
    try:
        return SpecifierSet(value) if value else None
    except InvalidSpecifier:
        return None


def project_page(index_url: str, project: str) -> str:
    """The PEP 503 page of ``project`` on the simple index ``index_url``."""
    return f"{index_url.rstrip('/')}/{canonicalize_name(project)}/"


def _versions(index_url: str, project: str) -> tuple[set[Version], dict[Version, bool]]:
    """The versions of ``project`` on the index, and whether each has an sdist."""
    # The project's own page: an index root that does not know the project would be read whole (PyPI's is large).
    container = open_container(project_page(index_url, project), allow_hosts=_ANY_HOST)
    try:
        listing = container.listing(project)
    except TransferError as exc:
        if exc.status == 404:
            return set(), {}
        raise
    finally:
        container.close()
    want = canonicalize_name(project)
    found: set[Version] = set()
    sdist: dict[Version, bool] = {}
    for entry in listing.entries.values():
        if entry.dist.name == want:
            found.add(entry.dist.version)
            sdist[entry.dist.version] = sdist.get(entry.dist.version, False) or entry.dist.kind == "sdist"
    return found, sdist


def previous_release(index_url: str, project: str, version: str) -> str | None:
    """The release the candidate ``version`` follows on the index: the newest final release before it (the
    newest pre-release before it when there is no final one); ``None`` when the index has nothing before it.

    :raises RemoteError: the index cannot be read.
    """
    wanted = Version(version)
    before = [v for v in _versions(index_url, project)[0] if v < wanted]
    finals = [v for v in before if not v.is_prerelease and not v.is_devrelease]
    chosen = max(finals or before, default=None)
    return str(chosen) if chosen is not None else None


@dataclass(frozen=True, slots=True)
class Release:
    """A downstream project's release to test: its version, its sdist (``None`` when the index has none) and the
    interpreters it admits."""

    name: str
    version: str
    sdist: Path | None
    requires_python: SpecifierSet | None


def resolve_release(index_url: str, project: DownstreamProject, dest: Path) -> Release:
    """The newest release of ``project`` its requirement admits (pre-releases only when the requirement names
    one), with its sdist downloaded into ``dest`` (kept there: the next run finds it).

    :raises ProjectError: no release on the index matches the requirement.
    :raises RemoteError: the index cannot be read or the sdist not downloaded.
    """
    requirement = Requirement(project.requirement)
    versions, has_sdist = _versions(index_url, project.name)
    matching = [v for v in versions if requirement.specifier.contains(v)]
    if not matching:
        seen = ", ".join(str(v) for v in sorted(versions)[-5:]) or "none"
        raise ProjectError(
            f"the index has no release of {project.name} that {project.requirement!r} admits "
            f"(it has: {seen})",
            hint=f"check the requirement in [[tool.shipwheel.downstream]] and the index {index_url}",
        )
    version = max(matching)
    if not has_sdist.get(version):
        return Release(project.name, str(version), None, None)
    container = open_container(project_page(index_url, project.name), allow_hosts=_ANY_HOST)
    try:
        report = fetch_release(
            container, Selection(project=project.name, version=str(version), families=("sdist",)), dest
        )
    finally:
        container.close()
    path = next((dest / f.filename for f in report.files if f.status != "failed"), None)
    if path is None:
        first = report.files[0] if report.files else None
        raise RemoteError(
            f"could not download the sdist of {project.name} {version}: {first.error if first else 'no file'}",
            hint="check the index and run the same command again",
        )
    return Release(project.name, str(version), path, requires_python(path))


def unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Unpack ``sdist`` into ``dest`` (the standard library's ``data`` filter: no link or path out of it) and
    return its top folder."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                for name in zf.namelist():
                    if not (dest / name).resolve().is_relative_to(dest.resolve()):
                        raise ProjectError(f"{sdist.name} holds a path outside its folder: {name!r}")
                zf.extractall(dest)
        else:
            with tarfile.open(sdist, "r:*") as tf:
                tf.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ProjectError(
            f"{sdist.name} is not a readable sdist: {exc}", hint="check the index's file"
        ) from exc
    tops = [p for p in dest.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else dest


#: Files of an sdist's top folder that configure pytest, copied beside its tests.
TEST_CONFIG = ("pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini", ".pytest.ini", "conftest.py")


def copy_tests(sources: Path, dest: Path) -> str | None:
    """Copy the sdist's ``tests/`` (or ``test/``) folder and its pytest configuration into ``dest``; return the
    folder's name, or ``None`` when it has neither.

    The tests run there, away from the sdist's own package folder, so that they import the installed wheel.
    """
    for name in ("tests", "test"):
        if (sources / name).is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copytree(sources / name, dest / name, symlinks=True)
            for config in TEST_CONFIG:
                if (sources / config).is_file():
                    shutil.copy2(sources / config, dest / config)
            return name
    return None


__all__ += ["TEST_CONFIG", "admits", "copy_tests", "project_page", "unpack_sdist"]
