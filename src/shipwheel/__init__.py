"""shipwheel: release engineering for Python packages with compiled extensions.

The command line (``shipwheel …``) is a thin shell over this library. Library functions return values and raise
:class:`~shipwheel.errors.ShipwheelError` subclasses; they never print or exit, and report progress through
callbacks. The pipeline, one entry point per step:

- :func:`shipwheel.build.build` (``shipwheel build``): the sdist and one repaired, tested wheel per identifier;
- :func:`verify_paths` (``shipwheel verify``): release-grade checks of wheels and sdists;
- :func:`shipwheel.stage.stage` and :func:`shipwheel.fetch.fetch` (``shipwheel stage`` / ``fetch``);
- :func:`sign_files` (``shipwheel sign``) and :func:`publish_files` (``shipwheel publish``);
- :func:`make_changelog` (``shipwheel changelog``).

The entry points named here are imported on first use, so ``import shipwheel`` stays cheap. ``build``,
``stage`` and ``fetch`` are submodules of the same name, so their functions are imported from them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

from .config import Config, load_config
from .errors import ShipwheelError

if TYPE_CHECKING:
    from .notes import make_changelog
    from .publish import publish_files
    from .sign import sign_files
    from .verify import verify_paths

__all__ = [
    "Config",
    "ShipwheelError",
    "__version__",
    "load_config",
    "make_changelog",
    "publish_files",
    "sign_files",
    "verify_paths",
]

_LAZY = {
    "make_changelog": ".notes",
    "publish_files": ".publish",
    "sign_files": ".sign",
    "verify_paths": ".verify",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
