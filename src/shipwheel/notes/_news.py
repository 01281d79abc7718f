"""The news fragments of a release for the release notes: towncrier's own rendering, or grouped under headings.

Two layouts:

- the project names its own towncrier ``template`` in the notes' format (NumPy's): the fragments come out exactly
  as ``towncrier build --draft --version VERSION`` renders them (:func:`._towncrier.render_section`), and the
  release notes carry that text as it is;
- otherwise, the fragments of each release-notes section are rendered as a list with towncrier's steps and the
  project's settings (``fragments.*.j2`` here, one per ``all_bullets`` choice), so that the notes template can put
  them under the headings release guides ask for.

Markdown notes (the body of a GitHub release) from fragments written in reStructuredText get their Sphinx roles
as GitHub reads them: ``:issue:`1299``` and ``:pr:`1299``` become ``#1299``, ``:user:`veeceey``` ``@veeceey``,
``:commit:`abc1234``` the bare hash, other roles a code span, ```text <url>`_`` a Markdown link, a bare issue
number ``#1299``, and section titles ``####`` headings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ._towncrier import Towncrier, find_towncrier, render_fragments, render_section

__all__ = ["SECTION_TYPES", "FragmentSection", "News", "markdown_from_rst", "render_news"]

#: Release-notes section -> the towncrier types (fragment directory names) it gathers, in NumPy's and towncrier's
#: usual spellings. Types not named here go to "Other changes".
SECTION_TYPES: Mapping[str, tuple[str, ...]] = {
    "Highlights": ("highlight", "highlights"),
    "New features": ("feature", "features", "new_feature", "new_function", "enhancement"),
    "Deprecations and expired deprecations": (
        "deprecation",
        "deprecations",
        "expired",
        "expired_deprecation",
        "removal",
    ),
    "Compatibility notes": ("compatibility", "breaking", "incompatible"),
}
OTHER = "Other changes"


@dataclass(frozen=True, slots=True)
class FragmentSection:
    """One release-notes section: its title and, per towncrier type with fragments, the type's name and text."""

    title: str
    parts: Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class News:
    """The news fragments of a release, rendered.

    ``text`` is towncrier's own rendering with the project's template (empty when the project has none); otherwise
    ``sections`` holds the fragments grouped under the release-notes headings. ``files`` are the fragment files
    with their text, so that a problem in the rendered document can be traced to one of them.
    """

    text: str = ""
    sections: Sequence[FragmentSection] = ()
    files: Sequence[tuple[Path, str]] = ()
    #: why the project's own template was not used (a Markdown template for rst output, or the reverse)
    note: str = ""


def _packaged(name: str) -> str:
    return resources.files("shipwheel.notes").joinpath(name).read_text(encoding="utf-8")


_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+")


def _rst_titles_as_markdown(text: str) -> str:
    """reStructuredText section titles of a fragment as ``####`` Markdown headings.

    Left as they are, a title underlined with ``---`` is a level-2 heading in Markdown (setext), above the
    section it sits in; the rest of the fragment reads well enough as Markdown.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        below = lines[i + 1] if i + 1 < len(lines) else ""
        above = out[-1] if out else ""
        if (
            line.strip()
            and not line[0].isspace()
            and not _ADORNMENT.fullmatch(line.rstrip())
            and _ADORNMENT.fullmatch(below.rstrip())
            and len(below.rstrip()) >= len(line.rstrip())
        ):
            if above and _ADORNMENT.fullmatch(above.rstrip()) and above[0] == below[0]:
                out.pop()  # its overline
            out.append(f"#### {line.strip()}")
            if i + 2 < len(lines) and lines[i + 2].strip():
                out.append("")
            i += 2
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


# :role:`text`, :domain:role:`text`; the text may be "title <target>" and start with ~ or ! (Sphinx).
_ROLE = re.compile(r":(?P<role>[A-Za-z][\w.+-]*(?::[A-Za-z][\w.+-]*)?):`(?P<text>[^`\n]+)`")
_TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_LINK = re.compile(r"`(?P<title>[^`<\n]+?)\s*<(?P<url>[a-z][a-z0-9+.-]*://[^>\s]+)>`__?")
_NUMBER = re.compile(r"#?(\d+)")


def _role(match: re.Match[str]) -> str:
    role = match.group("role").lower()
    text = match.group("text").strip()
    titled = _TITLED.match(text)
    title, target = (titled.group("title"), titled.group("target")) if titled else (text, text)
    target = target.lstrip("~!")
    if role in ("issue", "pr", "pull", "gh", "ghissue", "ghpull", "bug"):
        number = _NUMBER.fullmatch(target)
        return f"#{number.group(1)}" if number else target
    if role in ("user", "ghuser"):
        return f"@{target.lstrip('@')}"
    if role == "commit":
        return target
    shown = title.lstrip("~!") if titled else target.rsplit(".", 1)[-1] if text.startswith("~") else target
    return f"`{shown}`"


def markdown_from_rst(text: str) -> str:
    """Sphinx roles and hyperlinks of reStructuredText as GitHub-flavoured Markdown (see the module docstring)."""
    if "`" not in text:
        return text
    text = _LINK.sub(lambda m: f"[{m.group('title')}]({m.group('url')})", text)
    return _ROLE.sub(_role, text)


def _issue_as_markdown(rendered: str) -> str:
    """An issue reference rendered with the project's ``issue_format``, for GitHub: ``1299`` -> ``#1299``."""
    return f"#{rendered}" if rendered.isdigit() else markdown_from_rst(rendered)


