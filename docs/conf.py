"""Sphinx configuration of shipwheel's docs (``pip install -e '.[docs]'``; ``python -m sphinx -W -n docs OUT``)."""

from __future__ import annotations

import sys
from pathlib import Path

import shipwheel
from shipwheel import __version__

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "shipwheel"
author = "The shipwheel developers"
copyright = "the shipwheel developers"
release = __version__
version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx_argparse_cli",
    "shipwheel_docs",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Offline: no intersphinx, no fetched inventories; references to Python's and other projects' objects stay text.
# -n (nitpicky) holds our own references: every :func:, :class:, {ref} and page link must resolve.
nitpicky = True
# The Python objects held to it are the public face (shipwheel.__all__, documented on the API page); the names of
# the standard library, other projects and shipwheel's inner modules in signatures stay plain text.
_FACE = "|".join(sorted(shipwheel.__all__))
nitpick_ignore_regex = [(r"py:.*", rf"(?!(?:shipwheel\.)?(?:{_FACE})$).*")]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True

html_theme = "furo"
html_title = f"shipwheel {__version__}"
html_static_path = ["_static"]
html_css_files = ["shipwheel.css"]
html_show_sourcelink = False
