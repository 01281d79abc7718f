"""A project's towncrier setup as towncrier reads it, and its news section as ``towncrier build`` renders it.

towncrier has no public Python API, only its command line. Its configuration reader (``towncrier.toml``, else
``[tool.towncrier]`` of pyproject.toml, with towncrier's defaults for every key left out) and its fragment
finder are used through its modules, within the range of towncrier releases pyproject.toml allows; the tests run
the lowest and the newest of that range against their own ``towncrier build --draft``. Its renderer is not used:
it compiles the project's template in a plain jinja environment, where a template runs any code it likes. The
same steps run here (:func:`render_fragments` follows ``towncrier._builder.render_fragments`` and
``towncrier.build`` line by line) with the template in the sandbox of :mod:`._sandbox`.

Nothing of the project is imported: towncrier imports the ``package`` to find a project name when the
configuration has none (here: incremental's name from ``_version.py``, else ``package.title()``, which is what
that import gives), and imports any package a ``template = "pkg:resource"`` names (here: only towncrier's own
templates are taken from a package).
"""

from __future__ import annotations

import os
import re
import stat
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .._fs import read_limited
from ..errors import ConfigError, ProjectError
from ._sandbox import compile_project_template

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["Section", "Towncrier", "find_towncrier", "render_fragments", "render_section"]

#: Fragments, templates and configuration files are small; anything larger is refused, never read whole.
MAX_FILE = 1 << 20
_RESOURCE = re.compile(r"[-\w.]+:[-\w.]+$")  # towncrier's own test for "package:resource" templates
_HINT = "fix [tool.towncrier] (or towncrier.toml); check it with `towncrier build --draft`"


@dataclass(frozen=True, slots=True)
class Towncrier:
    """The towncrier setup of a project: where it was found, its settings, and the fragments it would use."""

    root: Path
    """The folder of the configuration file: towncrier's base folder for ``filename`` and ``directory``."""
    config_file: Path
    fragments: tuple[Path, ...]
    """The fragment files ``towncrier build`` would render and remove, as absolute paths."""
    folders: tuple[Path, ...]
    """The folders towncrier reads fragments from (one per section)."""
    template_name: str
    """The template as configured (a path relative to ``root``, or ``towncrier:default.rst``)."""
    config: Any = field(repr=False)
    """towncrier's own ``Config`` (its attributes are towncrier's configuration keys)."""
    parsed: Any = field(repr=False)
    """The fragments as towncrier's ``split_fragments`` returns them."""
    template_text: str = field(repr=False)

    @property
    def filename(self) -> str:
        """The news file as configured (with ``{version}`` placeholders when ``single_file`` is false)."""
        return str(self.config.filename)

    @property
    def single_file(self) -> bool:
        return bool(self.config.single_file)

    @property
    def start_string(self) -> str:
        return str(self.config.start_string)

    @property
    def markdown(self) -> bool:
        """Whether towncrier renders the template as Markdown (its test: the template's file name)."""
        return self.template_name.lower().endswith(".md")

    @property
    def own_template(self) -> bool:
        """Whether the project names its own template rather than towncrier's default."""
        return not self.template_name.startswith("towncrier:default.")

    def project_name(self) -> str:
        """The name towncrier puts in ``versiondata`` and ``title_format`` (see the module docstring)."""
        config = self.config
        if config.name:
            return str(config.name)
        if not config.package:
            return ""
        version_py = self.root / str(config.package_dir) / str(config.package) / "_version.py"
        try:
            text = read_limited(version_py, MAX_FILE).decode("utf-8", errors="replace")
        except OSError:
            text = ""
        # incremental's Version("Twisted", 24, 3, 0): towncrier reads its ``package``.
        m = re.search(r"""\bVersion\(\s*["']([^"']+)["']\s*,\s*\d""", text)
        return m.group(1) if m else str(config.package).title()

    def news_file(self, name: str, version: str, date: str) -> str:
        """The news file ``towncrier build`` writes for ``version``, relative to :attr:`root`."""
        if self.single_file:
            return self.filename
        try:
            return self.filename.format(name=name, version=version, project_date=date)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"towncrier: filename {self.filename!r} is not a valid template ({type(exc).__name__}: {exc})",
                hint="use only {name}, {version} and {project_date} in filename",
            ) from None


@dataclass(frozen=True, slots=True)
class Section:
    """One release's news as ``towncrier build`` makes it: ``content`` is what ``--draft`` prints (without the
    final line feed ``click.echo`` adds); ``top_line`` is the title towncrier checks for before writing
    (empty when the template renders the title)."""

    content: str
    top_line: str
    name: str
    date: str


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(read_limited(path, 4 * MAX_FILE).decode("utf-8"))
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror}", hint="check the file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="fix the syntax error") from None
    return data


