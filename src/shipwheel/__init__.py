"""shipwheel: release engineering for Python packages with compiled extensions.

The command line (``shipwheel …``) is a thin shell over this library. Library functions return values and raise
:class:`~shipwheel.errors.ShipwheelError` subclasses; they never print or exit, and report progress through
callbacks. The pipeline, one entry point per step, each named after what it does:

- :func:`build` (``shipwheel build``; also exported as :func:`build_release`): the sdist and one repaired, tested wheel per identifier;
- :func:`verify_paths` (``shipwheel verify``): release-grade checks of wheels and sdists;
- :func:`run_downstream` (``shipwheel downstream``): the downstream projects' test suites against a candidate;
- :func:`stage_files` and :func:`fetch_release` (``shipwheel stage`` / ``fetch``);
- :func:`sign_files` (``shipwheel sign``) and :func:`publish_files` (``shipwheel publish``);
- :func:`make_changelog` (``shipwheel changelog``);
- the release around them: :func:`run_checks` (``check``), :func:`set_version` (``version``),
  :func:`tag_release` (``tag``), :func:`run_release` (``release``), :func:`announce` (``announce``).

The entry points and the configuration are imported on first use, so ``import shipwheel`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import ShipwheelError

if TYPE_CHECKING:
    from .builder import build, build_release
    from .config import Config, load_config
    from .downstream import run_downstream
    from .notes import make_changelog
    from .publish import publish_files
    from .release import announce, run_checks, set_version, tag_release
    from .release import release as run_release
    from .sign import sign_files
    from .staging import fetch_release, stage_files
    from .verify import verify_paths

__all__ = [
    "Config",
    "ShipwheelError",
    "__version__",
    "announce",
    "build",
    "build_release",
    "fetch_release",
    "load_config",
    "make_changelog",
    "publish_files",
    "run_checks",
    "run_downstream",
    "run_release",
    "set_version",
    "sign_files",
    "stage_files",
    "tag_release",
    "verify_paths",
]

# name -> (module, attribute there); the configuration too, whose readers the command line's parser never needs
_LAZY = {
    "Config": (".config", "Config"),
    "load_config": (".config", "load_config"),
    "announce": (".release", "announce"),
    "build": (".builder", "build"),
    "build_release": (".builder", "build_release"),
    "fetch_release": (".staging", "fetch_release"),
    "make_changelog": (".notes", "make_changelog"),
    "publish_files": (".publish", "publish_files"),
    # ``release`` is the package's name here, so the pipeline's entry point is exported as run_release.
    "run_checks": (".release", "run_checks"),
    "run_downstream": (".downstream", "run_downstream"),
    "run_release": (".release", "release"),
    "set_version": (".release", "set_version"),
    "sign_files": (".sign", "sign_files"),
    "stage_files": (".staging", "stage_files"),
    "tag_release": (".release", "tag_release"),
    "verify_paths": (".verify", "verify_paths"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(import_module(module, __name__), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # the lazy entry points too: dir(), completion and Sphinx's autodoc see the whole face before first use
    return sorted({*globals(), *_LAZY})
