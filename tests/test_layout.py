"""The package layout (issue 11): steps meet through public faces, and no import cycle hides behind import order."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import shipwheel

SRC = Path(shipwheel.__file__).parent

STEPS = [
    "build_release",
    "verify_paths",
    "stage_files",
    "fetch_release",
    "sign_files",
    "publish_files",
    "make_changelog",
    "run_checks",
    "set_version",
    "tag_release",
    "run_release",
    "announce",
]


def _module_parts(path: Path) -> tuple[list[str], list[str]]:
    """``(dotted parts of the module, dotted parts of the package its relative imports start from)``."""
    parts = ["shipwheel", *path.relative_to(SRC).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return parts, parts
    return parts, parts[:-1]


def _private_imports(path: Path, source: str | None = None) -> list[str]:
    """Each ``from shipwheel.A._b import ...`` (or ``from ..A import _b``) in ``path`` (or ``source`` as if it were
    there) where ``_b`` is a private module of another package ``A`` than the one ``path`` belongs to; and each
    ``from ..m import _name`` of a private name (not a module) from outside the home of ``m``: its package for a
    module of a subpackage, the module itself for a top-level module or a package's ``__init__``."""
    me, package = _module_parts(path)
    found = []
    text = path.read_text(encoding="utf-8") if source is None else source
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            target = package[: len(package) - node.level + 1] + (
                node.module.split(".") if node.module else []
            )
        else:
            target = (node.module or "").split(".")
        if target[0] != "shipwheel":
            continue
        for dotted in [target, *([*target, alias.name] for alias in node.names)]:
            for i in range(2, len(dotted)):
                name = dotted[i]
                if not name.startswith("_") or name.startswith("__"):
                    continue
                owner = dotted[:i]
                module = SRC.joinpath(*owner[1:], name)
                is_module = module.with_suffix(".py").is_file() or (module / "__init__.py").is_file()
                if not is_module:
                    # a private name of the module ``owner``: shared only inside a subpackage (build._runner's
                    # names with build._schedule); a top-level module (matrix) or a package face keeps its own
                    home = SRC.joinpath(*owner[1:])
                    if len(owner) > 2 and not (home / "__init__.py").is_file():
                        owner = owner[:-1]
                hit = f"{path.relative_to(SRC.parent)}:{node.lineno} imports {'.'.join(dotted[: i + 1])}"
                if me[: len(owner)] != owner and hit not in found:
                    found.append(hit)
                break
    return found


def test_i11_step_functions_are_exported_from_shipwheel() -> None:
    assert set(STEPS) <= set(shipwheel.__all__)
    for name in STEPS:
        assert callable(getattr(shipwheel, name)), name


def test_i11_no_package_imports_another_packages_private_module() -> None:
    found = [hit for path in sorted(SRC.rglob("*.py")) for hit in _private_imports(path)]
    assert found == []


def test_i11_the_private_import_check_sees_a_reach_across() -> None:
    # The check itself must notice the pattern it forbids, absolute or relative, and allow imports inside a package.
    source = (
        "from ..release._tag import repository_of\n"
        "from shipwheel.staging import _stage\n"
        "from ._common import Bounds\n"
        "from .._http import redact\n"
    )
    hits = _private_imports(SRC / "cli" / "_probe.py", source)
    assert [h.split(" imports ")[1] for h in hits] == ["shipwheel.release._tag", "shipwheel.staging._stage"]


def test_i11_4_the_private_import_check_sees_a_private_name() -> None:
    # `from ..matrix import _expand_braces` slipped through a check that looked at modules only.
    source = (
        "from ..matrix import _expand_braces\n"
        "from ..staging import _hidden\n"
        "from shipwheel.build._runner import _Build\n"
        "from ._model import _private_helper\n"
        "from ..matrix import expand_braces\n"
    )
    hits = _private_imports(SRC / "config" / "_probe.py", source)
    assert [h.split(" imports ")[1] for h in hits] == [
        "shipwheel.matrix._expand_braces",
        "shipwheel.staging._hidden",
        "shipwheel.build._runner",  # the private module already
    ]
    # inside its own package a private name may be shared
    assert _private_imports(SRC / "build" / "_probe.py", "from ._runner import _Build\n") == []


def test_i11_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """Import each module as the first shipwheel module of the interpreter: a cycle shows as an ImportError in
    whichever module starts it, whatever order a test run happens to import them in."""
    code = """
import importlib, pkgutil, sys
import shipwheel
names = sorted(m.name for m in pkgutil.walk_packages(shipwheel.__path__, "shipwheel.") if not m.name.endswith("__main__"))
bad = []
for name in names:
    for key in [k for k in sys.modules if k == "shipwheel" or k.startswith("shipwheel.")]:
        del sys.modules[key]
    try:
        importlib.import_module(name)
    except Exception as exc:
        bad.append(f"{name}: {type(exc).__name__}: {exc}")
print(len(names))
print("\\n".join(bad))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    count, _, errors = proc.stdout.partition("\n")
    assert int(count) > 100 and errors.strip() == "", errors


def test_i11_3_streams_are_hashed_by_distfiles_only() -> None:
    """An empty ``hashlib.sha256()`` (or ``hashlib.new(name)``) is a hasher about to be fed a stream; the package
    has one loop for that, in ``distfiles`` (``hash_chunks``, ``continue_hash``, ``file_digests``)."""
    allowed = {"shipwheel/distfiles.py"}
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            if not (isinstance(owner, ast.Name) and owner.id == "hashlib"):
                continue
            fed_later = not node.args if node.func.attr != "new" else len(node.args) < 2
            where = path.relative_to(SRC.parent).as_posix()
            if fed_later and not node.keywords and where not in allowed:
                found.append(f"{where}:{node.lineno} hashlib.{node.func.attr}()")
    assert found == []