def _work_tree_top(folder: Path) -> Path:
    """The top of the git work tree holding ``folder`` (the folder with ``.git``), else ``folder`` itself."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def _config_file(project_dir: Path, top: Path | None) -> tuple[Path, dict[str, Any]] | None:
    """The file towncrier takes its configuration from, searching from ``project_dir`` up to ``top``.

    towncrier stops at the first folder with a ``towncrier.toml`` or a ``pyproject.toml``; a pyproject.toml
    without ``[tool.towncrier]`` there means the project does not use towncrier (it would get all defaults).
    """
    here = project_dir.resolve()
    stop = top.resolve() if top is not None else _work_tree_top(here)
    while True:
        for name in ("towncrier.toml", "pyproject.toml"):
            path = here / name
            if path.is_file():
                data = _read_toml(path)
                tool = data.get("tool")
                table = tool.get("towncrier") if isinstance(tool, dict) else None
                if name == "towncrier.toml" or table is not None:
                    if table is not None and not isinstance(table, dict):
                        raise ConfigError(f"[tool.towncrier] in {path} is not a table", hint=_HINT)
                    return path, table or {}
                return None
        if here == stop or here.parent == here or stop not in here.parents:
            return None
        here = here.parent


@contextmanager
def _towncrier_errors(where: Path) -> Iterator[None]:
    """towncrier's failures as one-line errors: it validates few settings and raises what it meets."""
    from click import ClickException

    try:
        yield
    except ClickException as exc:
        raise ConfigError(f"towncrier: {' '.join(exc.format_message().split())}", hint=_HINT) from None
    except OSError as exc:
        raise ProjectError(
            f"towncrier: cannot read {exc.filename or where}: {exc.strerror}",
            hint="check the fragment files and their permissions",
        ) from None
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:
        raise ConfigError(
            f"towncrier: invalid configuration in {where} ({type(exc).__name__}: {exc})",
            hint="compare it with towncrier's documented configuration",
        ) from None


def _check_template_setting(table: Mapping[str, Any], where: Path) -> None:
    template = table.get("template", "towncrier:default")
    if isinstance(template, str) and _RESOURCE.match(template):
        package = template.split(":", 1)[0]
        if package not in ("towncrier", "towncrier.templates"):
            raise ConfigError(
                f"towncrier: template {template!r} in {where} names the package {package!r}: shipwheel does not "
                "import a package to find a template (it would run that package's code)",
                hint="point template at a file of the project (a path), or use one of towncrier's templates",
            )


def _fragment_folders(config: Any, root: Path) -> tuple[Path, ...]:
    from towncrier._builder import FragmentsPath

    folders = FragmentsPath(str(root), config)
    return tuple(Path(folders(section_dir)) for section_dir in config.sections.values())


def _check_fragment_folders(folders: tuple[Path, ...], root: Path) -> None:
    """Refuse what towncrier would block on or read without end: a FIFO, a device, a huge file, a link out of
    the project, in the folders it reads fragments from."""
    top = root.resolve()
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise ProjectError(
                f"cannot list the fragments in {folder}: {exc.strerror}", hint="check it"
            ) from None
        for entry in entries:
            path = Path(entry.path)
            try:
                info = path.stat()
            except OSError:
                raise ProjectError(f"the fragment {path} is a broken link", hint="remove it") from None
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise ProjectError(f"the fragment {path} is not a regular file", hint="remove it")
            if entry.is_symlink() and top not in path.resolve().parents:
                raise ProjectError(f"the fragment {path} is a link out of the project", hint="remove it")
            if info.st_size > MAX_FILE:
                raise ProjectError(
                    f"the fragment {path} has {info.st_size:,} bytes (at most {MAX_FILE:,})",
                    hint="shorten it",
                )