def _grouped(tc: Towncrier, name: str, version: str, fmt: str, from_rst: bool) -> list[FragmentSection]:
    """The fragments under the release-notes headings, each type rendered with the project's settings."""
    config = tc.config
    # Fragments of the release itself are in the unnamed section; towncrier's sub-sections are merged into it.
    merged: dict[str, dict[str, Any]] = {}
    for _section, by_type in tc.parsed.items():
        for category, texts in by_type.items():
            if from_rst:
                texts = {
                    _rst_titles_as_markdown(markdown_from_rst(text)): issues for text, issues in texts.items()
                }
            merged.setdefault(category, {}).update(texts)
    fragments_template = f"fragments{'' if config.all_bullets else '-nobullets'}.{fmt}.j2"
    template = _packaged(fragments_template)
    issue_format = config.issue_format
    sections: dict[str, list[tuple[str, str]]] = {title: [] for title in [*SECTION_TYPES, OTHER]}
    where = {t: title for title, types in SECTION_TYPES.items() for t in types}
    for category, definition in config.types.items():
        if not merged.get(category):
            continue
        by_text = merged[category]
        if fmt == "md":
            from towncrier._builder import render_issue

            # The references are rendered here, so that a bare number becomes GitHub's #1299.
            by_text = {
                text: [_issue_as_markdown(render_issue(issue_format, i)) for i in issues]
                for text, issues in by_text.items()
            }
        text = render_fragments(
            template,
            f"shipwheel:{fragments_template}",
            "{issue}" if fmt == "md" else issue_format,
            {"": {category: by_text}},
            {category: definition},
            config.underlines[1:],
            config.wrap,
            {"name": name, "version": version, "date": ""},
            top_underline=config.underlines[0],
            all_bullets=config.all_bullets,
            render_title=False,
        )
        sections[where.get(category, OTHER)].append((str(definition["name"]), text.strip("\n") + "\n"))
    return [FragmentSection(title, tuple(parts)) for title, parts in sections.items() if parts]


def render_news(
    project_dir: Path, version: str, fmt: str, *, name: str = "", top: Path | None = None
) -> News | None:
    """The fragments of ``project_dir`` rendered for ``version``; ``None`` without towncrier configuration.

    :param fmt: ``rst`` or ``md``; the project's template is used when it is written for that format.
    :param name: the project name when towncrier's configuration has none.
    :param top: the highest folder towncrier's configuration is looked for in (default: ``project_dir``).
    :raises ConfigError: towncrier's configuration or template is invalid, or a fragment name does not parse.
    :raises ProjectError: a fragment file cannot be read.
    """
    tc = find_towncrier(project_dir, top=top)
    if tc is None:
        return None
    texts = tuple(
        (path, path.read_text(encoding="utf-8", errors="replace")) for path in tc.fragments
    )  # checked to be small regular files by find_towncrier
    project = tc.project_name() or name
    own_format = ("md" if tc.markdown else "rst") if tc.own_template else None
    if own_format is not None and not tc.template_name.lower().endswith((".md", ".rst")):
        # A template named otherwise (template.jinja) is taken to be written in the news file's format.
        own_format = "md" if tc.filename.lower().endswith(".md") else "rst"
    if own_format == fmt:
        return News(text=render_section(tc, version, name=project).content, files=texts)
    note = f"the towncrier template is {own_format}, not {fmt}: packaged layout used" if own_format else ""
    # Fragments are written for the news file's format; Markdown notes from rst fragments are converted.
    from_rst = fmt == "md" and not tc.filename.lower().endswith(".md")
    return News(sections=_grouped(tc, project, version, fmt, from_rst), files=texts, note=note)
