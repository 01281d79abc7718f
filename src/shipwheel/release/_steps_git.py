"""The steps of ``shipwheel release`` that live in git: check, notes, version, tag and bump."""

from __future__ import annotations

from pathlib import Path

from .._fs import write_inside
from ..errors import ProjectError, VerificationError
from ._context import Context

__all__ = [
    "bump_observe",
    "bump_run",
    "check_observe",
    "check_run",
    "notes_observe",
    "notes_run",
    "notes_skip",
    "tag_observe",
    "tag_run",
    "version_observe",
    "version_run",
]

#: Preflight checks the pipeline leaves out: the ``version`` step sets the version after the check, and the
#: ``verify`` step checks the version and the completeness of the sdist that was really built (the preflight
#: would build one more sdist for them).
_PIPELINE_SKIPS = ("version-files", "version-backend", "sdist-complete")


# --- check -------------------------------------------------------------------------------------------------------


def check_observe(ctx: Context) -> str | None:
    if ctx.tagged():
        return f"{ctx.tag} exists; the preflight was for before it"
    if ctx.state.steps["check"].status == "done":
        return "passed in an earlier run"
    return None


def check_run(ctx: Context) -> str:
    from ._preflight import run_checks

    report = run_checks(ctx.config, str(ctx.version), repository=ctx.repository, skip=_PIPELINE_SKIPS)
    bad = [r for r in report.results if r.status == "fail"]
    if bad:
        first = bad[0]
        raise VerificationError(
            f"the preflight failed: {', '.join(r.code for r in bad)} ({first.code}: {first.message})",
            hint=f"run 'shipwheel check {ctx.version}' for every finding and its fix, then run release again",
        )
    passed = sum(r.status == "pass" for r in report.results)
    return f"{passed} checks passed"


# --- notes -------------------------------------------------------------------------------------------------------


def _notes_path(ctx: Context) -> Path:
    return ctx.config.project_dir / ctx.config.release.notes_file.format(version=ctx.version)


def notes_skip(ctx: Context) -> str | None:
    return None if ctx.config.release.notes_file else "no release.notes-file configured"


def notes_observe(ctx: Context) -> str | None:
    if ctx.tagged():
        return f"{ctx.tag} exists"
    path = _notes_path(ctx)
    rel = str(path.relative_to(ctx.git.root))
    if path.is_file() and str(ctx.version) in path.read_text(encoding="utf-8", errors="replace"):
        tracked = ctx.git.run("ls-files", "--", rel).strip()
        if tracked and not ctx.git.dirty_paths([rel]):
            return f"{rel} is committed"
    return None


def notes_run(ctx: Context) -> str:
    path = _notes_path(ctx)
    rel = str(path.relative_to(ctx.git.root))
    if not (path.is_file() and str(ctx.version) in path.read_text(encoding="utf-8", errors="replace")):
        from ..notes import release_notes

        text = release_notes(ctx.config.project_dir, str(ctx.version), fmt=ctx.config.notes.format)
        write_inside(ctx.git.root, rel, text)  # never through a link in the work tree
    ctx.git.run("add", "--", rel)
    ctx.git.run("commit", "-q", "--no-verify", "-m", f"DOC: Release notes for {ctx.version}", "--", rel)
    return f"committed {rel}"


# --- version and tag ---------------------------------------------------------------------------------------------


def version_observe(ctx: Context) -> str | None:
    from ._setver import current_version, locations_of

    if ctx.tagged():
        return f"{ctx.tag} exists"
    try:
        if current_version(ctx.config) != ctx.version:
            return None
    except ProjectError:
        return None
    rel = [str(loc.path.relative_to(ctx.git.root)) for loc in locations_of(ctx.config)]
    return None if ctx.git.dirty_paths(rel) else f"the project is at {ctx.version}, committed"


def version_run(ctx: Context) -> str:
    from ._setver import set_version

    change = set_version(ctx.config, ctx.version)
    return f"{change.old} -> {change.new}, commit {change.commit[:12]}" if change.commit else "already set"


def tag_observe(ctx: Context) -> str | None:
    from ..errors import ConfigError, VerificationError
    from ._tag import find_tag, tag_signer

    found = find_tag(ctx.git, ctx.tag)
    if found is None:
        return None
    if ctx.config.sign.key or ctx.config.sign.trusted_keys:
        try:  # a signature by any key in the keyring is not enough: only a pinned key's
            tag_signer(ctx.config, ctx.git, ctx.tag)
        except (VerificationError, ConfigError) as exc:
            raise ProjectError(
                f"tag {ctx.tag} exists but does not verify with a pinned key: {exc.message}",
                hint=f"pin the release manager's key (sign.trusted-keys), or delete the tag (git tag -d {ctx.tag})",
            ) from None
    _check_tagged_version(ctx, found[1])
    return f"{ctx.tag} on {found[1][:12]}"


def _check_tagged_version(ctx: Context, commit: str) -> None:
    """The tag must name a commit whose version files hold the release's version: a tag made by hand on the
    wrong commit would otherwise be built and published."""
    from ..errors import CommandError
    from ._setver import locations_of

    for loc in locations_of(ctx.config):
        rel = loc.path.relative_to(ctx.git.root).as_posix()
        try:
            text = ctx.git.run("show", f"{commit}:{rel}")
        except CommandError:
            continue  # the file is newer than the tag: nothing to compare
        if not loc.agrees(ctx.version, text):
            raise ProjectError(
                f"tag {ctx.tag} names {commit[:12]}, whose {rel} holds {loc.read(text)}, not {ctx.version}",
                hint=f"delete the wrong tag (git tag -d {ctx.tag}) if it was never pushed, and run release again",
            )


def tag_run(ctx: Context) -> str:
    from ._tag import tag_release

    result = tag_release(ctx.config, str(ctx.version))
    return f"{result.name} on {result.commit[:12]}" + (" (signed, verified)" if result.verified else "")


def bump_observe(ctx: Context) -> str | None:
    from ._setver import current_version

    try:
        now = current_version(ctx.config)
    except ProjectError:
        return None
    return f"the project is at {now}" if now > ctx.version else None


def bump_run(ctx: Context) -> str:
    from ._setver import bump

    # After a pre-release the next one is still to come: 2.0.0rc1 -> 2.0.0rc2.dev0; after a final, the next micro.
    change = bump(ctx.config, dev=ctx.version.is_prerelease)
    return f"{change.old} -> {change.new}" + (f", commit {change.commit[:12]}" if change.commit else "")
