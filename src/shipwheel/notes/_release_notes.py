"""Release notes: towncrier fragments under the sections release guides ask for, the changelog, the checksums.

The document has, in order: the news fragments (towncrier's own rendering with the project's towncrier
template; without one, highlights, new features, deprecations and expired deprecations, compatibility notes,
other changes, each only when it has fragments), the supported Python versions (from the ``[project]`` metadata
and the wheels), the changelog of :mod:`._changelog`, and the MD5 and SHA256 of the release files of the
wheelhouse. ``notes.rst.j2`` and ``notes.md.j2`` are the templates; a project can pass its own (same context).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet

from .._fs import read_text
from ..config import read_pyproject
from ..distfiles import DistFile, file_digests, is_dist_filename, select
from ..errors import ConfigError, ProjectError, UsageError
from ._changelog import Changelog, render
from ._rst import check_rst
from ._towncrier import News, render_news

if TYPE_CHECKING:
    import jinja2

__all__ = ["Checksum", "checksums", "python_support", "release_notes"]

_CLASSIFIER = re.compile(r"^Programming Language :: Python :: (3)\.(\d+)$")


@dataclass(frozen=True, slots=True)
class Checksum:
    """The digests of one release file."""

    name: str
    md5: str
    sha256: str


def checksums(wheelhouse: Path, project: str | None = None, version: str | None = None) -> list[Checksum]:
    """MD5 and SHA256 of the release files in ``wheelhouse``, by file name.

    With ``project`` and ``version`` only that release's files count; otherwise every wheel and sdist.
    """
    if not wheelhouse.is_dir():
        raise ProjectError(
            f"no wheelhouse folder {wheelhouse}", hint="pass --wheelhouse DIR with the release files"
        )
    names = sorted(p.name for p in wheelhouse.iterdir() if p.is_file())
    if project and version:
        names = sorted(d.filename for d in select(names, project, version))
    else:
        names = [n for n in names if is_dist_filename(n)]

    def one(name: str) -> Checksum:
        digests = file_digests(wheelhouse / name, ("md5", "sha256"))
        return Checksum(name, digests["md5"], digests["sha256"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, names))


def _minor_span(minors: Sequence[int]) -> str:
    if len(minors) > 1 and minors == list(range(minors[0], minors[-1] + 1)):
        return f"3.{minors[0]}-3.{minors[-1]}"
    return ", ".join(f"3.{m}" for m in minors)


def python_support(pyproject: dict[str, Any] | None, files: Sequence[str] = ()) -> str:
    """A sentence on the supported Python versions: from the classifiers, else ``requires-python``; and wheels."""
    project = (pyproject or {}).get("project") or {}
    minors = sorted(
        {int(m.group(2)) for c in project.get("classifiers") or () if (m := _CLASSIFIER.match(str(c)))}
    )
    requires = project.get("requires-python")
    if minors:
        sentence = f"This release supports Python versions {_minor_span(minors)}."
    elif isinstance(requires, str) and requires.strip():
        sentence = f"This release requires Python {SpecifierSet(requires)}."
    else:
        sentence = "The package metadata does not say which Python versions are supported."
    abis: set[str] = set()
    for name in files:
        dist = DistFile.parse(name)
        if dist is None or dist.kind != "wheel":
            continue
        for tag in dist.tags:
            if tag.abi.startswith("cp") and tag.abi[2:3].isdigit():
                abis.add(tag.abi[2:3] + "." + tag.abi[3:])
            elif tag.abi == "abi3":
                abis.add(f"{tag.interpreter[2:3]}.{tag.interpreter[3:]}+ (abi3)")
    if abis:

        def key(v: str) -> tuple[int, int, str]:
            major, _, rest = v.partition(".")
            digits = re.match(r"\d+", rest)
            return int(major), int(digits.group(0)) if digits else 0, rest

        sentence += " Wheels are provided for CPython " + ", ".join(sorted(abis, key=key)) + "."
    return sentence


_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1*")


def _heading_styles(text: str) -> list[str]:
    """The underline characters of the section titles in ``text``, in order of first use (docutils' levels)."""
    styles: list[str] = []
    lines = text.splitlines() or [""]
    for above, title, below in zip(["", *lines[:-1]], lines, [*lines[1:], ""], strict=True):
        if (
            title.strip()
            and not title[0].isspace()
            and (not above.strip() or _ADORNMENT.fullmatch(above))  # a blank line or an overline before it
            and _ADORNMENT.fullmatch(below)
            and len(below) >= len(title.rstrip())
            and not _ADORNMENT.fullmatch(title)
            and below[0] not in styles
        ):
            styles.append(below[0])
    return styles


def _levels(fragments: str) -> tuple[str, str]:
    """Underlines for the notes' own sections (level 2) and their sub-sections (level 3).

    Heading levels in reStructuredText follow the order in which underline styles first appear: after towncrier's
    rendering (say ``*`` then ``^``), the notes' own sections must use those same styles, or docutils finds an
    inconsistent hierarchy.
    """
    styles = _heading_styles(fragments)
    h2 = styles[0] if styles else "="
    if len(styles) > 1:
        return h2, styles[1]
    return h2, next(c for c in "-~^\"'" if c != h2)


def _load_template(fmt: str, template: Path | None) -> jinja2.Template:
    import jinja2  # only the notes need it
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    if template is not None:
        # A project's template is a project's code only as far as Jinja goes: sandboxed (no attribute of
        # Python's internals, no call that changes anything), read through the one bounded reader.
        env: jinja2.Environment = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False
        )
        try:
            return env.from_string(read_text(template))
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise ProjectError(
                f"cannot read the notes template {template}: {why}", hint="check notes.template"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"{template}:{exc.lineno}: {exc.message}", hint="fix the Jinja2 syntax of the template"
            ) from None
    env = jinja2.Environment(
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False
    )
    text = resources.files("shipwheel.notes").joinpath(f"notes.{fmt}.j2").read_text(encoding="utf-8")
    return env.from_string(text)