def _validate(config: Any, where: Path) -> None:
    """The settings used while rendering have the types towncrier's code needs (it checks only booleans, and
    fails later with a traceback on, say, ``underlines = 0``)."""

    def bad(key: str, wanted: str) -> ConfigError:
        value = getattr(config, key)
        return ConfigError(
            f"towncrier: {key} = {value!r} in {where} is not {wanted}",
            hint="compare it with towncrier's docs",
        )

    for key in (
        "filename",
        "start_string",
        "name",
        "package",
        "package_dir",
        "orphan_prefix",
        "issue_pattern",
    ):
        if not isinstance(getattr(config, key), str):
            raise bad(key, "a string")
    if not config.start_string:
        raise bad("start_string", "a non-empty string")
    if config.directory is not None and not isinstance(config.directory, str):
        raise bad("directory", "a string")
    if config.issue_format is not None and not isinstance(config.issue_format, str):
        raise bad("issue_format", "a string")
    if config.issue_format is not None and not _format_fields_in(config.issue_format, {"issue"}):
        raise bad("issue_format", "a template whose only field is {issue} (like '`#{issue} <...>`_')")
    if config.title_format is not False and not isinstance(config.title_format, str):
        raise bad("title_format", "a string or false")
    underlines = config.underlines
    if (
        not isinstance(underlines, (str, list, tuple))
        or not underlines
        or not all(isinstance(u, str) for u in underlines)
    ):
        raise bad("underlines", "a non-empty string or list of strings")
    if not isinstance(config.wrap, int):  # a bool is an int
        raise bad("wrap", "true, false or a width")
    if config.ignore is not None and not (
        isinstance(config.ignore, list) and all(isinstance(i, str) for i in config.ignore)
    ):
        raise bad("ignore", "a list of strings")
    for directory, definition in config.types.items():
        if not isinstance(directory, str) or not isinstance(definition.get("name"), str):
            raise ConfigError(f"towncrier: the type {directory!r} in {where} has no name", hint=_HINT)
    for section_dir in config.sections.values():
        if not isinstance(section_dir, str):
            raise bad("sections", "a list of tables with a path")


def _template(config: Any, root: Path) -> tuple[str, str]:
    """The template's name (as configured) and its text."""
    tmpl = config.template
    if isinstance(tmpl, tuple):
        package, resource = tmpl
        text = resources.files(package).joinpath(resource).read_text(encoding="utf-8")
        return f"towncrier:{resource}", text
    path = Path(tmpl)
    shown = os.path.relpath(path, root) if path.is_absolute() else str(path)
    try:
        return shown, read_limited(path, MAX_FILE).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"towncrier: cannot read the template {shown} ({exc})", hint=_HINT) from None


def find_towncrier(project_dir: Path, *, top: Path | None = None) -> Towncrier | None:
    """The towncrier setup of the project in ``project_dir``; ``None`` when it does not use towncrier.

    :param top: the highest folder to look in; default: the top of the git work tree holding ``project_dir``
        (``project_dir`` alone outside git). towncrier itself looks up to the file system's root.
    :raises ConfigError: the configuration is invalid, or a fragment name does not parse (with ``ignore`` set).
    :raises ProjectError: a fragment cannot be read, or is not a regular file of the project.
    """
    found = _config_file(project_dir, top)
    if found is None:
        return None
    config_file, table = found
    root = config_file.parent
    _check_template_setting(table, config_file)
    from towncrier._builder import find_fragments, split_fragments
    from towncrier._settings.load import load_config

    with _towncrier_errors(config_file):
        config = load_config(str(root))
        if config is None:  # pragma: no cover - the file was just found
            return None
        _validate(config, config_file)
        name, text = _template(config, root)
        folders = _fragment_folders(config, root)
        _check_fragment_folders(folders, root)
        contents, files = find_fragments(str(root), config, strict=config.ignore is not None)
        parsed = split_fragments(contents, config.types, all_bullets=config.all_bullets)
    return Towncrier(
        root=root,
        config_file=config_file,
        fragments=tuple(Path(path) for path, _category in files),
        folders=folders,
        template_name=name,
        config=config,
        parsed=parsed,
        template_text=text,
    )


def render_fragments(
    template: str,
    template_name: str,
    issue_format: str | None,
    fragments: Mapping[str, Mapping[str, Mapping[str, Sequence[str]]]],
    definitions: Mapping[str, Mapping[str, Any]],
    underlines: Sequence[str],
    wrap: bool | int,
    versiondata: Mapping[str, str],
    top_underline: str = "=",
    all_bullets: bool = False,
    render_title: bool = True,
    md_header_level: int = 1,
) -> str:
    """``towncrier._builder.render_fragments`` with the template in the sandbox; same arguments, same text."""
    jinja_template = compile_project_template(
        template, template_name, hint="fix the towncrier template; check it with `towncrier build --draft`",
        trim_blocks=True,
    )  # fmt: skip
    data, issues_by_category = _sorted_entries(fragments, issue_format, all_bullets)
    get_indent = _indent_of(all_bullets)
    res = jinja_template.render(
        {
            "render_title": render_title,
            "sections": data,
            "definitions": definitions,
            "underlines": underlines,
            "versiondata": versiondata,
            "top_underline": top_underline,
            "get_indent": get_indent,
            "issues_by_category": issues_by_category,
            "header_prefix": "#" * md_header_level,
        }
    )
    return _wrapped(res, wrap, get_indent)


