"""shipwheel: release engineering for Python packages with compiled extensions.

The command line (``shipwheel …``) is a thin shell over this library. Library functions return values and raise
:class:`~shipwheel.errors.ShipwheelError` subclasses; they never print or exit, and report progress through
callbacks.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from .config import Config, load_config
from .errors import ShipwheelError

__all__ = ["Config", "ShipwheelError", "__version__", "load_config"]
