"""The steps of ``shipwheel release`` that live in git: notes, version, tag and bump (``check`` is in
:mod:`._steps_check`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .._fs import write_inside
from ..errors import ProjectError
from ._context import Context

if TYPE_CHECKING:
    from ..notes import NotesTarget

__all__ = [
    "bump_observe",
    "bump_run",
    "notes_observe",
    "notes_run",
    "notes_skip",
    "tag_observe",
    "tag_run",
    "version_observe",
    "version_run",
]

# --- notes -------------------------------------------------------------------------------------------------------
# Where the notes go is the notes package's to say (``notes_target``): ``release.notes-file`` when set, else
# towncrier's news file; a towncrier news file gets the release's section inserted as ``towncrier build`` does and
# loses the fragments it used, in the same commit.


def _notes_target(ctx: Context) -> NotesTarget | None:
    from ..notes import notes_target

    configured = ctx.config.release.notes_file
    rel = Path(configured.format(version=ctx.version)) if configured else None
    return notes_target(ctx.config.project_dir, str(ctx.version), notes_file=rel, top=ctx.git.root)


def _inside(ctx: Context, path: Path) -> str:
    """``path`` relative to the work tree's top; a link is named as itself (multidict's fragments are links)."""
    root = ctx.git.root.resolve()
    try:
        return (path.parent.resolve() / path.name).relative_to(root).as_posix()
    except ValueError:
        raise ProjectError(
            f"the notes file {path} is outside the git repository {root}",
            hint="set release.notes-file inside it",
        ) from None


def _tracked(ctx: Context, rels: list[str]) -> list[str]:
    if not rels:
        return []
    return [t for t in ctx.git.run("ls-files", "-z", "--", *rels).split("\0") if t]


def _removed_before(ctx: Context, target: NotesTarget) -> list[str]:
    """Fragments an interrupted run already removed (``git rm`` done, or killed half-way), not yet committed:
    committed files of the fragment folders that are gone from the index or the work tree."""
    if target.towncrier is None:
        return []
    folders = [_inside(ctx, f) for f in target.towncrier.folders if f.is_dir()]
    if not folders:
        return []
    out = ctx.git.run("diff", "HEAD", "--name-only", "--diff-filter=D", "-z", "--", *folders)
    gone = [p for p in out.split("\0") if p]
    if gone:
        ctx.git.run("rm", "-q", "--cached", "--ignore-unmatch", "--", *gone)
    return gone


def _ignored(ctx: Context, rel: str) -> bool:
    """Whether ``rel`` exists untracked and git ignores it: NumPy's towncrier ``filename`` is such a scratch file,
    which its maintainers merge into the release notes by hand; ``towncrier build`` writes it and leaves it out of
    git (its ``git add`` fails), and so does this step."""
    out = ctx.git.run("ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", rel)
    return rel in out.split("\0")


def _fragments_removed_uncommitted(ctx: Context, target: NotesTarget) -> bool:
    """Committed fragments that are gone from the index or the work tree (an interrupted run's ``git rm``)."""
    assert target.towncrier is not None
    folders = [_inside(ctx, f) for f in target.towncrier.folders if f.is_dir()]
    return bool(folders) and bool(
        ctx.git.run("diff", "HEAD", "--name-only", "--diff-filter=D", "--", *folders)
    )


def notes_skip(ctx: Context) -> str | None:
    if ctx.config.release.notes_file or _notes_target(ctx) is not None:
        return None
    return "no release.notes-file configured and no towncrier configuration"


def notes_observe(ctx: Context) -> str | None:
    from ..notes import notes_present

    if ctx.tagged():
        return f"{ctx.tag} exists"
    target = _notes_target(ctx)
    if target is None:
        return None
    rel = _inside(ctx, target.path)
    if _ignored(ctx, rel):
        # A scratch file whose section may name no version (NumPy's): done once it is written and every
        # fragment's removal is committed.
        tc = target.towncrier
        if tc is not None and (tc.fragments or _fragments_removed_uncommitted(ctx, target)):
            return None
        return f"{rel} exists (git ignores it) and no fragment is left to release"
    if not notes_present(target, str(ctx.version)):
        return None
    if not _tracked(ctx, [rel]) or ctx.git.dirty_paths([rel]):
        return None
    if target.insert and target.towncrier is not None and target.towncrier.fragments:
        # A news file that holds the release while the fragments are still there: the step was interrupted
        # (or the section was written by hand); the fragments go now, as towncrier build removes them.
        return None
    if _forward_pending(ctx, rel):
        return None  # committed on the maintenance branch, not yet on main
    return f"{rel} is committed"


# A final release on a maintenance branch forward-ports its notes to the main branch (NumPy's release guide), as a
# local commit there; a conflict leaves main as it was, says what to do, and is not tried again.


def _forward_plan(ctx: Context, rel: str) -> tuple[str, str] | None:
    """``(main branch, notes commit)`` when the notes of this release are to be forward-ported."""
    from ._forward import main_branch, maintenance_release

    if maintenance_release(ctx.config, ctx.git, ctx.version) is None:
        return None
    target = main_branch(ctx.git)
    source = ctx.git.run("log", "-1", "--format=%H", "HEAD", "--", rel).strip()
    return (target, source) if target and source else None


def _forward_pending(ctx: Context, rel: str) -> bool:
    from ._forward import file_at

    plan = _forward_plan(ctx, rel)
    if plan is None or ctx.state.steps["notes"].data.get("forward_port_todo"):
        return False
    target, source = plan
    return file_at(ctx.git, target, rel) != file_at(ctx.git, source, rel)


def _forward(ctx: Context, rel: str) -> str:
    from ._forward import forward_port

    plan = _forward_plan(ctx, rel)
    if plan is None:
        return ""
    result = forward_port(ctx.git, [rel], plan[1], target=plan[0], version=str(ctx.version))
    if result.todo:
        ctx.state.steps["notes"].data["forward_port_todo"] = result.todo
    elif result.commit:
        ctx.state.steps["notes"].data["forward_port"] = result.commit
    return f"; {result.detail}"


def notes_run(ctx: Context) -> str:
    from ..notes import prepare_notes

    target = _notes_target(ctx)
    if target is None:  # pragma: no cover - notes_skip said otherwise
        raise ProjectError("nowhere to write the notes", hint="set release.notes-file")
    update = prepare_notes(target, str(ctx.version), fmt=ctx.config.notes.format, progress=ctx.progress)
    rel = _inside(ctx, target.path)
    if update.text is not None:
        write_inside(ctx.git.root, rel, update.text)  # never through a link in the work tree
    fragments = [_inside(ctx, f) for f in update.fragments if os.path.lexists(f)]
    tracked = _tracked(ctx, fragments)
    if tracked:
        ctx.git.run("rm", "-q", "--force", "--", *tracked)
    for untracked in sorted(set(fragments) - set(tracked)):  # as towncrier build: never in git, just deleted
        (ctx.git.root / untracked).unlink()
    ignored = _ignored(ctx, rel)
    if not ignored:
        ctx.git.run("add", "--", rel)
    paths = list(dict.fromkeys([*([] if ignored else [rel]), *tracked, *_removed_before(ctx, target)]))
    removed = f", {len(fragments)} fragment(s) removed" if fragments else ""
    if ignored:  # the section stays in the work tree for the maintainers; only the removals are committed
        if paths and ctx.git.dirty_paths(paths):
            ctx.git.run(
                "commit", "-q", "--no-verify", "-m", f"DOC: Release notes for {ctx.version}", "--", *paths
            )
        return f"wrote {rel} (git ignores it: not committed){removed}"
    if not ctx.git.dirty_paths(paths):
        return f"{rel} was committed already" + _forward(ctx, rel)
    ctx.git.run("commit", "-q", "--no-verify", "-m", f"DOC: Release notes for {ctx.version}", "--", *paths)
    return f"committed {rel}{removed}" + _forward(ctx, rel)


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
    from ._setver import current_version, locations_of

    try:
        now = current_version(ctx.config)
    except ProjectError:
        return None
    if now <= ctx.version:
        return None
    # Written but not committed (a run stopped between the two): the step is not done; its run commits it.
    rel = [str(loc.path.relative_to(ctx.git.root)) for loc in locations_of(ctx.config)]
    return None if ctx.git.dirty_paths(rel) else f"the project is at {now}"


def bump_run(ctx: Context) -> str:
    from ._setver import set_version
    from ._version import bump_version

    # After a pre-release the next one is still to come: 2.0.0rc1 -> 2.0.0rc2.dev0; after a final, the next micro.
    # From the released version, not from the files: a stopped run may have written the next one already.
    change = set_version(ctx.config, bump_version(ctx.version, dev=ctx.version.is_prerelease))
    return f"{change.old} -> {change.new}" + (f", commit {change.commit[:12]}" if change.commit else "")
