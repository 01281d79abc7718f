"""Workflow generation for CI runners: the GitHub Actions workflow that builds, verifies and publishes a release
the way ``[tool.shipwheel]`` describes it.

The workflow is rendered from a template in the package, with every action pinned from one table
(:mod:`shipwheel.ci._pins`) and the cibuildwheel configuration emitted from shipwheel's own matrix
(:mod:`shipwheel.ci._cibuildwheel`). The output depends only on the configuration and on this version of
shipwheel, byte for byte, so that ``check_workflows`` can tell drift and hand edits from a regenerated file.
"""

from __future__ import annotations

import difflib
import errno
import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import jinja2
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .._fs import read_text, write_file
from .._version import __version__
from ..config import Config, LineChoice, line_for_version
from ..errors import ConfigError, ProjectError
from ._cibuildwheel import PREFIX, Runner, cibuildwheel_environment, runners_for
from ._pins import CIBUILDWHEEL, PINS, Pin
from ._schedule import DevSchedule, dev_schedule

__all__ = [
    "CIBUILDWHEEL",
    "PINS",
    "WORKFLOW_FILE",
    "DevSchedule",
    "Drift",
    "Pin",
    "Runner",
    "check_workflows",
    "cibuildwheel_environment",
    "cibuildwheel_pin",
    "dev_schedule",
    "github_workflows",
    "runners_for",
    "shell_word",
    "shipwheel_requirement",
    "write_workflows",
    "yaml_block",
    "yaml_key",
    "yaml_value",
]

#: The file name of the generated workflow; PyPI's trusted publisher must name it.
WORKFLOW_FILE = "wheels.yml"
#: The Python that runs the sdist build, verify and stage jobs, when the matrix has no newer one.
_TOOL_PYTHON = "3.13"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: files(__package__).joinpath(f"templates/{name}").read_text(encoding="utf-8")
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, not HTML: values are quoted by the filters below
    )
    env.filters["yaml"] = yaml_value
    env.filters["yaml_key"] = yaml_key
    env.filters["shquote"] = shell_word
    env.filters["yaml_block"] = yaml_block
    return env


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def _no_expression(text: str, what: str) -> str:
    # GitHub evaluates ${{ }} everywhere in a workflow, keys and values alike, and YAML has no escape for it.
    if "${{" in text:
        raise ConfigError(
            f"{what} {text!r} contains '${{{{', which GitHub Actions would evaluate as an expression",
            hint="write it without '${{' (an environment variable is read as $NAME)",
        )
    return text


def yaml_value(value: object) -> str:
    """The YAML escaper of every value written into a workflow: a double-quoted scalar (a JSON string is one,
    whatever characters it holds); a value holding a GitHub expression (``${{``) is refused."""
    return json.dumps(_no_expression(str(value), "the value"), ensure_ascii=False)


def yaml_key(key: object) -> str:
    """The YAML escaper of every key written into a workflow: an environment variable's name, nothing else (a
    key holding ``:``, a line break or ``${{`` would write YAML or an expression of its own)."""
    text = str(key)
    if not _ENV_NAME.fullmatch(text):
        raise ConfigError(
            f"the environment variable name {_no_expression(text, 'the environment variable name')!r} is not a "
            "valid name",
            hint="use letters, digits and _ only, not starting with a digit",
        )
    return text


def shell_word(value: object) -> str:
    """One shell word inside a YAML block scalar (``run: |``): quoted for the shell, refused when it holds a
    line break (which would end the block and start YAML of its own) or a GitHub expression."""
    text = _no_expression(str(value), "the value")
    if "\n" in text or "\r" in text:
        raise ConfigError(f"the value {text!r} holds a line break", hint="write it on one line")
    return shlex.quote(text)


def yaml_block(value: object, indent: int) -> str:
    """Lines of a command inside a YAML block scalar, every line indented by ``indent`` spaces past the first
    (a line that is not indented would end the block); a GitHub expression is refused."""
    lines = _no_expression(str(value), "the command").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return ("\n" + " " * indent).join(lines)


def _sdist_env(config: Config, uses_prefix: bool) -> dict[str, str]:
    """The environment of the sdist job's build and test on ubuntu: the project's and the native prefix's."""
    options = config.build
    env: dict[str, str] = {}
    if uses_prefix:
        prefix = PREFIX["linux"]
        env |= {
            "CPATH": f"{prefix}/include",
            "LIBRARY_PATH": f"{prefix}/lib",
            "LD_LIBRARY_PATH": f"{prefix}/lib",
            "PKG_CONFIG_PATH": f"{prefix}/lib/pkgconfig",
            "CMAKE_PREFIX_PATH": prefix,
        }
    env |= {k: v.replace("{prefix}", PREFIX["linux"]) for k, v in options.environment.items()}
    return env


