"""Where the notes of a release are written, and what that file holds afterwards.

Two kinds of target:

- **towncrier's news file** (its ``filename``, or any file that holds its ``start_string``): the release's
  section is inserted after ``start_string`` exactly as ``towncrier build`` inserts it (``append_to_newsfile``:
  the text before the marker, the marker, the section, then the older history unchanged; newlines read as
  universal newlines, written as they are), and the fragments it used are removed;
- **a notes document of its own** (``release.notes-file``, e.g. ``doc/release/{version}-notes.rst``): written
  with :func:`~shipwheel.notes.release_notes` when it does not exist yet; when the project uses towncrier the
  fragments rendered into it are removed too.

A file that exists is never replaced: a news file only gets a section inserted, and a document that does not
name the version is an error. Preparing is pure: the caller (the release's ``notes`` step) writes the file,
removes the fragments and commits both at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._fs import read_limited
from ..errors import ProjectError
from ._towncrier import Section, Towncrier, find_towncrier, render_section

__all__ = ["NotesTarget", "NotesUpdate", "insert_section", "notes_target", "prepare_notes"]

#: A changelog holding every release since 2010 is a few MiB; more is not a changelog.
MAX_NEWS_FILE = 64 << 20


@dataclass(frozen=True, slots=True)
class NotesTarget:
    """The file the notes of a release go to, and the project's towncrier setup (``None`` without one)."""

    path: Path
    towncrier: Towncrier | None
    insert: bool
    """True: a towncrier news file the section is inserted into; false: a notes document of its own."""
    project_dir: Path


@dataclass(frozen=True, slots=True)
class NotesUpdate:
    """What the notes step changes: ``text`` is the file's new content (``None``: the file already holds this
    release's notes) and ``fragments`` the fragment files to remove (absolute paths)."""

    target: NotesTarget
    text: str | None
    fragments: tuple[Path, ...]
    section: Section | None = None


def _read(path: Path) -> str | None:
    """The text of ``path`` with universal newlines (as towncrier reads it); ``None`` when it does not exist."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = read_limited(path, MAX_NEWS_FILE)
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(
            f"cannot read the notes file {path}: {getattr(exc, 'strerror', None) or exc}",
            hint="it must be a UTF-8 text file",
        ) from None


def names_version(text: str, version: str) -> bool:
    """Whether ``text`` mentions ``version`` as a version, ``v1.0`` too (``1.0`` is not in ``1.0.1``, ``11.0`` or
    ``1.0rc1``)."""
    return re.search(rf"(?<![\w.])[vV]?{re.escape(version)}(?!\w|\.\w)", text) is not None


def _news_path(tc: Towncrier, version: str, date: str) -> Path:
    return tc.root / tc.news_file(tc.project_name(), version, date)


def notes_target(
    project_dir: Path, version: str, *, notes_file: Path | None = None, top: Path | None = None
) -> NotesTarget | None:
    """Where the notes of ``version`` go; ``None`` when there is nowhere (no ``notes_file``, no towncrier).

    :param notes_file: the configured notes file (``release.notes-file``, formatted), absolute or relative to
        ``project_dir``; default: towncrier's news file.
    :param top: the highest folder towncrier's configuration is looked for in (the git work tree's top).
    """
    from ._towncrier import build_date

    tc = find_towncrier(project_dir, top=top)
    if notes_file is None:
        if tc is None:
            return None
        return NotesTarget(_news_path(tc, version, build_date()), tc, True, project_dir)
    path = notes_file if notes_file.is_absolute() else project_dir / notes_file
    if tc is None:
        return NotesTarget(path, None, False, project_dir)
    same = path.resolve() == _news_path(tc, version, build_date()).resolve()
    if not same and path.is_file():
        same = tc.start_string in (_read(path) or "")
    return NotesTarget(path, tc, same, project_dir)


def _body(text: str, start_string: str) -> str:
    parts = text.split(start_string, 1)
    return (parts[1] if len(parts) == 2 else text).lstrip()


def _holds_release(text: str, tc: Towncrier, version: str) -> bool:
    """Whether the newest section of the news file (the first line after ``start_string``) is ``version``'s."""
    body = _body(text, tc.start_string) if tc.single_file else text
    first = next((line for line in body.split("\n") if line.strip()), "")
    return names_version(first, version)


