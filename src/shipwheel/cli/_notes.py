"""``shipwheel notes``: release notes from towncrier fragments, the changelog and the wheelhouse checksums."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CommandError, ProjectError, UsageError
from ._common import config_from_args, status, write_text_output

if TYPE_CHECKING:
    from packaging.version import Version

    from .._git import Git


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "notes",
        parents=[common],
        help="write the release notes of VERSION: towncrier fragments, changelog, checksums",
        description="Render the towncrier fragments of the project (towncrier's own configuration) under the "
        "sections release guides ask for (highlights, new features, deprecations and expired deprecations, "
        "compatibility notes, supported Python versions), then the changelog of the release range and the "
        "MD5/SHA256 of the release files in the wheelhouse. rst, or md for the body of a GitHub release.",
    )
    p.add_argument("version", metavar="VERSION", help="the version being released")
    p.add_argument("--project", type=Path, default=Path("."), help="project folder (default: .)")
    p.add_argument(
        "--range",
        metavar="A..B",
        default=None,
        help="changelog range (default: the latest tag before HEAD that is not VERSION or one of its "
        "pre-releases, ..HEAD; 'none' leaves the changelog out)",
    )
    p.add_argument("--repo", type=Path, default=None, help="git repository (default: the project folder)")
    p.add_argument("--mailmap-from", metavar="REV", default=None, help="apply the .mailmap of this revision")
    p.add_argument("--pr-url", metavar="TEMPLATE", default=None, help="link of a pull request with {number}")
    p.add_argument(
        "--wheelhouse",
        type=Path,
        default=None,
        help="folder of the release files to list with checksums (default: fetch.wheelhouse, if it exists)",
    )
    p.add_argument("--format", choices=("rst", "md"), default=None, help="output format (default: rst)")
    p.add_argument("--template", type=Path, default=None, help="a Jinja2 template replacing the packaged one")
    p.add_argument(
        "-o", "--output", metavar="FILE", type=Path, default=None, help="write here, not to stdout"
    )
    p.set_defaults(handler=run)


def _same_release(tag: str, version: Version) -> bool:
    """Whether ``tag`` is ``version`` itself or one of its alpha, beta or rc pre-releases.

    A ``.dev`` tag is not: NumPy tags ``vX.Y.0.dev0`` where the development of X.Y starts, the natural start of
    its changelog.
    """
    from packaging.version import InvalidVersion, Version

    try:
        tagged = Version(tag)
    except InvalidVersion:
        return False
    return tagged == version or (
        tagged.release == version.release and tagged.pre is not None and tagged.dev is None
    )


def _default_range(git: Git, version: str) -> str | None:
    """``<latest tag before HEAD>..HEAD``, skipping the tags of ``version`` and of its pre-releases.

    The notes of 2.4.0 made on a branch tagged v2.4.0rc1 and v2.4.0rc2 cover the whole release, not what came
    after the last release candidate.
    """
    from packaging.version import Version

    wanted = Version(version)
    rev = "HEAD"
    for _ in range(50):  # bounded: a release has a handful of pre-release tags
        try:
            tag = git.run("describe", "--tags", "--abbrev=0", rev).strip()
        except CommandError:
            return None
        if not _same_release(tag, wanted):
            return f"{tag}..HEAD"
        rev = f"{tag}^"
    return None


def _check_version(version: str) -> None:
    from packaging.version import InvalidVersion, Version

    try:
        Version(version)
    except InvalidVersion:
        raise UsageError(
            f"{version!r} is not a version (PEP 440)", hint="pass the version being released, e.g. 2.4.0"
        ) from None


def run(args: argparse.Namespace) -> int:
    from ..notes import make_changelog, open_repository, release_notes

    _check_version(args.version)
    overrides: dict[str, Any] = {}
    if args.format:
        overrides["notes.format"] = args.format
    if args.pr_url:
        overrides["changelog.pr-url"] = args.pr_url
    config = config_from_args(args, overrides, project_dir=args.project)
    fmt = config.notes.format
    template = args.template or (
        config.project_dir / config.notes.template if config.notes.template else None
    )
    wheelhouse: Path | None = args.wheelhouse
    if wheelhouse is None and config.fetch.wheelhouse.is_dir():
        wheelhouse = config.fetch.wheelhouse
    changelog = None
    if (args.range or "").lower() != "none":
        repo = args.repo or args.project
        revision_range = args.range
        if revision_range is None:
            try:
                revision_range = _default_range(open_repository(repo), args.version)
            except ProjectError:
                revision_range = None
        if revision_range is None:
            status("no git repository or no earlier tag: the notes have no changelog (pass --range A..B)")
        else:
            changelog = make_changelog(
                repo,
                revision_range,
                mailmap_from=args.mailmap_from,
                pr_url=config.changelog.pr_url or None,
                bots=config.changelog.bots,
                detect_bots=config.changelog.detect_bots,
                progress=status,
            )
    text = release_notes(
        args.project,
        args.version,
        fmt=fmt,
        changelog=changelog,
        wheelhouse=wheelhouse,
        template=template,
        progress=status,
    )
    write_text_output(text, args.output)
    return 0
