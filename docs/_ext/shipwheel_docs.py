"""Sphinx extension of shipwheel's docs: the parts generated from the code, so they cannot drift from it.

- ``parser_<command>`` (``parser_verify``, ``parser_mailmap_check`` ...): the argparse parser of one command, taken
  from :func:`shipwheel.cli.build_parser`, for the ``sphinx_argparse_cli`` directive of its page;
- the ``shipwheel-config-reference`` directive: one table per ``[tool.shipwheel…]`` table, every key of
  ``config/schema.json`` with its type and bounds, its default from ``config/defaults.toml``, its ``SHIPWHEEL_*``
  variable and its description;
- a check when the build starts: every command of the parser has its page ``commands/<command>.md``, and every
  such page names the parser of its command (a warning otherwise, so ``sphinx-build -W`` fails).
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from shipwheel.cli import build_parser
from shipwheel.config import env_name, load_defaults, schema

__all__ = ["command_names", "command_parser", "config_keys", "setup"]

logger = logging.getLogger(__name__)


def _subparsers(parser: argparse.ArgumentParser) -> Mapping[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices: Mapping[str, argparse.ArgumentParser] = action.choices
            return choices
    return {}


def command_names() -> list[str]:
    """Every command of ``shipwheel``, in the parser's order (the release pipeline's)."""
    return list(_subparsers(build_parser()))


def command_parser(name: str) -> argparse.ArgumentParser:
    """The parser of ``shipwheel NAME`` (its ``prog`` is ``shipwheel NAME``), with the texts it reads from the
    library when shown (the checks, the precedence, the platform families) resolved, as ``--help`` shows them."""
    parser = _subparsers(build_parser())[name]
    resolve = getattr(parser, "resolve_text", None)
    if resolve is not None:
        resolve()
    return parser


def __getattr__(name: str) -> Callable[[], argparse.ArgumentParser]:
    # sphinx_argparse_cli's :func: takes a function of no arguments: parser_mailmap_check -> "mailmap-check"
    if name.startswith("parser_"):
        command = name.removeprefix("parser_").replace("_", "-")
        if command in command_names():
            return functools.partial(command_parser, command)
    raise AttributeError(name)


# -- the configuration reference ------------------------------------------------------------------------------

#: The sub-tables of [tool.shipwheel] that are lists of tables ([[tool.shipwheel.X]]); the others are tables.
_ARRAYS = ("overrides", "downstream")
#: The per-identifier tables: the build keys of the top level, for one operating system.
_PER_OS = ("linux", "macos", "windows")


def _resolve(spec: Mapping[str, Any], definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = spec.get("$ref")
    if ref:
        merged = dict(definitions[ref.rsplit("/", 1)[1]])
        merged.update({k: v for k, v in spec.items() if k != "$ref"})
        return merged
    return spec


def _type_text(spec: Mapping[str, Any], definitions: Mapping[str, Any], name: str = "") -> str:
    if name == "selectors":
        return "selectors (string or list)"
    spec = _resolve(spec, definitions)
    if "enum" in spec:
        return " | ".join(json.dumps(v) for v in spec["enum"])
    if "oneOf" in spec:
        return " or ".join(_type_text(s, definitions) for s in spec["oneOf"])
    kind = spec.get("type", "")
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind == "array":
        return f"list of {_type_text(spec.get('items', {}), definitions)}"
    if kind == "object":
        if "additionalProperties" in spec and isinstance(spec["additionalProperties"], dict):
            return f"table of {_type_text(spec['additionalProperties'], definitions)}"
        return "table"
    bounds = []
    if "minimum" in spec:
        bounds.append(f">= {spec['minimum']}")
    if "exclusiveMinimum" in spec:
        bounds.append(f"> {spec['exclusiveMinimum']}")
    if "maximum" in spec:
        bounds.append(f"<= {spec['maximum']}")
    return f"{kind} ({', '.join(bounds)})" if bounds else str(kind)


def _default_text(value: Any) -> str:
    """``value`` as an inline TOML value: one line, as a user would write it in pyproject.toml."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if "\\" in value and "'" not in value and "\n" not in value:
            return f"'{value}'"  # a literal string: regexes read as written
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_default_text(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(k)} = {_default_text(v)}" for k, v in value.items())
        return "{" + (f" {items} " if items else "") + "}"
    raise TypeError(f"no TOML for {value!r}")


