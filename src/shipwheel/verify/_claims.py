"""What a wheel says about itself that no other checker reads: the version its top-level modules report, and the
licences of the native libraries a repair tool grafted into it.

Both were seen on real releases: PyWavelets 1.9.0's wheels report ``pywt.__version__ == "1.8.0"`` (its generated
``pywt/version.py`` was not regenerated), and a pyzmq wheel built without its ``before-all`` grafts libzmq with no
licence for it. Both are warnings: the wheel installs, but says something false or ships code without its terms.
"""

from __future__ import annotations

import ast
import email.parser
import re
from collections.abc import Iterable, Mapping

from packaging.version import InvalidVersion, Version

from ._model import FileResult

__all__ = ["check_grafted_licences", "check_module_versions", "is_licence_file", "is_version_module"]

#: Files that hold a package's version by convention (setuptools-scm, hatch-vcs, meson's generated version.py …).
_VERSION_FILES = {"__init__.py", "version.py", "_version.py", "__version__.py", "__about__.py", "_about.py"}
#: The names those files give the release's version; ``short_version`` and ``full_version`` mean other things
#: (``2.2.0`` for ``2.2.0rc1``, a git describe string) and are left alone.
_VERSION_NAMES = {"__version__", "version", "VERSION"}
_LICENCE = re.compile(r"(licen[cs]e|copying|notice|copyright)", re.IGNORECASE)
#: Where repair tools put the libraries they graft: auditwheel and delvewheel ``<dist>.libs/``, delocate
#: ``<package>/.dylibs/``.
_GRAFTED = re.compile(r"^[^/]+\.libs/|(^|/)\.dylibs/")
_LIBRARY = re.compile(r"\.(so(\.\d+)*|dylib|dll)$")
#: The compilers' own runtimes, which repair tools graft into nearly every wheel and which their licences let a
#: binary carry without their text (GCC's runtime library exception, the MSVC redistributables, LLVM's libc++).
_RUNTIMES = {"gcc", "stdc", "c", "atomic", "gomp", "gfortran", "quadmath", "ucrtbase", "msvcp", "vcruntime"}
_RUNTIME_PREFIXES = ("msvcp", "vcruntime", "concrt", "vcomp", "api")
#: Parts of one library project shipped as several files (libbrotlicommon, libwebpdemux …).
_PART = re.compile(r"(common|dec|enc|core|shared|static|demux|mux)$")
#: Version and licence files larger than this are not read: no real one is.
MAX_TEXT = 4 << 20


def is_version_module(name: str) -> bool:
    """Whether member ``name`` is a top-level module or a top-level package's version file."""
    parts = name.split("/")
    if not name.endswith(".py") or parts[0].endswith((".dist-info", ".data")):
        return False
    return len(parts) == 1 or (len(parts) == 2 and parts[1] in _VERSION_FILES)


def is_licence_file(name: str) -> bool:
    """Whether member ``name`` is a licence text by its name (``LICENSE.zeromq.txt``, ``licenses/…``)."""
    return bool(_LICENCE.search(name)) and not name.endswith("/")


def _versions_in(source: bytes) -> list[tuple[str, str]]:
    """``(name, value)`` of every top-level string assignment to a version name in ``source``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # not Python 3 this interpreter reads: nothing to compare
    found = []
    for node in tree.body:
        value: ast.expr | None = None
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            value, targets = node.value, list(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            value, targets = node.value, [node.target]
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            found += [
                (t.id, value.value) for t in targets if isinstance(t, ast.Name) and t.id in _VERSION_NAMES
            ]
    return found


def check_module_versions(result: FileResult, modules: Mapping[str, bytes], version: Version) -> None:
    """``module-version-mismatch`` for each version string in ``modules`` that names another version."""
    for name, source in sorted(modules.items()):
        for variable, value in _versions_in(source):
            try:
                same = Version(value) == version
            except InvalidVersion:
                continue  # "unknown", a template placeholder: not a version to compare
            if not same:
                result.add(
                    "module-version-mismatch",
                    f"{name} sets {variable} = {value!r}, but the release is {version}",
                )
                break


def _key(library: str) -> str:
    """The project a grafted library file is of: ``libzmq-2f02442c.so.5.2.5`` -> ``zmq``."""
    base = library.rsplit("/", 1)[-1]
    if base.lower().startswith("lib"):
        base = base[3:]
    m = re.match(r"[A-Za-z]+", base)
    return (m.group(0) if m else base).lower()


def _subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(c in letters for c in short)


def _named(key: str, text: str, tokens: set[str]) -> bool:
    """Whether a licence names the library ``key``: as a word in a text (``libzmq``, ``zlib``, ``OpenJPEG``) or in
    a licence file's name (``LICENSE.zeromq.txt``: a word that starts like the key and holds its letters)."""
    keys = {key, _PART.sub("", key)} if len(key) >= 3 else {f"lib{key}", f"{key}lib"}
    for k in keys:
        if len(k) < 3:
            continue
        if re.search(rf"(?<![a-z0-9])(lib)?{re.escape(k)}", text):
            return True
        if any(t.startswith(k) or (t[:1] == k[:1] and _subsequence(k, t)) for t in tokens):
            return True
    return False


def check_grafted_licences(
    result: FileResult,
    names: Iterable[str],
    licences: Mapping[str, bytes],
    metadata: bytes | None,
    needs: Mapping[str, Iterable[str]],
    project: str = "",
) -> None:
    """``grafted-library-licence`` for each library a repair tool grafted into the wheel that no licence file names
    (in its file name or its text, the METADATA ``License`` field included).

    A library that another grafted library needs, and whose licence is there, is taken as part of it (libwebp's
    libsharpyuv). ``needs``: a binary's base name -> the base names it loads; ``project``: the wheel's normalized
    name, which names no grafted library (pyzmq's licence is not libzmq's).
    """
    grafted = sorted(n for n in names if _GRAFTED.search(n) and _LIBRARY.search(n))
    if not grafted:
        return
    text = "\n".join(content[:MAX_TEXT].decode("utf-8", "replace") for content in licences.values())
    if metadata is not None:
        header = email.parser.BytesParser().parsebytes(metadata, headersonly=True).get("License")
        text += "\n" + str(header or "")
    text = text.lower()
    tokens = {
        t
        for name in licences
        for t in re.split(r"[^a-z0-9]+", name.rsplit("/", 1)[-1].lower())
        if len(t) >= 3
    }
    tokens |= {t[3:] for t in tokens if t.startswith("lib") and len(t) >= 6}  # LICENSE.libsodium.txt
    tokens -= {"license", "licence", "licenses", "licences", "copying", "notice", "copyright", "txt", "rst"}
    own = {project, project.replace("-", "_")} if project else set()
    tokens -= own
    for name in own:
        text = re.sub(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", " ", text)
    todo: dict[str, str] = {}
    for path in grafted:
        key = _key(path)
        if key in _RUNTIMES or key.startswith(_RUNTIME_PREFIXES):
            continue
        todo[path.rsplit("/", 1)[-1]] = key
    covered = {base for base, key in todo.items() if _named(key, text, tokens)}
    # What a covered library loads is covered with it, and so on.
    frontier = list(covered)
    while frontier:
        for needed in needs.get(frontier.pop(), ()):
            base = needed.rsplit("/", 1)[-1]
            if base in todo and base not in covered:
                covered.add(base)
                frontier.append(base)
    for base, key in sorted(todo.items()):
        if base not in covered:
            path = next(p for p in grafted if p.endswith("/" + base))
            result.add(
                "grafted-library-licence",
                f"{path} is grafted into the wheel, but no licence file in it names {key!r}",
            )
