"""News fragments through towncrier's own configuration, fragment finder and renderer.

towncrier's ``[tool.towncrier]`` (or ``towncrier.toml``) says where the fragments are, which types exist and how
issues are linked; its ``find_fragments``/``split_fragments``/``render_fragments`` read and render them. Only the
template differs: the fragments of each release-notes section are rendered as a plain list (``fragments.rst.j2``
or ``fragments.md.j2`` here, written for towncrier's renderer), so that the notes template can put them under
the headings release guides ask for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import read_pyproject
from ..errors import ConfigError

__all__ = ["SECTION_TYPES", "FragmentSection", "render_sections"]

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


def _template(fmt: str) -> str:
    return resources.files("shipwheel.notes").joinpath(f"fragments.{fmt}.j2").read_text(encoding="utf-8")


def render_sections(project_dir: Path, version: str, fmt: str) -> list[FragmentSection] | None:
    """The fragments of ``project_dir`` grouped into release-notes sections; ``None`` without towncrier config.

    :raises ConfigError: towncrier's configuration is invalid or a fragment name does not parse.
    """
    from click import ClickException
    from towncrier._builder import find_fragments, render_fragments, split_fragments
    from towncrier._settings.load import load_config

    pyproject = read_pyproject(project_dir) or {}
    if not (project_dir / "towncrier.toml").is_file() and "towncrier" not in (pyproject.get("tool") or {}):
        return None
    try:
        config = load_config(str(project_dir))
        if config is None:
            return None
        contents, _files = find_fragments(str(project_dir), config, strict=config.ignore is not None)
        fragments = split_fragments(contents, config.types, all_bullets=config.all_bullets)
    except ClickException as exc:
        raise ConfigError(
            f"towncrier: {exc.format_message()}", hint="fix [tool.towncrier] or the fragment file names"
        ) from None
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        # towncrier does not validate every table: a misshapen one fails while it is read.
        raise ConfigError(
            f"towncrier: invalid [tool.towncrier] in {project_dir} ({type(exc).__name__}: {exc})",
            hint="compare it with towncrier's documented configuration",
        ) from None
    # Fragments of the release itself are in the unnamed section; towncrier's sub-sections are kept as prefixes.
    merged: dict[str, dict[str, Any]] = {}
    for _section, by_type in fragments.items():
        for category, texts in by_type.items():
            merged.setdefault(category, {}).update(texts)
    template = _template(fmt)
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
            ["-", "~"],
            config.wrap,
            {"name": config.name or "", "version": version, "date": ""},
            all_bullets=config.all_bullets,
            render_title=False,
        )
        sections[where.get(category, OTHER)].append((str(definition["name"]), text.strip("\n") + "\n"))
    return [FragmentSection(title, tuple(parts)) for title, parts in sections.items() if parts]
