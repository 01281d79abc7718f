"""Text that reaches other languages: each goes through that language's escaper, or is refused.

* YAML and GitHub expressions (``ci/__init__``: ``yaml_value``, ``yaml_key``, ``yaml_block``, ``shell_word``);
* mail headers (``release/_announce.mail_header``);
* commit and tag messages (``_git.message``);
* HTML (``_html.render_page``: autoescaped);
* jinja templates of a project (the release notes' ``notes.template``) run sandboxed.

The walker runs every command of the parser in a project whose name holds CR/LF and a forged header, and whose
build environment has a key holding a GitHub expression; whatever any command writes (files, commit and tag
messages, the workflow it prints) has no forged header line, no expression and no YAML of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fixtures.release_repo import git
from invariants.walk import argv_for, commands, files_under, one_line_error, run
from shipwheel.errors import ConfigError

NAME = "kahan\r\nBcc: victim@example.invalid"


@pytest.fixture
def hostile_project(project: Path) -> Path:
    text = (project / "pyproject.toml").read_text()
    text = text.replace('name = "kahan"', f"name = {json.dumps(NAME)}", 1)
    text = text.replace(
        "[tool.shipwheel]\n",
        '[tool.shipwheel]\nenvironment = {"A${{ github.token }}" = "1", "B" = "x\\n  evil: ${{ secrets.X }}"}\n',
        1,
    )
    (project / "pyproject.toml").write_text(text)
    git(project, "commit", "-qam", "a hostile name")
    return project


def _forged(text: str) -> bool:
    return any(line.startswith("Bcc:") for line in text.splitlines())


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_every_command_writes_no_header_expression_or_yaml_from_a_value(
    command: tuple[str, ...], hostile_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(argv_for(command, tmp_path), capsys)
    one_line_error(result)
    for path in files_under(tmp_path):
        if path.name == "pyproject.toml":
            continue
        text = path.read_text(errors="replace")
        assert not _forged(text), f"a forged header line in {path}"
        if path.suffix in {".yml", ".yaml"}:
            assert "github.token" not in text and "secrets.X" not in text, path
    messages = git(hostile_project, "log", "--all", "--format=%B") + git(
        hostile_project, "tag", "-l", "--format=%(contents)"
    )
    assert not _forged(messages), messages
    if command == ("ci", "github") and result.code == 0:
        assert "github.token" not in result.out and "secrets.X" not in result.out
        yaml.safe_load(result.out)


# -- the escapers themselves --------------------------------------------------------------------------------


def test_workflow_escapers_refuse_expressions_and_keep_yaml_whole() -> None:
    from shipwheel.ci import shell_word, yaml_block, yaml_key, yaml_value

    for bad in ("A${{ github.token }}", "A: 1", "A\nB", "1A", ""):
        with pytest.raises(ConfigError):
            yaml_key(bad)
    assert yaml_key("CFLAGS_1") == "CFLAGS_1"
    with pytest.raises(ConfigError, match="expression"):
        yaml_value("x ${{ secrets.TOKEN }}")
    value = "a: b\n- c #d"
    assert yaml.safe_load("k: " + yaml_value(value)) == {"k": value}
    with pytest.raises(ConfigError, match="line break"):
        shell_word("pytest\n- run: evil")
    block = yaml.safe_load("run: |\n  " + yaml_block("echo a\nevil: b\n  x", 2) + "\n")
    assert block == {"run": "echo a\nevil: b\n  x\n"}


def test_mail_header_and_git_message_stay_on_one_line() -> None:
    from shipwheel._git import message
    from shipwheel.release._announce import mail_header

    assert "\n" not in mail_header(f"ANN: {NAME} 1.0 released")
    assert "\r" not in mail_header(f"ANN: {NAME} 1.0 released")
    text = message("{project} {version}", project=NAME, version="1.0")
    assert text.count("\n") == 0 and "Bcc:" in text and not _forged(text)
