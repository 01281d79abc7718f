"""``shipwheel check VERSION``: every preflight check of a release, each reported pass / fail / skipped.

The checks read; none of them changes the work tree, the index or the configuration. Every check runs even
when an earlier one failed, so one run lists everything to fix.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from .. import _subprocess
from .._git import Git
from ..config import Config
from ..errors import ProjectError, ShipwheelError
from ._backend import BackendView, inspect_backend
from ._checks import CHECKS, CheckReport, CheckResult, failed, passed, skipped
from ._scans import check_api_registry, check_deprecations
from ._setver import locations_of
from ._tag import repository_of
from ._version import parse_version

if TYPE_CHECKING:
    from ..staging import Entry

__all__ = ["git_lock_problem", "index_files", "index_total_size", "run_checks"]


def configured_repository(config: Config) -> str:
    """``publish.repository``, a relative ``file:PATH`` taken from the project folder (as ``output-dir``) rather
    than from wherever the command runs."""
    target = config.publish.repository
    if not target.startswith("file:") or target.startswith("file://"):
        return target
    path = Path(target[len("file:") :]).expanduser()
    return target if path.is_absolute() else f"file:{config.project_dir / path}"


def _index_entries(
    repository: str, project: str, timeout: float = 60.0
) -> tuple[list[Entry], dict[str, str]]:
    """The index's entries of ``project`` (every version) and the sha256 its manifest gives, through fetch's
    containers; ``([], {})`` for a ``file:`` index that does not exist yet."""
    from ..publish import resolve_repository

    repo = resolve_repository(repository)
    if repo.kind == "file":
        if repo.path is None or not repo.path.exists():
            return [], {}  # nothing was ever published there
        url = str(repo.path)
    elif repo.index_url:
        url = repo.index_url
    elif repo.upload_url.rstrip("/").endswith("/legacy"):
        url = repo.upload_url.rstrip("/")[: -len("legacy")] + "simple/"
    else:
        url = repo.upload_url.rstrip("/") + "/simple/"
    return container_entries(url, project, timeout=timeout)


def container_entries(url: str, project: str, *, timeout: float = 60.0) -> tuple[list[Entry], dict[str, str]]:
    """The entries of ``project`` (every version) in the container at ``url`` (a folder, a simple index, an S3
    prefix), and the sha256 of its ``SHA256SUMS``."""
    from ..manifest import parse_manifest
    from ..staging import open_container

    # the request deadline follows the timeout (publish.timeout for the preflight): a dripping index is given up on
    container = open_container(url, timeout=timeout)
    try:
        listing = container.listing(project)
        # A static folder publishes its hashes in SHA256SUMS rather than in the links.
        manifest = parse_manifest(container.read_small(listing.manifest).decode()) if listing.manifest else {}
    finally:
        container.close()
    entries = [
        e for e in listing.entries.values() if canonicalize_name(e.dist.name) == canonicalize_name(project)
    ]
    return entries, manifest


def index_files(
    repository: str, project: str, version: str, *, timeout: float = 60.0
) -> dict[str, str | None]:
    """``{filename: sha256 or None}`` of the files of ``project`` ``version`` the index behind ``repository``
    (a name, URL or ``file:PATH`` as publish takes them) lists, asked through the containers of fetch."""
    want = Version(version)
    entries, manifest = _index_entries(repository, project, timeout)
    return {e.filename: e.sha256 or manifest.get(e.filename) for e in entries if e.dist.version == want}


def index_total_size(repository: str, project: str, *, timeout: float = 60.0) -> int | None:
    """The bytes the index holds for ``project``, all versions; ``None`` when it does not say every size."""
    entries, _ = _index_entries(repository, project, timeout)
    sizes = [e.size for e in entries if e.size is not None]
    return sum(sizes) if len(sizes) == len(entries) else None


def _tree(git: Git, subdir: str) -> CheckResult:
    # A project inside a larger repository is built from its own folder of HEAD: changes elsewhere in the
    # repository do not reach the release.
    dirty = git.dirty_paths([subdir] if subdir else [])
    where = f" in {subdir}/" if subdir else ""
    if dirty:
        return failed(
            "tree-clean", f"{len(dirty)} uncommitted or untracked file(s){where}", tuple(dirty[:50])
        )
    return passed("tree-clean", f"no uncommitted changes{where}")


def _branch(config: Config, git: Git) -> CheckResult:
    want = config.release.branch
    if not want:
        return skipped("branch", "no release.branch configured", fix="set release.branch to check it")
    have = git.run("rev-parse", "--abbrev-ref", "HEAD").strip()
    if have != want:
        return failed("branch", f"on {have!r}, releases are made from {want!r}", fix=f"git switch {want}")
    return passed("branch", f"on {want}")


def _locations(config: Config, version: Version) -> CheckResult:
    details, bad = [], 0
    for loc in locations_of(config):
        rel = loc.path.relative_to(config.project_dir).as_posix()
        ok = loc.agrees(version)
        bad += not ok
        try:
            value = loc.read()
        except ShipwheelError as exc:
            value = exc.message
        details.append(f"{rel}: {value}{'' if ok else ' (expected ' + str(version) + ')'}")
    if bad:
        first = next(d for d in details if d.endswith(f" (expected {version})"))
        where, _, held = first.removesuffix(f" (expected {version})").partition(": ")
        more = f" (and {bad - 1} more location(s))" if bad > 1 else ""
        return failed("version-files", f"{where} holds {held}, not {version}{more}", tuple(details))
    return passed("version-files", f"{len(details)} location(s) hold {version}", tuple(details))


def _backend_version(view: BackendView | None, version: Version) -> CheckResult:
    if view is None:
        return skipped("version-backend", "not asked for (--skip version-backend)")
    if view.version is None:
        return failed("version-backend", view.error or "the backend reported no version", fix="fix the build")
    if Version(view.version) != version:
        return failed("version-backend", f"the build backend reports {view.version}, not {version}")
    return passed("version-backend", f"the build backend reports {view.version}")


def _index(config: Config, repository: str | None, version: Version) -> CheckResult:
    spec = repository or configured_repository(config)
    name = config.project.name
    if not name:  # fail closed: an index cannot be asked about a project without a name
        return failed(
            "index-free",
            "the project names itself nowhere in its metadata",
            fix="set name in [project] (or [metadata] name in setup.cfg)",
        )
    try:
        present = index_files(spec, name, str(version), timeout=config.publish.timeout)
    except ShipwheelError as exc:
        return failed(
            "index-free", f"cannot ask {spec}: {exc.message}", fix=exc.hint or "check -r/--repository"
        )
    if present:
        return failed("index-free", f"{name} {version} is already on {spec}", tuple(sorted(present)))
    return passed("index-free", f"{name} {version} is not on {spec}")


def _notes(config: Config, version: Version, top: Path) -> CheckResult:
    """The notes target as the release's ``notes`` step sees it (``notes.notes_target``): ``release.notes-file``,
    else towncrier's news file, its configuration read wherever towncrier reads it."""
    from ..notes import notes_present, notes_target

    configured = config.release.notes_file
    rel = Path(configured.format(version=version)) if configured else None
    target = notes_target(config.project_dir, str(version), notes_file=rel, top=top)
    if target is None:
        return skipped("notes-present", "no release.notes-file configured and no towncrier configuration")
    shown = _shown(target.path, top)
    if notes_present(target, str(version)):
        return passed("notes-present", f"{shown} names {version}")
    if target.insert and target.towncrier is not None:
        count = len(target.towncrier.fragments)
        return failed(
            "notes-present",
            f"{shown} has no section for {version} yet ({count} fragment(s) to render)",
            fix=f"run: shipwheel release {version} --only notes (towncrier build --version {version} does the same)",
        )
    if not target.path.exists():
        return failed("notes-present", f"{shown} does not exist")
    return failed("notes-present", f"{shown} does not name {version}", fix=f"write {version} in its title")


