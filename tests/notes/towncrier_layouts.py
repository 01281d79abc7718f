"""Project layouts towncrier supports, for comparing shipwheel's rendering with ``towncrier build --draft``.

Each layout is the files of a small project: where the configuration is (``towncrier.toml``, ``[tool.towncrier]``),
towncrier's defaults for what is left out (the ``NEWS.rst`` file, the types, the ``package/newsfragments``
folder), its own templates (rst, Markdown, ``hr-between-versions``), a project template with
``all_bullets = false``, sections, table-style types, ``single_file = false``, wrapping, odd issue names,
orphans, code blocks at the end of a fragment and ``showcontent = false``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LAYOUTS", "VERSION", "write_layout"]

VERSION = "1.2.0"

_FRAGMENTS = {
    "12.feature.rst": "Added ``frobnicate()`` to the public API.\n",
    "7.feature.rst": "Added ``frobnicate()`` to the public API.\n",  # same text: one entry, two issues
    "+tidy.feature.rst": "Orphan news without an issue.\n",
    "3.bugfix.rst": "Fixed a crash with an empty input::\n\n    >>> frob([])\n    []\n",
    "gh-40.bugfix.rst": "Fixed ``repr()`` of nested values.\n",
    "5.bugfix.2.rst": "A second fragment for the same issue.\n",
    "9.doc.rst": "Documented the *fast path*.\n",
    "11.misc.rst": "Internal clean-up that is not shown.\n",
    "20.removal.rst": "Removed ``old_frob()``, deprecated since 1.0.\n",
}

_TEMPLATE_NO_BULLETS = """\
{% for section, _ in sections.items() %}
{% set underline = underlines[0] %}{% if section %}{{ section }}
{{ underline * section|length }}{% set underline = underlines[1] %}

{% endif %}
{% if sections[section] %}
{% for category, val in definitions.items() if category in sections[section] %}

{{ definitions[category]['name'] }}
{{ underline * definitions[category]['name']|length }}

{% for text, values in sections[section][category].items() %}
{{ text }}

{{ get_indent(text) }}({{values|join(', ') }})

{% endfor %}
{% endfor %}
{% else %}
(no release note snippets found)

{% endif %}
{% endfor %}
"""

_NO_BULLET_FRAGMENTS = {
    "30.feature.rst": "``frob`` gains an ``axis`` argument\n-----------------------------------\nThe new argument "
    "selects the axis to reduce over, and this sentence is long enough to be wrapped at seventy-nine columns.\n",
    "31.feature.rst": "* a bullet of its own\n* and another one\n",
    "32.feature.rst": "#. an enumerated item\n#. and the next\n",
    "33.compatibility.rst": "Integer input returns ``float64`` now.\n",
}

LAYOUTS: dict[str, dict[str, str]] = {
    "towncrier.toml, defaults": {
        "towncrier.toml": '[tool.towncrier]\nname = "Frob"\ndirectory = "changes"\n',
        **{f"changes/{k}": v for k, v in _FRAGMENTS.items()},
        "changes/.gitignore": "!.gitignore\n",
        "changes/README.rst": "How to write a fragment.\n",
    },
    "pyproject, package newsfragments": {
        "pyproject.toml": '[project]\nname = "frob"\n\n[tool.towncrier]\npackage = "frob"\npackage_dir = "src"\n',
        **{f"src/frob/newsfragments/{k}": v for k, v in _FRAGMENTS.items()},
    },
    "markdown default template": {
        "pyproject.toml": '[project]\nname = "frob"\n\n[tool.towncrier]\nfilename = "CHANGELOG.md"\n'
        'directory = "changes"\nissue_format = "[#{issue}](https://github.com/o/frob/issues/{issue})"\n',
        "changes/1.feature.md": "Faster **frobbing**:\n\n  - for lists\n  - for tuples\n",
        "changes/2.bugfix.md": "Fixed `repr()`.\n",
        "changes/+orphan.doc.md": "Docs.\n",
    },
    "markdown title_format": {
        "pyproject.toml": '[project]\nname = "frob"\n\n[tool.towncrier]\nfilename = "CHANGELOG.md"\n'
        'directory = "changes"\ntitle_format = "## [{version}](https://o/{version}) - {project_date}"\n',
        "changes/1.feature.md": "Faster.\n",
        "changes/2.misc.md": "",
    },
    "hr-between-versions, title_format false": {
        "pyproject.toml": '[tool.towncrier]\nname = "frob"\ndirectory = "changes"\n'
        'template = "towncrier:hr-between-versions"\ntitle_format = "{name} {version} ({project_date})"\n',
        **{f"changes/{k}": v for k, v in list(_FRAGMENTS.items())[:4]},
    },
    "no title": {
        "pyproject.toml": '[tool.towncrier]\nname = "frob"\ndirectory = "changes"\ntitle_format = false\n',
        **{f"changes/{k}": v for k, v in list(_FRAGMENTS.items())[3:]},
    },
    "sections and table types": {
        "pyproject.toml": '[tool.towncrier]\nname = "frob"\ndirectory = "changes"\nunderlines = ["=", "~", "^"]\n'
        '[[tool.towncrier.section]]\nname = ""\npath = ""\n[[tool.towncrier.section]]\nname = "Core"\n'
        'path = "core"\n[tool.towncrier.fragment.enhancement]\n[tool.towncrier.fragment.chore]\nname = "Chores"\n'
        "showcontent = false\n",
        "changes/1.enhancement.rst": "Top level.\n",
        "changes/core/2.enhancement.rst": "In the core.\n",
        "changes/core/3.chore.rst": "Hidden.\n",
    },
    "project template, all_bullets false, wrap, issue links": {
        "pyproject.toml": '[tool.towncrier]\nname = "frob"\ndirectory = "news"\ntemplate = "news/template.rst"\n'
        'all_bullets = false\nwrap = true\nunderlines = "~="\nfilename = "doc/notes-towncrier.rst"\n'
        "single_file = false\n"
        'issue_format = "`gh-{issue} <https://github.com/o/frob/pull/{issue}>`__"\n'
        '[[tool.towncrier.type]]\ndirectory = "feature"\nname = "New features"\nshowcontent = true\n'
        '[[tool.towncrier.type]]\ndirectory = "compatibility"\nname = "Compatibility notes"\n',
        "news/template.rst": _TEMPLATE_NO_BULLETS,
        **{f"news/{k}": v for k, v in _NO_BULLET_FRAGMENTS.items()},
    },
    "single_file false, ignore": {
        "pyproject.toml": '[tool.towncrier]\nname = "frob"\ndirectory = "changes"\nsingle_file = false\n'
        'filename = "docs/release/{version}.rst"\nignore = ["notes.txt"]\norphan_prefix = "~"\n',
        "changes/notes.txt": "not a fragment\n",
        "changes/~x.feature.rst": "Orphan with another prefix.\n",
        "changes/4.feature.rst": "Four.\n",
    },
    "wrap at a width": {  # an integer wrap is towncrier 26's; older ones refuse it
        "pyproject.toml": '[tool.towncrier]\nname = "frob"\ndirectory = "changes"\nwrap = 40\n',
        **{f"changes/{k}": v for k, v in _NO_BULLET_FRAGMENTS.items() if "feature" in k},
    },
    "empty release": {
        "towncrier.toml": '[tool.towncrier]\nname = "frob"\ndirectory = "changes"\n',
        "changes/.gitkeep": "",
    },
}


def write_layout(root: Path, name: str) -> Path:
    """The files of layout ``name`` under ``root``; returns ``root``."""
    for rel, text in LAYOUTS[name].items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
