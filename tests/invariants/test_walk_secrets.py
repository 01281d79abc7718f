"""Secrets: one redaction (``_http.redact_text``) at every sink: the terminal (the consoles of ``cli/_common``),
logs (the same consoles), ``--json`` (``print_json``), HTML pages (``_html.render_page``), the release record
(``ReleaseState.save``), announcements, commit and tag messages (``_git.message``).

The walker gives a URL holding a password and a token to every option and positional of every command that
takes a value (paths aside: a path is not a credential), with secrets in the environment variables a user sets
(``GITHUB_TOKEN``, ``SHIPWHEEL_PASSWORD`` ...), and runs every command in a project whose configured index holds
a password; the secret never reaches stdout, stderr, or any file a command wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.release_repo import git
from invariants.walk import Run, Slot, argv_for, commands, files_under, one_line_error, run, slots
from shipwheel._http import redact_data, redact_text, register_secret

SECRET = "Wk4-SeKrEt-walk-77x"
ENV_SECRET = "EnV-SeKrEt-walk-5q9"
URL = f"https://alice:{SECRET}@127.0.0.1:9/simple/?token={SECRET}"
ENV = (
    "GITHUB_TOKEN",
    "SHIPWHEEL_PASSWORD",
    "TWINE_PASSWORD",
    "SHIPWHEEL_SMTP_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
)


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.setenv(name, ENV_SECRET)


def _clean(result: Run, *folders: Path) -> None:
    for secret in (SECRET, ENV_SECRET):
        for name, text in (("stdout", result.out), ("stderr", result.err)):
            assert secret not in text, f"a secret is in {name}:\n{text}"
        for folder in folders:
            for path in files_under(folder):
                if path.name != "pyproject.toml":  # where the test put it
                    assert secret.encode() not in path.read_bytes(), f"a secret is in {path}"


VALUE_SLOTS = [s for s in slots() if not s.is_path]


@pytest.mark.parametrize("slot", VALUE_SLOTS, ids=lambda s: s.id)
def test_every_option_of_every_command_never_shows_a_secret(
    slot: Slot, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], secret_env: None
) -> None:
    result = run(argv_for(slot.command, tmp_path, slot, URL), capsys)
    one_line_error(result)
    _clean(result, tmp_path)


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_every_command_never_shows_the_password_of_the_configured_index(
    command: tuple[str, ...],
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secret_env: None,
) -> None:
    with (project / "pyproject.toml").open("a") as fh:
        fh.write(
            f'\n[tool.shipwheel.publish]\nrepository = "https://alice:{SECRET}@127.0.0.1:9/"\n'
            f'[tool.shipwheel.fetch]\nfrom = "https://alice:{SECRET}@127.0.0.1:9/simple/"\n'
            f'[tool.shipwheel.release]\nstaging = "https://alice:{SECRET}@127.0.0.1:9/staging/"\n'
        )
    git(project, "commit", "-qam", "an index with a password")
    argv = [a for a in argv_for(command, tmp_path) if not a.startswith("file:")]
    argv = [a for i, a in enumerate(argv) if not (a in {"-r", "--repository"} and i + 1 == len(argv))]
    result = run(argv, capsys)
    one_line_error(result)
    _clean(result, tmp_path)
    # and what the release left behind, shown again
    for again in (["status", "1.0.1", "--json"], ["status", "1.0.1", "--html", str(tmp_path / "s.html")]):
        _clean(run(again, capsys), tmp_path)


# -- the enforcement point itself ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"cannot ask http://u:{SECRET}@host/simple/",
        f"git@x: fatal: unable to access 'https://x-access-token:{SECRET}@github.com/o/r.git/'",
        f"{{'Authorization': 'Basic {SECRET}'}}",
        f"Authorization: Bearer {SECRET}",
        f'"authorization": "token {SECRET}"',
        f"GET /x?X-Amz-Signature={SECRET}&X-Amz-Date=1",
        f"https://h/p?access_token={SECRET}#frag",
    ],
)
def test_redact_text_removes_every_form(text: str) -> None:
    assert SECRET not in redact_text(text)


def test_registered_secrets_are_removed_in_every_echoed_form() -> None:
    import base64
    import html
    from urllib.parse import quote

    secret = "p@ss<&>word-" + "9" * 8
    register_secret(secret, username="bob")
    basic = base64.b64encode(f"bob:{secret}".encode()).decode()
    for form in (secret, quote(secret, safe=""), basic, basic.rstrip("="), html.escape(secret)):
        assert form not in redact_text(f"the server said {form}."), form
    assert redact_data({"k": [f"x {secret}"], secret: 1}) == {"k": ["x ***"], "***": 1}
