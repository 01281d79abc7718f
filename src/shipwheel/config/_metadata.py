"""What the project is: name, version and requires-python, from wherever the project declares them.

In order: the ``[project]`` table; for a project without one, ``setup.cfg`` (``[metadata]`` name and version, with
``attr:`` read from the module's source as setuptools does, ``[options]`` python_requires) when that says enough;
an sdist's ``PKG-INFO``; else the build backend itself (``prepare_metadata_for_build_wheel`` in an isolated
environment, the way pypa/build asks it), whose answer is cached per content of the project's build files. The
folder's name is never taken for the project's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, canonicalize_name

from .._fs import read_limited
from .._git import Git, find_repository
from .._records import RecordShapeError, load_record
from ..errors import ConfigError, ShipwheelError
from ._model import ProjectInfo
from ._shipwheel import subtable
from ._values import Raw, short

__all__ = ["backend_metadata", "project_info", "read_pkg_info", "validate_name"]

_MAX = 4 * 1024 * 1024
_BUILD_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "PKG-INFO")


def validate_name(name: str, where: str) -> str:
    """A project name as PEP 508 allows it (letters, digits, ``.-_`` inside); anything else (a CR/LF that would
    forge a mail header, a space) is a configuration error."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", name):
        raise ConfigError(
            f"{where} name {short(name)} is not a valid project name",
            hint="a project name has letters, digits and . - _ inside (PEP 508)",
        )
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:  # pragma: no cover - the pattern above is the same rule
        raise ConfigError(
            f"{where} name {short(name)} is not a valid project name", hint="see PEP 508"
        ) from None
    return name


def _spec(text: str | None, where: str) -> SpecifierSet | None:
    if text is None or not text.strip():
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise ConfigError(
            f"{where} requires-python {text!r} is not a valid version specifier",
            hint="write it like '>=3.10'",
        ) from None


def _groups(pyproject: Mapping[str, Raw]) -> Mapping[str, tuple[str | Mapping[str, str], ...]]:
    table = subtable(pyproject, "dependency-groups", "[dependency-groups]")
    out: dict[str, tuple[str | Mapping[str, str], ...]] = {}
    for group, items in table.items():
        if not isinstance(items, list):
            raise ConfigError(f"[dependency-groups] {group} must be a list", hint="see PEP 735")
        entries: list[str | Mapping[str, str]] = []
        for item in items:
            if isinstance(item, str):
                entries.append(item)
            elif isinstance(item, dict) and all(isinstance(v, str) for v in item.values()):
                entries.append(MappingProxyType({str(k): str(v) for k, v in item.items()}))
            else:
                raise ConfigError(f"[dependency-groups] {group} holds {short(item)}", hint="see PEP 735")
        out[str(group)] = tuple(entries)
    return MappingProxyType(out)


