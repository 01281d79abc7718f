"""Checks across the files of a release: one project, one version, one sdist, and the matrix is complete."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..distfiles import DistFile
from ..matrix import (
    ALL_PLATFORMS,
    FREE_THREADED_VERSIONS,
    Identifier,
    compiled_sources,
    python_versions,
    wheel_covers,
)
from ._model import RELEASE_FIELDS, Completeness, FileResult, Problem, Severity, make_problem

if TYPE_CHECKING:
    from ..config import Config

__all__ = [
    "check_completeness",
    "files_requires_python",
    "inconsistent_metadata",
    "inferred_identifiers",
    "pure_completeness",
    "release_checks",
]


def release_checks(
    files: list[FileResult], project: str | None, version: str | None
) -> tuple[str | None, str | None, list[Problem]]:
    """One project, one version, at most one sdist, no file twice; returns the project and version found."""
    problems: list[Problem] = []
    by_name = Counter(f.filename for f in files)
    for name, count in sorted(by_name.items()):
        if count > 1:
            problems.append(make_problem("release-duplicate-file", name, f"{name} is given {count} times"))
    dists = [f for f in files if f.project is not None and f.version is not None]
    want_project = canonicalize_name(project) if project else None
    if want_project is None:
        names = sorted({f.project for f in dists if f.project})
        if len(names) == 1:
            want_project = canonicalize_name(names[0])
        elif len(names) > 1:
            problems.append(
                make_problem(
                    "release-multiple-projects",
                    "",
                    f"the files belong to {len(names)} projects: {', '.join(names)}",
                )
            )
    if want_project is not None:
        for f in dists:
            if f.project != want_project:
                problems.append(
                    make_problem(
                        "release-wrong-project", f.filename, f"the file is of {f.project}, not {want_project}"
                    )
                )
    want_version: Version | None = None
    if version:
        try:
            want_version = Version(version)
        except InvalidVersion:
            want_version = None
    else:
        versions = sorted({Version(f.version) for f in dists if f.version and f.project == want_project})
        if len(versions) == 1:
            want_version = versions[0]
        elif len(versions) > 1:
            problems.append(
                make_problem(
                    "release-multiple-versions",
                    "",
                    f"the files carry {len(versions)} versions: {', '.join(map(str, versions))}",
                )
            )
    if want_version is not None:
        for f in dists:
            if f.project == want_project and f.version and Version(f.version) != want_version:
                problems.append(
                    make_problem(
                        "release-wrong-version",
                        f.filename,
                        f"the file is version {f.version}, not {want_version}",
                    )
                )
    sdists = sorted({f.filename for f in dists if f.kind == "sdist"})
    if len(sdists) > 1:
        problems.append(
            make_problem("release-multiple-sdists", "", f"{len(sdists)} sdists: {', '.join(sdists)}")
        )
    same = [
        f
        for f in dists
        if f.project == want_project
        and want_version is not None
        and f.version
        and Version(f.version) == want_version
    ]
    problems += inconsistent_metadata(same)
    return want_project, (str(want_version) if want_version else None), problems


def _shown(field: str, value: str) -> str:
    if not value:
        return "none" if field in ("dependencies", "extras") else "(not set)"
    return ", ".join(repr(v) for v in value.split("\n"))


def _some(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def inconsistent_metadata(files: list[FileResult]) -> list[Problem]:
    """``metadata-inconsistent`` for every file whose value of one of :data:`RELEASE_FIELDS` differs from the
    value most files of the release have; the message names the field, both values and the other files, and is
    the same for every file with the same odd value (so that a report groups them)."""
    problems: list[Problem] = []
    for field in RELEASE_FIELDS:
        groups: dict[str, list[str]] = defaultdict(list)
        for f in files:
            if field in f.release_fields:
                groups[f.release_fields[field]].append(f.filename)
        if len(groups) < 2:
            continue
        # The value most files have is taken for the release's; a tie goes to the value wheels have.
        common = max(
            groups, key=lambda v: (len(groups[v]), not all(n.endswith(".tar.gz") for n in groups[v]))
        )
        for value, names in sorted(groups.items()):
            if value == common:
                continue
            message = (
                f"{field} differs: {_shown(field, value)} in {len(names)} file(s), "
                f"{_shown(field, common)} in the {len(groups[common])} other(s) ({_some(sorted(groups[common]))})"
            )
            problems.extend(make_problem("metadata-inconsistent", n, message) for n in sorted(names))
    return problems


def files_requires_python(files: list[FileResult]) -> SpecifierSet | None:
    """The Requires-Python the files declare (the sdist's first), ``None`` when none does."""
    for f in sorted(files, key=lambda f: f.kind != "sdist"):
        if f.requires_python:
            try:
                return SpecifierSet(f.requires_python)
            except InvalidSpecifier:
                continue
    return None


def inferred_identifiers(files: list[FileResult]) -> list[Identifier]:
    """The matrix a release implies when no configuration says it: the Python versions its requires-python admits
    between the oldest and newest present, times the platforms present (free-threaded where any is present)."""
    present = {Identifier.parse(i) for f in files for i in f.identifiers}
    if not present:
        return []
    spec = files_requires_python(files)
    lo = min(i.minor for i in present)
    hi = max(i.minor for i in present)
    # The versions present count even when this shipwheel does not know them yet (a release with cp315 wheels
    # made before shipwheel learnt of 3.15 has them on purpose).
    versions = sorted(
        {v for v in python_versions(spec) if lo <= v[1] <= hi} | {(i.major, i.minor) for i in present}
    )
    free = {i.minor for i in present if i.free_threaded}
    newest_known = max(FREE_THREADED_VERSIONS)
    platforms = sorted({i.platform for i in present}, key=ALL_PLATFORMS.index)
    out: list[Identifier] = []
    for major, minor in versions:
        for ft in (False, True):
            known = (major, minor) in FREE_THREADED_VERSIONS or (major, minor) > newest_known
            if ft and (not known or minor not in free):
                continue
            out.extend(Identifier(minor=minor, free_threaded=ft, platform=p, major=major) for p in platforms)
    return out


def _tagsets(files: list[FileResult]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for f in files:
        if f.kind == "wheel" and f.tags:
            out[",".join(f.tags)].append(f.filename)
    return out


def check_completeness(
    files: list[FileResult],
    expected: list[Identifier] | None,
    source: str,
    reason: str = "",
    *,
    pure: bool | None = None,
) -> tuple[Completeness, list[Problem]]:
    """Missing, unexpected and duplicated identifiers. ``expected`` ``None``: skipped for ``reason``.

    Missing identifiers are errors when the matrix comes from the configuration and warnings when it was
    inferred from the files themselves. Beside platform wheels a pure wheel (``py3-none-any``) covers no
    identifier (it is the fallback of interpreters the release has no wheel for, not a wheel of the matrix):
    ``pure`` says whether the release ships one (the configuration's ``ci.pure-wheel-environment``), so that it is
    missing, or unexpected, like an identifier; ``None``: either is fine.
    """
    problems = _duplicate_problems(files)
    tags = [(f, d.tags) for f in files if f.kind == "wheel" and (d := DistFile.parse(f.filename)) is not None]
    pure_wheels = [(f, t) for f, t in tags if _pure(t)]
    beside = len(pure_wheels) < len(tags)  # pure wheels beside platform wheels
    if beside:
        tags = [(f, t) for f, t in tags if not _pure(t)]
    present = sorted({Identifier.parse(i) for f in files for i in f.identifiers})
    if expected is None:
        return Completeness("skipped", "", reason=reason, present=[str(i) for i in present]), problems
    missing = [i for i in expected if not any(wheel_covers(t, i) for _, t in tags)]
    unexpected = [i for i in present if i not in expected]
    duplicated = sorted(
        {str(i) for i in expected if sum(1 for _, t in tags if wheel_covers(t, i) and _exact(t, i)) > 1}
    )
    for ident in missing:
        p = make_problem(
            "matrix-missing",
            "",
            f"no wheel for {ident}" + (" (matrix inferred from the files)" if source == "files" else ""),
            subject=str(ident),
        )
        if source == "files":
            p = replace(p, severity=Severity.WARNING)
        problems.append(p)
    for ident in unexpected:
        names = [f.filename for f in files if str(ident) in f.identifiers]
        problems.extend(
            make_problem("matrix-unexpected", n, f"{ident} is not in the project's matrix") for n in names
        )
    pure_present = sorted({str(t) for _, tagset in pure_wheels for t in tagset})
    pure_missing, pure_unexpected = _pure_wheel_problems(pure, [f for f, _ in pure_wheels], beside, problems)
    pure_expected = ["py3-none-any"] if pure else []
    completeness = Completeness(
        "checked",
        source,
        reason=reason,
        expected=[str(i) for i in expected] + pure_expected,
        present=[str(i) for i in present] + pure_present,
        missing=[str(i) for i in missing] + (pure_expected if pure_missing else []),
        unexpected=[str(i) for i in unexpected] + (pure_present if pure_unexpected else []),
        duplicated=duplicated,
    )
    return completeness, problems


def _duplicate_problems(files: list[FileResult]) -> list[Problem]:
    """A ``matrix-duplicate`` for each file of a tag set that more than one file carries."""
    return [
        make_problem(
            "matrix-duplicate",
            n,
            f"{len(names)} files carry the same tags {tagset}: {', '.join(sorted(names))}",
        )
        for tagset, names in _tagsets(files).items()
        if len(names) > 1
        for n in sorted(names)
    ]


def _pure_wheel_problems(
    pure: bool | None, pure_wheels: list[FileResult], beside: bool, problems: list[Problem]
) -> tuple[bool, bool]:
    """Whether the pure wheel the project ships is missing, and whether one it does not ship is there (each
    added to ``problems``); ``pure`` ``None``: neither."""
    missing = bool(pure) and not pure_wheels
    if missing:
        problems.append(
            make_problem(
                "matrix-missing",
                "",
                "no pure wheel (py3-none-any), which the project ships beside its platform wheels "
                "(ci.pure-wheel-environment)",
                fix="build it with the variables of ci.pure-wheel-environment (the generated workflow's pure job)",
                subject="py3-none-any",
            )
        )
    unexpected = pure is False and beside and bool(pure_wheels)
    if unexpected:
        problems.extend(
            make_problem(
                "matrix-unexpected",
                f.filename,
                "a pure wheel beside the platform wheels, but the project ships none (ci.pure-wheel-environment "
                "is empty)",
                fix="leave the pure wheel out, or set ci.pure-wheel-environment to the variables that build it",
            )
            for f in pure_wheels
        )
    return missing, unexpected


def _pure(tags: frozenset[Tag]) -> bool:
    """Whether a wheel's tags are all pure (``py3-none-any``): no identifier's wheel."""
    return all(t.platform == "any" for t in tags)


def pure_completeness(
    files: list[FileResult], wheels: list[FileResult], config: Config | None
) -> tuple[Completeness, list[Problem]]:
    """Completeness of a release with no platform wheel: ``wheels`` (of the release's project and version) are
    pure or absent.

    A pure project ships one pure wheel that covers every identifier: that is what is expected, and nothing is
    missing. But when the project builds platform wheels (its sdist has compiled sources, or its shipwheel
    configuration names platforms), pure wheels alone mean the compiled extension was lost (a backend that falls
    back to pure Python when the compiler fails): an error when the configuration says so, else a warning.
    """
    problems: list[Problem] = []
    sdists = [f for f in files if f.kind == "sdist" and f.path]
    compiled = compiled_sources(Path(sdists[0].path)) if sdists else []
    configured = config is not None and config.sources.get("platforms", "default") != "default"
    present = sorted({tag for f in wheels for tag in f.tags})
    if compiled or configured:
        why = (
            f"the sdist has compiled sources ({compiled[0]}{' …' if len(compiled) > 1 else ''})"
            if compiled
            else "the configuration names platforms"
        )
        what = f"only pure wheels ({', '.join(f.filename for f in wheels)})" if wheels else "no wheels"
        p = make_problem(
            "matrix-missing",
            sdists[0].filename if sdists else "",
            f"{what}, but {why}: the platform wheels are missing (a lost compiled extension?)",
            fix="build the platform wheels (shipwheel build fails when an extension is lost), or, for a pure "
            "project, leave platforms out of [tool.shipwheel]",
        )
        if not configured:
            p = replace(p, severity=Severity.WARNING)
        problems.append(p)
        return Completeness(
            "checked",
            "sdist",
            reason=why,
            expected=["platform wheels"],
            present=present,
            missing=["platform wheels"],
        ), problems
    if not wheels:
        return Completeness(
            "skipped", "", reason="no wheels: nothing to compare with a build matrix"
        ), problems
    _, problems = check_completeness(wheels, [], "pure")
    return Completeness(
        "checked",
        "pure",
        reason="a pure project: one pure wheel covers every interpreter and platform",
        expected=["one pure wheel"],
        present=present,
        duplicated=sorted({t for f in wheels for t in f.tags if sum(t in g.tags for g in wheels) > 1}),
    ), problems


def _exact(tags: frozenset[object], ident: Identifier) -> bool:
    return any(str(t).startswith(f"cp{ident.major}{ident.minor}-{ident.python}-") for t in tags)