def config_keys() -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    """``(table, section, key, schema)`` for every key of the schema: ``table`` as written in pyproject.toml
    (``[tool.shipwheel.verify]``), ``section`` the name the environment variables use (``""`` at the top)."""
    tree = schema()
    definitions = tree["definitions"]
    top = tree["properties"]
    for key, spec in top.items():
        if key in _ARRAYS or key in _PER_OS:
            continue
        if "properties" in spec:
            for sub, sub_spec in spec["properties"].items():
                yield f"[tool.shipwheel.{key}]", key, sub, sub_spec
        else:
            yield "[tool.shipwheel]", "", key, spec
    per_os = _resolve(top[_PER_OS[0]], definitions)
    tables = " ".join(f"[tool.shipwheel.{name}]" for name in _PER_OS)
    for sub, sub_spec in per_os["properties"].items():
        yield tables, "os", sub, sub_spec
    for key in _ARRAYS:
        items = top[key]["items"]
        for sub, sub_spec in items["properties"].items():
            yield f"[[tool.shipwheel.{key}]]", key, sub, sub_spec


def _table(headers: list[str], rows: list[list[list[nodes.Node]]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["shipwheel-config"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for text in headers:
        row += nodes.entry("", nodes.paragraph(text=text))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", *cell)
        body += row
    return table


def _literal(text: str) -> nodes.Node:
    return nodes.paragraph("", "", nodes.literal(text=text)) if text else nodes.paragraph(text="")


class ConfigReference(SphinxDirective):
    """``shipwheel-config-reference``: the key tables, from the packaged schema and defaults."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        tree = schema()
        definitions = tree["definitions"]
        defaults = load_defaults()
        by_table: dict[str, list[list[list[nodes.Node]]]] = {}
        for table, section, key, spec in config_keys():
            if section == "os" or section in _ARRAYS:
                default: Any = None
                variable = ""
            else:
                default = (defaults.get(section, {}) if section else defaults).get(key)
                variable = env_name(section, key)
            anchor = f"key-{section}-{key}" if section else f"key-{key}"
            name = nodes.paragraph("", "", nodes.literal(text=key), ids=[anchor])
            cell: list[nodes.Node] = [name]
            if variable:
                cell.append(nodes.paragraph("", "", nodes.literal(text=variable), classes=["shipwheel-env"]))
            ref = spec.get("$ref", "")
            kind = _type_text(spec, definitions, ref.rsplit("/", 1)[-1] if ref else "")
            description = spec.get("description") or _resolve(spec, definitions).get("description", "")
            if not description:
                logger.warning("%s %s has no description in config/schema.json", table, key)
            meaning = nodes.paragraph(text=description)
            meaning += nodes.emphasis(text=f" ({kind})")
            by_table.setdefault(table, []).append([cell, [_literal(_default_text(default))], [meaning]])
        result: list[nodes.Node] = []
        for table, rows in by_table.items():
            result.append(nodes.rubric(text=table))
            headers = ["key and variable", "default", "meaning (type)"]
            result.append(_table(headers, rows, [30, 25, 45]))
        return result


# -- the command pages ----------------------------------------------------------------------------------------


def _check_command_pages(app: Sphinx) -> None:
    pages = Path(app.srcdir) / "commands"
    for command in command_names():
        page = pages / f"{command}.md"
        if not page.is_file():
            logger.warning("shipwheel %s has no page: add docs/commands/%s.md", command, command)
            continue
        func = f"parser_{command.replace('-', '_')}"
        if f":func: {func}" not in page.read_text(encoding="utf-8"):
            logger.warning("%s does not show the parser of shipwheel %s (:func: %s)", page, command, func)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("shipwheel-config-reference", ConfigReference)
    app.connect("builder-inited", _check_command_pages)
    app.connect("env-get-outdated", _config_outdated)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


def _config_outdated(
    app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    del app, env, added, changed, removed
    # generated from the package (schema, defaults, parser): read again on every build, so they never lag it
    return ["configuration", *(f"commands/{name}" for name in command_names())]