def _shown(path: Path, top: Path) -> str:
    try:
        return path.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return str(path)


def _fragments(config: Config, top: Path) -> CheckResult:
    """The fragment files towncrier would render (its own finder, its own configuration)."""
    from ..notes import find_towncrier

    tc = find_towncrier(config.project_dir, top=top)
    if tc is None:
        return skipped("fragments-left", "no towncrier configuration (towncrier.toml or [tool.towncrier])")
    left = sorted(_shown(p, top) for p in tc.fragments)
    if left:
        return failed("fragments-left", f"{len(left)} fragment(s) left for towncrier", tuple(left))
    return passed("fragments-left", "no towncrier fragments left")


def _docs(config: Config) -> CheckResult:
    command = config.release.docs_command
    if not command:
        return skipped(
            "docs-build", "no release.docs-command configured (e.g. sphinx-build -W doc doc/_build)"
        )
    try:
        _subprocess.run(
            command,
            shell=True,
            cwd=config.project_dir,
            timeout=3600,
            what="docs-command",
            max_output=64 << 20,
        )
    except ShipwheelError as exc:
        output = getattr(exc, "output", "")
        return failed("docs-build", exc.message, tuple(output.splitlines()[-15:]))
    return passed("docs-build", f"{command} succeeded")


def _sdist(config: Config, view: BackendView | None, tracked: list[str], subdir: str) -> CheckResult:
    if view is None or view.sdist_name is None:
        why = view.error if view is not None and view.error else "no sdist was built (--skip version-backend)"
        return skipped("sdist-complete", why)
    inside = [
        t[len(subdir) + 1 :] if subdir else t for t in tracked if not subdir or t.startswith(subdir + "/")
    ]
    from ..verify import sdist_omissions

    omitted = sdist_omissions(config.project_dir, inside, view.sdist_members, config.release.sdist_ignore)
    if omitted.lost:
        return failed(
            "sdist-complete",
            f"{view.sdist_name} lacks {len(omitted.lost)} tracked file(s) the project's rules ship",
            tuple(f"{p} ({omitted.why[p]})" for p in omitted.lost),
        )
    if omitted.left_out:
        return passed(
            "sdist-complete",
            f"{view.sdist_name} holds every file the project's rules ship; {len(omitted.left_out)} tracked "
            "file(s) are left out by them (a [tool.check-manifest] table makes that an error)",
            tuple(omitted.left_out),
        )
    return passed("sdist-complete", f"{view.sdist_name} holds every tracked file ({len(inside)})")