def _from_project(table: Mapping[str, Raw]) -> tuple[str | None, str | None, str | None, tuple[str, ...]]:
    for key in ("name", "version", "requires-python"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(
                f"[project] {key} must be a string, got {short(table[key])}", hint="quote the value"
            )
    dynamic = table.get("dynamic", [])
    if not isinstance(dynamic, list) or not all(isinstance(d, str) for d in dynamic):
        raise ConfigError(
            f"[project] dynamic must be a list of field names, got {short(dynamic)}",
            hint='write it like dynamic = ["version"]',
        )
    name, version, requires = (table.get(k) for k in ("name", "version", "requires-python"))
    return (
        name if isinstance(name, str) else None,
        version if isinstance(version, str) else None,
        requires if isinstance(requires, str) else None,
        tuple(str(d) for d in dynamic),
    )


def project_info(
    pyproject: Mapping[str, Raw] | None, folder: Path | None, *, pkg_info: str | None, cache: Path | None
) -> ProjectInfo:
    """The project's metadata (see the module's docstring); ``folder`` is None for an sdist read in place,
    ``pkg_info`` its ``PKG-INFO``; ``cache`` holds the build backend's answers (None: never ask it)."""
    data = pyproject or {}
    table = subtable(data, "project", "[project]")
    name, version, requires, dynamic = _from_project(table)
    source = "[project]"
    if name is None and folder is not None and (folder / "setup.cfg").is_file():
        name, version, requires, source = _merge((name, version, requires, source), _setup_cfg(folder))
    if (name is None or requires is None) and pkg_info:
        name, version, requires, source = _merge(
            (name, version, requires, source), (*read_pkg_info(pkg_info), "PKG-INFO")
        )
    declared = bool(subtable(data, "build-system", "[build-system]").get("build-backend"))
    if (
        not table
        and folder is not None
        and cache is not None
        and _needs_backend(name, requires, folder, declared_backend=declared)
    ):
        asked = backend_metadata(folder, cache)
        if asked is not None:
            name, version, requires, source = _merge((name, version, requires, source), asked)
    if name is not None:
        validate_name(name, source)
    return ProjectInfo(
        name=name,
        version=version,
        requires_python=_spec(requires, source),
        dynamic=dynamic,
        dependency_groups=_groups(data),
        source=source if name is not None else "",
    )


Meta = tuple[str | None, str | None, str | None, str]


def _merge(have: Meta, found: Meta) -> Meta:
    """Values already known stay; the rest come from ``found`` (whose name says where they came from)."""
    name, version, requires, source = have
    if found[0] is None and found[2] is None:
        return have
    return name or found[0], version or found[1], requires or found[2], found[3] if name is None else source


def _needs_backend(name: str | None, requires: str | None, folder: Path, *, declared_backend: bool) -> bool:
    """The backend is asked only when the static files do not say the name, or do not say requires-python
    while a setup.py could."""
    if name is None:
        return (folder / "setup.py").is_file() or declared_backend
    return requires is None and (folder / "setup.py").is_file()


def read_pkg_info(text: str) -> tuple[str | None, str | None, str | None]:
    """Name, version and requires-python of core metadata (``PKG-INFO``, ``METADATA``)."""
    import email.parser

    message = email.parser.Parser().parsestr(text, headersonly=True)
    return message.get("Name"), message.get("Version"), message.get("Requires-Python")


def _setup_cfg(folder: Path) -> Meta:
    """``setup.cfg``'s ``[metadata]`` name and version and ``[options]`` python_requires (setuptools'
    declarative configuration); a version it cannot read statically stays unknown."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_limited(folder / "setup.cfg", _MAX).decode("utf-8"), "setup.cfg")
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigError(
            f"setup.cfg cannot be read: {exc}", hint="fix setup.cfg (setuptools' format)"
        ) from None
    name = parser.get("metadata", "name", fallback=None)
    version = parser.get("metadata", "version", fallback=None)
    requires = parser.get("options", "python_requires", fallback=None)
    if version is not None:
        version = _cfg_version(version.strip(), folder, parser.get("options", "package_dir", fallback=""))
    return (name.strip() if name else None), version, (requires.strip() if requires else None), "setup.cfg"


def _cfg_version(value: str, folder: Path, package_dir: str) -> str | None:
    if value.startswith("file:"):
        path = folder / value.removeprefix("file:").strip().split(",")[0].strip()
        try:
            return read_limited(path, _MAX).decode("utf-8").strip() or None
        except (OSError, UnicodeDecodeError):
            return None
    if value.startswith("attr:"):
        return _attr(value.removeprefix("attr:").strip(), folder, package_dir)
    return value or None


def _attr(dotted: str, folder: Path, package_dir: str) -> str | None:
    """``attr: pkg.mod.__version__`` read from the module's source (a literal assignment), as setuptools tries
    first, without importing the project."""
    module, _, attribute = dotted.rpartition(".")
    roots = {"": ""}
    for line in package_dir.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            roots[key.strip()] = value.strip()
    parts = module.split(".")
    if parts[0] in roots and parts[0]:
        base, parts = folder / roots[parts[0]], parts[1:]
    else:
        base = folder / roots[""]
    candidates = [base.joinpath(*parts, "__init__.py")] + (
        [base.joinpath(*parts[:-1], parts[-1] + ".py")] if parts else []
    )
    for path in candidates:
        if path.is_file():
            return _literal(path, attribute)
    return None


def _literal(path: Path, attribute: str) -> str | None:
    import ast

    try:
        tree = ast.parse(read_limited(path, _MAX).decode("utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        if any(isinstance(t, ast.Name) and t.id == attribute for t in targets) and isinstance(
            value, ast.Constant
        ):
            return str(value.value) if isinstance(value.value, str) else None
    return None


def _digest(folder: Path) -> str:
    """What the backend's answer depends on: the build files' contents and the commit checked out."""
    import hashlib

    parts = []
    for name in _BUILD_FILES:
        path = folder / name
        parts.append(name.encode() + b"\0" + (read_limited(path, _MAX) if path.is_file() else b"-") + b"\0")
    head = ""
    top = find_repository(folder)
    if top is not None:
        try:
            head = Git(top).resolve("HEAD")
        except ShipwheelError:  # a repository without a commit yet
            head = ""
    h = hashlib.sha256(b"".join([*parts, head.encode()]))
    return h.hexdigest()[:32]


def backend_metadata(folder: Path, cache: Path) -> Meta | None:
    """Name, version and requires-python as the project's build backend reports them
    (``prepare_metadata_for_build_wheel`` in an isolated environment), cached in ``cache/metadata``; None (with
    the reason logged) when the backend cannot say."""
    import json
    import logging

    entry = cache / "metadata" / f"{_digest(folder)}.json"
    saved = load_record(entry, _saved_metadata, limit=_MAX, what="cached metadata")
    if saved is not None:
        return (*saved, "the build backend's metadata")
    try:
        found = _ask_backend(folder)
    except Exception as exc:  # pypa/build raises plain exceptions for a broken build-system and the like
        logging.getLogger("shipwheel").warning(
            "the build backend of %s could not say the project's metadata: %s", folder, exc
        )
        return None
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(json.dumps(list(found)), encoding="utf-8")
    return (*found, "the build backend's metadata")


def _saved_metadata(data: object) -> tuple[str | None, str | None, str | None]:
    if not isinstance(data, list) or len(data) != 3:
        raise RecordShapeError("not [name, version, requires-python]")
    name, version, requires = (v if isinstance(v, str) else None for v in data)
    return name, version, requires


def _ask_backend(folder: Path) -> tuple[str | None, str | None, str | None]:
    import tempfile

    from build import ProjectBuilder
    from build.env import DefaultIsolatedEnv
    from pyproject_hooks import quiet_subprocess_runner

    with (
        tempfile.TemporaryDirectory(prefix="shipwheel-metadata-") as tmp,
        DefaultIsolatedEnv(installer="uv") as env,
    ):
        builder = ProjectBuilder.from_isolated_env(env, folder, runner=quiet_subprocess_runner)
        env.install(builder.build_system_requires)
        env.install(builder.get_requires_for_build("wheel"))
        meta = Path(builder.metadata_path(tmp)) / "METADATA"
        return read_pkg_info(meta.read_text(encoding="utf-8"))