def _render(template: jinja2.Template, where: Path | None, **values: Any) -> str:
    """Render ``template``; any error of a project's template (``{{ 1/0 }}``, an undefined name used as a
    function, an attribute the sandbox refuses) is one line naming the template, never a traceback."""
    try:
        return template.render(**values)
    except Exception as exc:  # a template's code can raise anything; none of it is shipwheel's bug
        if where is None:
            raise
        line = next(
            (
                tb.tb_lineno
                for tb in _frames(exc.__traceback__)
                if tb.tb_frame.f_code.co_filename == "<template>"
            ),
            None,
        )
        raise ConfigError(
            f"{where}{f':{line}' if line else ''}: {type(exc).__name__}: {exc}".splitlines()[0],
            hint="fix the template (notes.template)",
        ) from None


def _frames(tb: Any) -> Iterator[Any]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def release_notes(
    project_dir: Path,
    version: str,
    *,
    fmt: str = "rst",
    changelog: Changelog | None = None,
    wheelhouse: Path | None = None,
    template: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    """The release notes of ``version`` of the project in ``project_dir``; rst is checked with docutils.

    :param changelog: contributors and pull requests to include (see :func:`~shipwheel.notes.make_changelog`).
    :param wheelhouse: folder of the release files to list with their checksums.
    :param template: a Jinja2 template replacing the packaged one; it gets ``title``, ``name``, ``version``,
        ``fragments`` (towncrier's own rendering when the project has a towncrier ``template``, else empty),
        ``sections`` (each with ``title`` and ``parts``: pairs of towncrier type name and rendered text),
        ``python``, ``changelog`` (text) and ``checksums`` (each with ``name``, ``md5``, ``sha256``).
    :raises ProjectError: the rst document is invalid (the message names the fragment at fault); docutils'
        warnings go to ``progress``.
    """
    if fmt not in ("rst", "md"):
        raise UsageError(f"unknown notes format {fmt!r}", hint="use rst or md")
    report = progress or (lambda _msg: None)
    pyproject = read_pyproject(project_dir)
    name = str(((pyproject or {}).get("project") or {}).get("name") or project_dir.resolve().name)
    news: News | None = render_news(project_dir, version, fmt, name=name)
    if news is None:
        report(f"no towncrier configuration in {project_dir}: no fragments")
        news = News()
    else:
        if news.note:
            report(news.note)
        report(f"{len(news.files)} news fragments")
    sums: list[Checksum] = []
    if wheelhouse is not None:
        sums = checksums(wheelhouse, name, version)
        report(f"{len(sums)} release files in {wheelhouse}")
        if not sums:
            report(f"no files of {name} {version} in {wheelhouse}")
    # towncrier's own rendering goes in untouched (blank lines inside literal blocks included): the template sees
    # a marker, the blank lines around it are tidied, then the marker is replaced.
    marker = "\x00shipwheel-fragments\x00"
    fragments = news.text.strip("\n")
    h2, h3 = _levels(fragments)
    changelog_text = render(changelog, fmt) if changelog is not None else ""
    if fmt == "rst" and h2 != "=":
        for heading in ("Contributors", "Pull requests merged"):
            changelog_text = changelog_text.replace(
                f"\n{heading}\n{'=' * len(heading)}\n", f"\n{heading}\n{h2 * len(heading)}\n"
            )
    text = _render(
        _load_template(fmt, template),
        template,
        title=f"{name} {version} Release Notes",
        name=name,
        version=version,
        fragments=marker if fragments else "",
        sections=news.sections,
        python=python_support(pyproject, [c.name for c in sums]),
        changelog=changelog_text,
        checksums=sums,
        h2=h2,
        h3=h3,
    )
    text = re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"
    text = text.replace(marker, fragments)
    if fmt == "rst":
        for warning in check_rst(text, news.files):
            report(f"reStructuredText warning at {warning}")
    return text
