"""News fragments through towncrier's own configuration, fragment finder, renderer and template.

towncrier's ``[tool.towncrier]`` (or ``towncrier.toml``) says where the fragments are, which types exist, how
issues are linked, whether every fragment is a bullet (``all_bullets``), the heading characters (``underlines``),
the title (``title_format``), the line width (``wrap``) and the ``template``. Two layouts:

- the project names its own ``template`` (NumPy does): the fragments are rendered exactly as
  ``towncrier build --draft --version VERSION`` renders them, with that template and every one of those settings,
  and the release notes carry that text as it is;
- otherwise, the fragments of each release-notes section are rendered as a list with towncrier's renderer and the
  project's settings (``fragments.*.j2`` here, one per ``all_bullets`` choice), so that the notes template can put
  them under the headings release guides ask for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import read_pyproject
from ..errors import ConfigError, ProjectError

__all__ = ["SECTION_TYPES", "FragmentSection", "News", "render_news"]

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


def _project_template(config: Any) -> tuple[str, str] | None:
    """The project's own template text and its format (``rst`` or ``md``); ``None`` for towncrier's default.

    towncrier renders a template as Markdown when its name ends in ``.md``; a template named otherwise
    (``template.jinja``) is taken to be written in the format of the news file (``filename``).
    """
    tmpl = config.template
    if isinstance(tmpl, tuple):
        package, resource = tmpl
        if package == "towncrier.templates" and resource in ("default.rst", "default.md"):
            return None
        text = resources.files(package).joinpath(resource).read_text(encoding="utf-8")
        ext = os.path.splitext(resource)[1]
    else:
        try:
            text = Path(tmpl).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"towncrier: cannot read the template {tmpl} ({exc})", hint="fix [tool.towncrier] template"
            ) from None
        ext = os.path.splitext(tmpl)[1]
    if ext.lower() not in (".md", ".rst"):
        ext = os.path.splitext(str(config.filename))[1]
    return text, ("md" if ext.lower() == ".md" else "rst")


def _draft(
    config: Any, template: str, markdown: bool, fragments: Any, name: str, version: str, date: str
) -> str:
    """What ``towncrier build --draft`` prints after its progress lines (towncrier's ``build.__main``)."""
    from towncrier._builder import render_fragments

    # towncrier renders the title in the template only when title_format is "" (its default).
    render_title = config.title_format == ""
    md_header_level = 1
    if markdown:
        if config.title_format:
            m = re.search(r"^#+(?=\s)", config.title_format, re.MULTILINE)
            md_header_level = len(m[0]) if m else 0
        else:
            md_header_level = 1 if render_title else 0
    rendered: str = render_fragments(
        template,
        config.issue_format,
        fragments,
        config.types,
        config.underlines[1:],
        config.wrap,
        {"name": name, "version": version, "date": date},
        top_underline=config.underlines[0],
        all_bullets=config.all_bullets,
        render_title=render_title,
        md_header_level=md_header_level,
    )
    if config.title_format:
        top = config.title_format.format(name=name, version=version, project_date=date)
        parts = [top] if markdown else [top, config.underlines[0] * len(top)]
        return "\n".join([*parts, rendered])
    return rendered


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


def _grouped(
    config: Any, fragments: Any, name: str, version: str, fmt: str, md_from_rst: bool = False
) -> list[FragmentSection]:
    """The fragments under the release-notes headings, each type rendered with the project's settings."""
    from towncrier._builder import render_fragments

    # Fragments of the release itself are in the unnamed section; towncrier's sub-sections are merged into it.
    merged: dict[str, dict[str, Any]] = {}
    for _section, by_type in fragments.items():
        for category, texts in by_type.items():
            if md_from_rst:
                texts = {_rst_titles_as_markdown(text): issues for text, issues in texts.items()}
            merged.setdefault(category, {}).update(texts)
    template = _packaged(f"fragments{'' if config.all_bullets else '-nobullets'}.{fmt}.j2")
    sections: dict[str, list[tuple[str, str]]] = {title: [] for title in [*SECTION_TYPES, OTHER]}
    where = {t: title for title, types in SECTION_TYPES.items() for t in types}
    for category, definition in config.types.items():
        if not merged.get(category):
            continue
        text = render_fragments(
            template,
            config.issue_format,
            {"": {category: merged[category]}},
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


@contextmanager
def _towncrier_errors(project_dir: Path, template: str | None = None) -> Iterator[None]:
    """towncrier's and the template's failures as one-line errors."""
    from click import ClickException

    try:
        yield
    except ClickException as exc:
        raise ConfigError(
            f"towncrier: {exc.format_message()}", hint="fix [tool.towncrier] or the fragment file names"
        ) from None
    except OSError as exc:
        raise ProjectError(
            f"towncrier: cannot read {exc.filename or project_dir}: {exc.strerror}",
            hint="check the fragment files' permissions",
        ) from None
    except Exception as exc:
        if template is not None:  # jinja2 raises many types from a project's template
            raise ConfigError(
                f"towncrier: the template {template} fails: {type(exc).__name__}: {exc}",
                hint="check it with `towncrier build --draft`",
            ) from None
        if not isinstance(exc, (TypeError, KeyError, ValueError, AttributeError, IndexError)):
            raise
        # towncrier validates few of its settings: a misshapen one fails while it is read or used.
        raise ConfigError(
            f"towncrier: invalid [tool.towncrier] in {project_dir} ({type(exc).__name__}: {exc})",
            hint="compare it with towncrier's documented configuration",
        ) from None


def render_news(project_dir: Path, version: str, fmt: str, *, name: str = "") -> News | None:
    """The fragments of ``project_dir`` rendered for ``version``; ``None`` without towncrier configuration.

    :param fmt: ``rst`` or ``md``; the project's template is used when it is written for that format.
    :param name: the project name when towncrier's configuration has none.
    :raises ConfigError: towncrier's configuration is invalid or a fragment name does not parse.
    :raises ProjectError: a fragment file cannot be read.
    """
    from towncrier._builder import find_fragments, split_fragments
    from towncrier._settings.load import load_config
    from towncrier.build import _get_date

    pyproject = read_pyproject(project_dir) or {}
    if not (project_dir / "towncrier.toml").is_file() and "towncrier" not in (pyproject.get("tool") or {}):
        return None
    with _towncrier_errors(project_dir):
        config = load_config(str(project_dir))
        if config is None:
            return None
        own = _project_template(config)
        contents, files = find_fragments(str(project_dir), config, strict=config.ignore is not None)
        fragments = split_fragments(contents, config.types, all_bullets=config.all_bullets)
        texts = tuple(
            (Path(path), Path(path).read_text(encoding="utf-8", errors="replace"))
            for path, _category in files
        )
    project = str(config.name or config.package or name)
    if own is not None and own[1] == fmt:
        # towncrier's own test for Markdown: the template's file name.
        template_name = str(config.template[1] if isinstance(config.template, tuple) else config.template)
        with _towncrier_errors(project_dir, template=template_name):
            text = _draft(
                config,
                own[0],
                template_name.lower().endswith(".md"),
                fragments,
                project,
                version,
                _get_date().strip(),
            )
        return News(text=text, files=texts)
    note = f"the towncrier template is {own[1]}, not {fmt}: packaged layout used" if own else ""
    # Fragments are written for the news file's format; Markdown notes from rst fragments get Markdown headings.
    md_from_rst = fmt == "md" and not str(config.filename).lower().endswith(".md")
    with _towncrier_errors(project_dir):
        sections = _grouped(config, fragments, project, version, fmt, md_from_rst)
    return News(sections=sections, files=texts, note=note)
