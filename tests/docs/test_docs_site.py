"""The docs site (docs/): it builds with every warning an error, and its generated parts cover the code.

Skipped when the `docs` extra (Sphinx, furo, myst-parser, sphinx-argparse-cli) is not installed.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipwheel.cli import build_parser

for _module in ("sphinx", "furo", "myst_parser", "sphinx_argparse_cli"):
    pytest.importorskip(_module, reason="the docs extra is not installed: pip install -e '.[docs]'")

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def _sphinx(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``sphinx-build -W -n -b html`` as .ci/run runs it (warnings are errors, our references checked)."""
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "-b", "html", "-q", str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = _sphinx(DOCS, out)
    assert result.returncode == 0, result.stderr
    return out


def _text(page: Path) -> str:
    """The visible text of an HTML page, tags dropped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("shipwheel's parser has no commands")


def _options(parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        yield from action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _options(sub)


def test_every_command_has_a_page_with_every_option_of_its_parser(site: Path) -> None:
    for name, parser in _commands().items():
        page = site / "commands" / f"{name}.html"
        assert page.is_file(), f"shipwheel {name} has no page"
        text = _text(page)
        assert f"shipwheel {name} [-h]" in text, f"the page of shipwheel {name} shows no usage"
        missing = [option for option in _options(parser) if option not in text]
        assert not missing, f"the page of shipwheel {name} lacks {missing}"


def _schema_keys() -> Iterator[str]:
    """The anchor of every key the schema defines, as the configuration page names it."""
    schema = json.loads((REPO / "src/shipwheel/config/schema.json").read_text(encoding="utf-8"))
    per_identifier = schema["definitions"]["per-identifier"]["properties"]
    for key, spec in schema["properties"].items():
        if key in ("linux", "macos", "windows"):
            yield from (f"key-os-{sub}" for sub in per_identifier)
        elif spec.get("type") == "array" and "properties" in spec.get("items", {}):
            yield from (f"key-{key}-{sub}" for sub in spec["items"]["properties"])
        elif "properties" in spec:
            yield from (f"key-{key}-{sub}" for sub in spec["properties"])
        else:
            yield f"key-{key}"


def test_every_configuration_key_is_in_the_key_reference(site: Path) -> None:
    page = (site / "configuration.html").read_text(encoding="utf-8")
    keys = list(_schema_keys())
    assert len(keys) > 100  # the whole schema, not one table of it
    missing = [key for key in keys if f'id="{key}"' not in page]
    assert not missing, f"the configuration page lacks {missing}"
    # the defaults come from the packaged defaults.toml: one that is not the schema's own word
    assert "10737418240" in page and "maintenance/{series}.x" in html.unescape(page)


def test_every_public_name_is_in_the_api_reference(site: Path) -> None:
    import shipwheel

    page = (site / "api.html").read_text(encoding="utf-8")
    missing = [
        name for name in shipwheel.__all__ if name != "__version__" and f'id="shipwheel.{name}"' not in page
    ]
    assert not missing, f"the API page lacks {missing}"


def test_a_command_without_a_page_fails_the_build(tmp_path: Path) -> None:
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build"))
    (source / "commands" / "tag.md").unlink()
    page = source / "commands" / "index.md"
    page.write_text(page.read_text(encoding="utf-8").replace("\ntag\n", "\n"), encoding="utf-8")
    result = _sphinx(source, tmp_path / "out")
    assert result.returncode != 0
    assert "shipwheel tag has no page" in result.stderr


def _console_blocks(text: str) -> list[str]:
    return re.findall(r"^```console\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_the_front_page_quickstart_is_the_readmes() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    front = (DOCS / "index.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1]
    assert _console_blocks(front)[0] == _console_blocks(quickstart)[0]