def _sorted_entries(
    fragments: Mapping[str, Mapping[str, Mapping[str, Sequence[str]]]],
    issue_format: str | None,
    all_bullets: bool,
) -> tuple[dict[str, dict[str, dict[str, list[str]]]], dict[str, dict[str, list[str]]]]:
    """The template's ``sections`` (each entry's text with its rendered issues, in towncrier's order) and
    ``issues_by_category``, as towncrier's render_fragments computes them."""
    from towncrier._builder import (
        append_newlines_if_trailing_code_block,
        bullet_key,
        entry_key,
        issue_key,
        render_issue,
    )

    data: dict[str, dict[str, dict[str, list[str]]]] = {}
    issues_by_category: dict[str, dict[str, list[str]]] = {}
    for section_name, section_value in fragments.items():
        data[section_name] = {}
        issues_by_category[section_name] = {}
        for category_name, category_value in section_value.items():
            category_issues: set[str] = set()
            entries = []
            for text, issues in category_value.items():
                entries.append((text, sorted(issues, key=issue_key)))
                category_issues.update(issues)
            entries.sort(key=entry_key)
            if not all_bullets:
                entries.sort(key=bullet_key)
            categories = {}
            for text, issues in entries:
                text = append_newlines_if_trailing_code_block(text)
                categories[text] = [render_issue(issue_format, i) for i in issues]
            data[section_name][category_name] = categories
            issues_by_category[section_name][category_name] = [
                render_issue(issue_format, i) for i in sorted(category_issues, key=issue_key)
            ]
    return data, issues_by_category


def _indent_of(all_bullets: bool) -> Callable[[str], str]:
    """towncrier's ``get_indent``: the indent of an entry's continuation lines."""

    def get_indent(text: str) -> str:
        if all_bullets or text[:2] == "- " or text[:2] == "* ":
            return "  "
        if text[:3] == "#. ":
            return "   "
        return ""

    return get_indent


def _wrapped(res: str, wrap: bool | int, get_indent: Callable[[str], str]) -> str:
    """The rendered text wrapped line by line as towncrier wraps it (``wrap``: off, 79 columns, or a width)."""
    done = []
    for line in res.split("\n"):
        if wrap is False:
            done.append(line)
            continue
        width = 79 if wrap is True else wrap
        if width <= 0:
            width = 79
        done.append(
            textwrap.fill(
                line,
                width=width,
                subsequent_indent=get_indent(line),
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(done)


def build_date() -> str:
    """towncrier's date of a build, as ``YYYY-MM-DD`` (from ``SOURCE_DATE_EPOCH`` where towncrier honours it)."""
    from towncrier.build import _get_date

    try:
        return str(_get_date()).strip()
    except (ValueError, OverflowError, OSError):
        raise ConfigError(
            f"SOURCE_DATE_EPOCH={os.environ.get('SOURCE_DATE_EPOCH')!r} is not a time in seconds",
            hint="set it to an integer, or unset it",
        ) from None


def render_section(
    tc: Towncrier, version: str, *, name: str | None = None, date: str | None = None
) -> Section:
    """The news of ``version`` exactly as ``towncrier build --version VERSION`` renders it (``--draft`` prints
    :attr:`Section.content`)."""
    config = tc.config
    project = tc.project_name() if name is None else name
    day = build_date() if date is None else date
    render_title = config.title_format == ""
    md_header_level = 1
    if tc.markdown:
        if config.title_format:
            m = re.search(r"^#+(?=\s)", config.title_format, re.MULTILINE)
            md_header_level = len(m[0]) if m else 0
        else:
            md_header_level = 1 if render_title else 0
    with _towncrier_errors(tc.config_file):
        rendered = render_fragments(
            tc.template_text,
            tc.template_name,
            config.issue_format,
            tc.parsed,
            config.types,
            config.underlines[1:],
            config.wrap,
            {"name": project, "version": version, "date": day},
            top_underline=config.underlines[0],
            all_bullets=config.all_bullets,
            render_title=render_title,
            md_header_level=md_header_level,
        )
        top_line = ""
        if config.title_format:
            top_line = config.title_format.format(name=project, version=version, project_date=day)
            parts = [top_line] if tc.markdown else [top_line, config.underlines[0] * len(top_line)]
            rendered = "\n".join([*parts, rendered])
    return Section(content=rendered, top_line=top_line, name=project, date=day)


def _format_fields_in(template: str, allowed: set[str]) -> bool:
    """Whether ``template`` is a ``str.format`` template of ``allowed`` fields that formats a sample value
    (towncrier formats ``issue_format`` with ``issue=`` alone: ``{}``, ``{0}``, ``{;}`` or ``{issue:d}`` would be
    a traceback at render time)."""
    try:
        template.format(**dict.fromkeys(allowed, "1234"))
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return False
    return True