def _headroom(
    config: Config, view: BackendView | None, version: Version, repository: str | None
) -> CheckResult:
    from ..distfiles import collect_release_files

    limit = config.verify.max_file_size
    sizes: dict[str, int] = {}
    folder = config.build.output_dir
    if folder.is_dir():
        try:
            files = collect_release_files([folder], lenient=True)
        except ShipwheelError:
            files = []
        for path in files:
            if f"-{version}" in path.name:
                sizes[path.name] = path.stat().st_size
    if view is not None and view.sdist_name:
        sizes.setdefault(view.sdist_name, view.sdist_size)
    if not sizes:
        return skipped("pypi-headroom", f"no release files of {version} in {folder} yet")
    big = [f"{n}: {s / 2**20:.1f} MiB" for n, s in sorted(sizes.items()) if s > limit]
    if big:
        return failed("pypi-headroom", f"{len(big)} file(s) over {limit / 2**20:.0f} MiB", tuple(big))
    largest = max(sizes.values())
    detail = f"{len(sizes)} file(s), the largest {largest / 2**20:.2f} MiB of {limit / 2**20:.0f}"
    quota = config.release.project_quota
    name = config.project.name
    if quota and name:
        try:
            held = index_total_size(
                repository or configured_repository(config), name, timeout=config.publish.timeout
            )
        except ShipwheelError:
            held = None  # the index-free check reports an index it cannot ask
        if held is not None:
            total = held + sum(sizes.values())
            if total > quota:
                return failed(
                    "pypi-headroom",
                    f"{name} would hold {total / 2**30:.2f} GiB on the index, over its quota of "
                    f"{quota / 2**30:.2f} GiB ({held / 2**30:.2f} GiB there now)",
                    fix="delete old releases' files on the index, or ask PyPI for a larger project quota",
                )
            detail += f"; the project at {total / 2**30:.2f} GiB of its {quota / 2**30:.0f} GiB quota"
    return passed("pypi-headroom", detail)


#: Checks a later step of the release makes true: the pipeline's ``check`` leaves them to that step.
_LEFT_TO_STEP = {
    "notes-present": "notes",
    "fragments-left": "notes",
    "version-files": "version",
}


