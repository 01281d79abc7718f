"""The version of shipwheel itself, in a module of its own: plumbing (the HTTP User-Agent), the build cache keys
and the generated workflows need it without importing the package face that names every step."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0.dev0"