def notes_present(target: NotesTarget, version: str) -> bool:
    """Whether the target already holds the notes of ``version``."""
    text = _read(target.path)
    if text is None:
        return False
    if target.insert and target.towncrier is not None:
        return _holds_release(text, target.towncrier, version)
    return names_version(text, version)


def insert_section(existing: str | None, section: Section, start_string: str, single_file: bool) -> str:
    """The news file after ``towncrier build`` wrote ``section`` into it (towncrier's ``append_to_newsfile``).

    :raises ProjectError: the file already has the section's title (towncrier: "It seems you've already
        produced newsfiles for this version?"; towncrier looks for the ``title_format`` line only, here a
        title the template renders counts too).
    """
    header, prev_body = "", ""
    if single_file and existing is not None:
        parts = existing.split(start_string, 1)
        if len(parts) == 2:
            header, prev_body = f"{parts[0].rstrip()}\n\n{start_string}\n", parts[1].lstrip()
        else:
            prev_body = existing.lstrip()
    # towncrier checks the title_format line only; a title rendered by the template is checked here too.
    title = section.top_line or next((ln for ln in section.content.split("\n") if ln.strip()), "")
    if (section.top_line and section.top_line in prev_body) or (
        title.strip() and re.search(rf"^{re.escape(title.strip())}$", prev_body, re.MULTILINE)
    ):
        raise ProjectError(
            f"the news file already has a section {title.strip()!r}, below newer ones",
            hint="remove the stray section, or release another version",
        )
    content = section.content
    return header + (content + prev_body if prev_body else content.rstrip() + "\n")


def prepare_notes(
    target: NotesTarget,
    version: str,
    *,
    fmt: str = "rst",
    progress: Callable[[str], None] | None = None,
) -> NotesUpdate:
    """The new content of the notes file of ``version`` and the fragments to remove with it.

    :raises ProjectError: the target exists and does not name the version (a notes document, or a per-release
        news file), or holds a section of this version below newer ones.
    """
    tc = target.towncrier
    existing = _read(target.path)
    if target.insert and tc is not None:
        if existing is not None and _holds_release(existing, tc, version):
            return NotesUpdate(target, None, tc.fragments)  # written before, maybe not yet committed
        section = render_section(tc, version)
        if existing is not None and not tc.single_file:
            if existing == section.content.rstrip() + "\n":
                # written before (an interrupted notes step), from a template whose section names no version
                # (NumPy's renders "(no release note snippets found)" when there are no fragments)
                return NotesUpdate(target, None, tc.fragments, section)
            raise ProjectError(
                f"{target.path} exists and does not name {version}: it is not replaced",
                hint="delete it or move it away if it is stale, then run the notes step again",
            )
        return NotesUpdate(target, insert_section(existing, section, tc.start_string, tc.single_file),
                           tc.fragments, section)  # fmt: skip
    from ._release_notes import release_notes

    def render() -> str:
        return release_notes(target.project_dir, version, fmt=fmt, progress=progress)

    if existing is None:
        return NotesUpdate(target, render(), tc.fragments if tc is not None else ())
    if not names_version(existing, version):
        raise ProjectError(
            f"{target.path} exists and does not name {version}: it is not replaced",
            hint=f"write {version} in its title if it holds this release's notes, or move it away",
        )
    # Written by hand (it is kept, and the fragments too: they are not in it) or by an interrupted notes step
    # (the same text as now: the fragments went into it and go now).
    used = tc is not None and tc.fragments and existing == render()
    return NotesUpdate(target, None, tc.fragments if used and tc is not None else ())
