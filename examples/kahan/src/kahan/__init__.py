"""Compensated summation, backed by the native libkahan library."""

from ._core import ksum, library_version

__all__ = ["ksum", "library_version"]
__version__ = "1.0.0"