def _on_runner(command: str) -> str:
    # The sdist job runs the configured commands on the ubuntu runner itself, from the checkout.
    return (
        command.replace("{prefix}", PREFIX["linux"])
        .replace("{project}", '"$GITHUB_WORKSPACE"')
        .replace("{python}", "python")
    )


def shipwheel_requirement(config: Config) -> str:
    """The requirement the workflow installs shipwheel with: ``ci.shipwheel-requirement``, else this release of
    shipwheel (``shipwheel==X``). A development or local build is refused: no index has it to install."""
    configured = config.ci.shipwheel_requirement.strip()
    if configured:
        where = config.sources.get("ci.shipwheel-requirement", "ci.shipwheel-requirement")
        try:
            requirement = Requirement(configured)
        except InvalidRequirement as exc:
            raise ConfigError(
                f"ci.shipwheel-requirement ({where}): {configured!r} is not a requirement: {exc}",
                hint='write a PEP 508 requirement, like "shipwheel==1.2.0" or "shipwheel>=1.2,<2"',
            ) from None
        if canonicalize_name(requirement.name) != "shipwheel":
            raise ConfigError(
                f"ci.shipwheel-requirement ({where}) names {requirement.name}, not shipwheel",
                hint='write a requirement of shipwheel, like "shipwheel==1.2.0"',
            )
        return str(requirement)
    version = Version(__version__)
    if version.is_devrelease or version.local is not None:
        raise ConfigError(
            f"this shipwheel is the development build {__version__}, which no index has: the workflow could "
            "not install it",
            hint='set ci.shipwheel-requirement in [tool.shipwheel.ci] (e.g. "shipwheel==1.2.0"), or run a '
            "released shipwheel",
        )
    return f"shipwheel=={__version__}"


def _with_extra(requirement: str, extra: str) -> str:
    parsed = Requirement(requirement)
    parsed.extras = {*parsed.extras, extra}
    return str(parsed)


def cibuildwheel_pin(choice: LineChoice) -> tuple[Pin, str]:
    """The cibuildwheel release the workflow pins, by commit, and why: the release ``choice`` names (the
    project's pin or ``ci.cibuildwheel-version``), else the newest release of its line that :data:`CIBUILDWHEEL`
    knows. A workflow's pin of a release without a known commit becomes the newest known one of the same line;
    a configured one is refused (it was asked for by name)."""
    line = choice.line.name
    known = sorted(
        (v for v in CIBUILDWHEEL if line_for_version(v, what="cibuildwheel").name == line), key=Version
    )
    asked = choice.pinned.strip().lstrip("v")
    if asked in CIBUILDWHEEL:
        version, why = asked, choice.reason
    elif asked and asked.count(".") == 1 and [v for v in known if v.startswith(f"{asked}.")]:
        version = [v for v in known if v.startswith(f"{asked}.")][-1]
        why = f"the newest {asked}.x shipwheel knows ({choice.reason})"
    elif (asked and not choice.reason.startswith("pinned by ")) or not known:
        raise ConfigError(
            f"shipwheel knows no commit of cibuildwheel {asked or line} to pin ({choice.reason})",
            hint=f"set ci.cibuildwheel-version to one of {', '.join(CIBUILDWHEEL)}",
        )
    else:
        version = known[-1]
        newest = f"the newest release of the cibuildwheel {line} line that shipwheel has a commit for"
        why = f"{newest}, read like {asked} ({choice.reason})" if asked else f"{newest} ({choice.reason})"
    return Pin("pypa/cibuildwheel", CIBUILDWHEEL[version], f"v{version}"), why