def run_checks(
    config: Config,
    version: str,
    *,
    repository: str | None = None,
    skip: Collection[str] = (),
    later_steps: Collection[str] = (),
    on_result: Callable[[CheckResult], None] | None = None,
) -> CheckReport:
    """Run every preflight check of ``version`` (except the codes in ``skip``) and return the report.

    :param repository: the index to look for ``version`` on (default ``publish.repository``).
    :param later_steps: the release steps that run after this check (the pipeline's ``check``): a check those
        steps make true (the notes, the version files) is reported skipped rather than failed.
    :raises UsageError: ``version`` is not PEP 440, or ``skip`` names an unknown check.
    """
    from ..errors import UsageError

    wanted = parse_version(version)
    unknown = set(skip) - set(CHECKS)
    if unknown:
        raise UsageError(f"unknown check {sorted(unknown)[0]!r}", hint="known: " + ", ".join(CHECKS))
    git = repository_of(config)
    subdir = config.project_dir.relative_to(git.root.resolve()).as_posix()
    subdir = "" if subdir == "." else subdir
    tracked = [t for t in git.run("ls-files", "-z").split("\0") if t]
    report = CheckReport(str(wanted))
    view: BackendView | None = None
    if not {"version-backend", "sdist-complete"} <= set(skip):
        view = inspect_backend(git, subdir)
    in_project = [
        t[len(subdir) + 1 :] if subdir else t for t in tracked if not subdir or t.startswith(subdir + "/")
    ]
    steps: list[tuple[str, Callable[[], CheckResult]]] = [
        ("tree-clean", lambda: _tree(git, subdir)),
        ("branch", lambda: _branch(config, git)),
        ("version-files", lambda: _locations(config, wanted)),
        ("version-backend", lambda: _backend_version(view, wanted)),
        ("index-free", lambda: _index(config, repository, wanted)),
        ("notes-present", lambda: _notes(config, wanted, git.root)),
        ("fragments-left", lambda: _fragments(config, git.root)),
        ("deprecations-expired", lambda: check_deprecations(config, config.project_dir, in_project, wanted)),
        ("api-registry", lambda: check_api_registry(config, config.project_dir)),
        ("docs-build", lambda: _docs(config)),
        ("sdist-complete", lambda: _sdist(config, view, tracked, subdir)),
        ("pypi-headroom", lambda: _headroom(config, view, wanted, repository)),
    ]
    for code, step in steps:
        if code in skip:
            result = skipped(code, "skipped on request (--skip)")
        elif code in _LEFT_TO_STEP and _LEFT_TO_STEP[code] in later_steps:
            result = skipped(code, f"the release's {_LEFT_TO_STEP[code]} step, which runs later, sees to it")
        else:
            try:
                result = step()
            except ShipwheelError as exc:
                result = failed(code, exc.message, fix=exc.hint or CHECKS[code][1])
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    return report


#: A lock younger than this may be a git command's that is running right now.
_LOCK_FRESH = 5.0


def _lock_holders(lock: Path, top: Path) -> list[str]:
    """The processes this machine shows that hold ``lock`` open or are a git running inside ``top``: ``pid
    (name)``. Linux's /proc only; elsewhere, and for processes we may not look at, nothing is seen."""
    seen: list[str] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return seen
    target, root = str(lock), str(top.resolve())
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        holds = name == "git" and (cwd == root or cwd.startswith(root + os.sep))
        if not holds:
            try:
                holds = any(os.readlink(fd) == target for fd in (entry / "fd").iterdir())
            except OSError:
                holds = False
        if holds:
            seen.append(f"{entry.name} ({name})")
    return seen


def git_lock_problem(git: Git) -> ProjectError | None:
    """The error to stop at when one of git's lock files is there (``index.lock``, ``HEAD.lock``, a ref's): every
    command that writes the index or moves a ref (a commit, ``git rm``, a tag) would fail on it. ``None`` when
    there is none.

    A lock left by the git of a shipwheel run that was killed (see :meth:`Git.lock_of_a_killed_run`) that no
    process holds is removed, with a warning. Any other lock is never removed here: that no git runs cannot be
    proved (a git in a container or on another machine sharing the folder, a process of another user, a commit
    between writing the lock and its hook are all invisible or look idle), and removing a live lock lets two
    writers corrupt the repository. A lock that no process seen holds and that is older than a few seconds is
    named as left over by a killed git, with the command that removes it; one that is held, or fresh, as a
    running git's."""
    holders = {lock: _lock_holders(lock, git.root) for lock in git.locks()}
    # which of them a killed run of shipwheel left: decided for all before any is removed (the markers go after)
    killed = {lock for lock, held in holders.items() if not held and git.lock_of_a_killed_run(lock) == lock}
    for lock in killed:
        # shipwheel's own killed run left it (its marker names a dead process and came before the lock) and no
        # process holds it: the one case where removing it is safe without asking
        lock.unlink(missing_ok=True)
        logging.getLogger("shipwheel").warning(
            "removed %s: left by the git command of a shipwheel run that was killed", lock
        )
    if killed:
        git.forget_killed_runs()
    for lock, held in holders.items():
        if lock not in killed:
            problem = _lock_problem(git, lock, held)
            if problem is not None:
                return problem
    return None


def _lock_problem(git: Git, lock: Path, holders: list[str]) -> ProjectError | None:
    """The error a lock that shipwheel did not leave, held by ``holders``, stops the release at (see
    :func:`git_lock_problem`)."""
    try:
        age = time.time() - lock.lstat().st_mtime
    except FileNotFoundError:
        return None
    if holders or age < _LOCK_FRESH:
        by = f" by {', '.join(holders[:3])}" if holders else ""
        return ProjectError(
            f"git is busy in {git.root}: {lock} is held{by}",
            hint="wait for that git command to finish, then run release again",
        )
    return ProjectError(
        f"{lock} was left by a git command that was killed (no process holds it; {age:.0f} s old): git cannot "
        "commit while it is there",
        hint=f"make sure no git command runs in this repository, then remove it (rm {lock}) and run release again",
    )
