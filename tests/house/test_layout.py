"""The package layout: floors that run one way, steps that meet through public faces, no cycle between modules.

Every import of every module is read from its ``ast`` (imports inside functions and under ``TYPE_CHECKING``
included: they hide a loop as well as they hide a cost), so the checks see what import order would hide.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import shipwheel

SRC = Path(shipwheel.__file__).parent

#: The floors of the house, top first. A module may import its own floor's modules of the same package and any
#: floor below; never a floor above. docs/development.md ("How the code is laid out") shows the same list.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("shell", ("__main__", "cli")),
    ("face", ("__init__",)),
    ("release", ("release",)),
    ("steps", ("builder", "verify", "publish", "ci", "downstream")),
    ("transfer", ("staging", "sign", "attest", "notes")),
    ("config", ("config",)),
    ("vocabulary", ("distfiles", "matrix", "interpreters", "manifest", "simple_index")),
    (
        "plumbing",
        (
            "_http",
            "_redact",
            "_records",
            "_retry",
            "_subprocess",
            "_git",
            "_fs",
            "_adaptive",
            "_html",
            "_terminal",
            "_version",
        ),
    ),
    ("errors", ("errors",)),
)
#: Floors whose packages never import each other: a step runs no other step (publish gets its checks as a hook).
ALONE = {"steps"}

STEPS = [
    "build",
    "build_release",
    "verify_paths",
    "run_downstream",
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


def _room(module: str) -> str:
    """The top-level name a module lives under: ``shipwheel.verify._grid`` -> ``verify``; the face -> ``__init__``."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _floor(room: str) -> int:
    for i, (_, rooms) in enumerate(LAYERS):
        if room in rooms:
            return i
    raise AssertionError(f"{room} is on no floor: add it to LAYERS (and to docs/development.md)")


def _module_name(path: Path) -> str:
    parts = ["shipwheel", *path.relative_to(SRC).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, tuple[str, bool]]:
    """Every module of the package: its source and whether it is a package ``__init__``."""
    return {
        _module_name(p): (p.read_text(encoding="utf-8"), p.name == "__init__.py")
        for p in sorted(SRC.rglob("*.py"))
    }


def import_graph(modules: Mapping[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """``module -> the modules it imports`` for every import statement anywhere in each source (a name imported
    from a package is the submodule when there is one of that name, else the package)."""
    known = set(modules)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, (source, is_package) in modules.items():
        package = module.split(".") if is_package else module.split(".")[:-1]
        for node in ast.walk(ast.parse(source)):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = (
                    package[: len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
                    if node.level
                    else (node.module or "").split(".")
                )
                targets = [".".join([*base, alias.name]) for alias in node.names] + [".".join(base)]
                targets = [t for t in targets if t in known] or targets[-1:]
                if any(t.startswith(".".join(base) + ".") for t in targets):
                    targets = [t for t in targets if t != ".".join(base)]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                while target not in known and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in known and target != module:
                    edges[module].add(target)
    return edges


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def upward_imports(edges: Mapping[str, set[str]]) -> list[str]:
    """Each import from a floor to a floor above it, and each import between two packages of a floor in ALONE."""
    found = []
    for module, targets in sorted(edges.items()):
        here = _room(module)
        for target in sorted(targets):
            there = _room(target)
            if here == there:
                continue
            if _floor(there) < _floor(here):
                found.append(f"{module} -> {target} (up from {LAYERS[_floor(here)][0]})")
            elif _floor(there) == _floor(here) and LAYERS[_floor(here)][0] in ALONE:
                found.append(f"{module} -> {target} (a step imports a step)")
    return found


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph(_sources())) == []


def test_imports_run_down_the_floors() -> None:
    assert upward_imports(import_graph(_sources())) == []


def test_every_module_is_on_a_floor() -> None:
    for module in _sources():
        _floor(_room(module))


def test_the_cycle_check_sees_the_cycles_the_house_review_found() -> None:
    """Today's code has none of them; each of the four loops the review found, put back as the import that made
    it, is seen, whether the import sits at the top of the module, in a function or under TYPE_CHECKING."""
    modules = _sources()
    loops = {
        # matrix.py imported Config for expected_identifiers
        "shipwheel.matrix": "from .config import BuildOptions, Config\n",
        # staging/_stage.py ran publish_files for stage_to_index, inside the function
        "shipwheel.staging._stage": "def stage_to_index():\n    from ..publish import publish_files\n",
        # Report.grid called back into the checker
        "shipwheel.verify._model": "def grid(self):\n    from ._completeness import check_completeness\n",
        # the scheduler imported the runner's private class for its annotations
        "shipwheel.builder._schedule": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from ._runner import build\n",
    }
    for module, line in loops.items():
        source, is_package = modules[module]
        changed = {**modules, module: (source + "\n" + line, is_package)}
        found = cycles(import_graph(changed))
        assert any(module in component for component in found), (module, found)


def test_the_floor_check_sees_an_import_upwards_and_a_step_importing_a_step() -> None:
    modules = _sources()
    source, is_package = modules["shipwheel._http"]
    changed = {**modules, "shipwheel._http": (source + "\nfrom . import __version__\n", is_package)}
    assert "shipwheel._http -> shipwheel (up from plumbing)" in upward_imports(import_graph(changed))
    source, is_package = modules["shipwheel.publish"]
    changed = {
        **modules,
        "shipwheel.publish": (source + "\ndef f():\n    from ..verify import verify_paths\n", is_package),
    }
    assert "shipwheel.publish -> shipwheel.verify (a step imports a step)" in upward_imports(
        import_graph(changed)
    )


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


def test_step_functions_are_exported_from_shipwheel() -> None:
    assert set(STEPS) <= set(shipwheel.__all__)
    for name in STEPS:
        assert callable(getattr(shipwheel, name)), name


def test_no_package_imports_another_packages_private_module() -> None:
    found = [hit for path in sorted(SRC.rglob("*.py")) for hit in _private_imports(path)]
    assert found == []


def test_the_private_import_check_sees_a_reach_across() -> None:
    # The check itself must notice the pattern it forbids, absolute or relative, and allow imports inside a package.
    source = (
        "from ..release._tag import repository_of\n"
        "from shipwheel.staging import _stage\n"
        "from ._common import Bounds\n"
        "from .._http import redact\n"
    )
    hits = _private_imports(SRC / "cli" / "_probe.py", source)
    assert [h.split(" imports ")[1] for h in hits] == ["shipwheel.release._tag", "shipwheel.staging._stage"]


def test_the_private_import_check_sees_a_private_name() -> None:
    # `from ..matrix import _expand_braces` slipped through a check that looked at modules only.
    source = (
        "from ..matrix import _expand_braces\n"
        "from ..staging import _hidden\n"
        "from shipwheel.builder._runner import _Build\n"
        "from ._model import _private_helper\n"
        "from ..matrix import expand_braces\n"
    )
    hits = _private_imports(SRC / "config" / "_probe.py", source)
    assert [h.split(" imports ")[1] for h in hits] == [
        "shipwheel.matrix._expand_braces",
        "shipwheel.staging._hidden",
        "shipwheel.builder._runner",  # the private module already
    ]
    # inside its own package a private name may be shared
    assert _private_imports(SRC / "builder" / "_probe.py", "from ._runner import _Build\n") == []


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
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


def test_streams_are_hashed_by_distfiles_only() -> None:
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