def github_workflows(config: Config) -> dict[str, str]:
    """The workflow files for ``config``, by file name (``wheels.yml``), as text.

    Raises :class:`~shipwheel.errors.ConfigError` when the matrix has identifiers that no GitHub-hosted runner
    builds, when no cibuildwheel release of the project's line can be pinned, when shipwheel itself cannot be
    installed from an index, when a configured value would be read as a GitHub expression, or when
    ``ci.dev-schedule`` is not a cron line or has no bucket or index server to stage into.
    """
    options = config.build
    identifiers = config.identifiers()
    runners = runners_for(identifiers)
    platforms = sorted({r.platform for r in runners}, key=["linux", "macos", "windows"].index)
    cibw = cibuildwheel_environment(config, platforms)
    cibuildwheel, _ = cibuildwheel_pin(config.cibuildwheel)
    requirement = shipwheel_requirement(config)
    uses_prefix = "{prefix}" in " ".join(
        (options.before_all, options.before_build, options.test_command, *options.environment.values())
    )
    # The sdist job tests the sdist with shipwheel build of the newest manylinux_x86_64 identifier (the
    # ubuntu runner's own); a matrix without one falls back to pip install and the test command.
    linux = [i for i in identifiers if i.platform == "manylinux_x86_64"]
    sdist_identifier = max(linux, key=lambda i: (not i.free_threaded, i.minor)) if linux else None
    versions = sorted({i.minor for i in identifiers if not i.free_threaded})
    if sdist_identifier is not None:
        python = sdist_identifier.version + ("t" if sdist_identifier.free_threaded else "")
    else:
        python = f"3.{versions[-1]}" if versions else _TOOL_PYTHON
    text = (
        _environment()
        .get_template("wheels.yml.j2")
        .render(
            name="wheels",
            pins=PINS,
            cibuildwheel=cibuildwheel,
            runners=runners,
            cibw=cibw,
            python=python,
            tool_python=_TOOL_PYTHON,
            sdist_env=_sdist_env(config, uses_prefix),
            sdist_identifier=str(sdist_identifier) if sdist_identifier else "",
            before_all=_on_runner(options.before_all),
            test_requires=options.test_requires,
            test_command=_on_runner(options.test_command),
            shipwheel_requirement=requirement,
            shipwheel_s3_requirement=_with_extra(requirement, "s3"),
            staging=bool(config.stage.to),
            pure_env=dict(config.ci.pure_wheel_environment),
            dev=dev_schedule(config),
        )
    )
    return {WORKFLOW_FILE: text}


@dataclass(frozen=True, slots=True)
class Drift:
    """A committed workflow that differs from the generated one; ``diff`` is a unified diff (committed ->
    generated), ``missing`` says the file is not there at all."""

    path: Path
    diff: str
    missing: bool = False


def check_workflows(generated: Mapping[str, str], directory: Path) -> list[Drift]:
    """Compare the ``generated`` workflows with the files in ``directory``; an empty list means in sync."""
    drifts: list[Drift] = []
    for name, text in generated.items():
        path = directory / name
        if path.is_symlink():  # fail closed: a link is a drift of its own, never read (nor shown) through
            drifts.append(Drift(path, f"{path} is a symbolic link, not the workflow file\n"))
            continue
        try:
            committed = read_text(path, errors="replace")
        except FileNotFoundError:
            committed, missing = "", True
        except OSError as exc:  # a FIFO, a device, a folder, a huge file: never opened or read whole
            drifts.append(Drift(path, f"{path} cannot be read: {exc.strerror}\n"))
            continue
        else:
            missing = False
        if committed != text:
            diff = "".join(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"{path} (committed)",
                    tofile=f"{path} (generated)",
                )
            )
            drifts.append(Drift(path, diff, missing))
    return drifts


def _refuse_symlinks(directory: Path) -> None:
    # The folder and its parents inside the working folder (or its own two last levels when it lies elsewhere;
    # not the system's /tmp -> /private/tmp): a link planted in a repository must not send the write elsewhere.
    absolute = directory if directory.is_absolute() else Path.cwd() / directory
    try:
        base = Path.cwd()
        parts = absolute.relative_to(base).parts
    except ValueError:
        base, parts = absolute.parent.parent, absolute.parts[-2:]
    current = base
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise ProjectError(
                f"{current} is a symbolic link; shipwheel does not write workflows through links",
                hint="replace the link by a real folder, or pass another folder with -o",
            )


def write_workflows(generated: Mapping[str, str], directory: Path) -> list[Path]:
    """Write the ``generated`` workflows into ``directory`` (created), never through a symbolic link; return the
    files that changed."""
    _refuse_symlinks(directory)
    for folder in (directory, *directory.parents):
        if folder.exists() and not folder.is_dir():
            raise ProjectError(
                f"{folder} is a file, not a folder for workflows",
                hint="pass a folder with -o (default .github/workflows)",
            )
    directory.mkdir(parents=True, exist_ok=True)
    changed: list[Path] = []
    for name, text in generated.items():
        path = directory / name
        data = text.encode("utf-8")
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ProjectError(
                    f"{path} is a symbolic link; shipwheel does not write workflows through links",
                    hint="delete the link and run the command again",
                ) from None
            raise
        else:
            with os.fdopen(fd, "rb") as fh:
                if fh.read() == data:
                    continue
        write_file(path, data)  # atomic; a link planted meanwhile is replaced, never written through
        changed.append(path)
    return changed
