"""The walker's project fixtures, for every invariant test of this folder."""

from invariants.walk import _kahan_template, project

__all__ = ["_kahan_template", "project"]
