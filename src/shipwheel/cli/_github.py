"""What shipwheel adds when it runs inside GitHub Actions (``GITHUB_ACTIONS=true``).

A Markdown summary appended to ``$GITHUB_STEP_SUMMARY`` (the build table, the verify grid, the publish results),
``::error file=…`` annotations for verify problems, and each build log folded in a ``::group::``. Every hook is a
no-op elsewhere. Workflow commands go to stderr, which the runner reads as it reads stdout, so that ``--json`` on
stdout stays one clean document.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import emit

if TYPE_CHECKING:
    from ..builder import BuildResult
    from ..publish import PublishResult
    from ..verify import Report

__all__ = ["build_finished", "enabled", "publish_finished", "verify_finished"]

_MARK = {"ok": "✅", "warning": "⚠️", "problem": "❌", "missing": "❌ missing", "extra": "extra", "none": "·"}


def enabled() -> bool:
    """Whether this process runs as a GitHub Actions step."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    # The runner's own escaping rules for workflow command data and property values.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, message: str, **properties: str) -> str:
    props = ",".join(f"{k}={_escape_property(v)}" for k, v in properties.items() if v)
    return f"::{name}{' ' + props if props else ''}::{_escape_data(message)}\n"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _append_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown + "\n")


def _emit(text: str) -> None:
    emit(text, stderr=True)


def build_finished(result: BuildResult) -> None:
    """Fold each identifier's build log into a group, and add the build table to the step summary."""
    if not enabled():
        return
    for r in result.results:
        if r.log is None or not Path(r.log).is_file():
            continue
        # A build log is foreign text: stop-commands keeps a line in it from acting as a workflow command.
        token = secrets.token_hex(16)
        _emit(_command("group", f"build log of {r.identifier} ({r.status})") + f"::stop-commands::{token}\n")
        _emit(Path(r.log).read_text(encoding="utf-8", errors="replace"))
        _emit(f"\n::{token}::\n::endgroup::\n")
        if r.status == "failed":
            _emit(_command("error", r.error or "build failed", title=f"build of {r.identifier} failed"))
    rows: list[Sequence[object]] = []
    if result.sdist:
        rows.append(("sdist", "✅ ok", "", result.sdist.name))
    for r in result.results:
        mark = {"ok": "✅ ok", "failed": "❌ failed"}.get(r.status, r.status)
        detail = r.wheel.name if r.wheel else r.error
        rows.append((r.identifier, mark, f"{r.seconds:.1f} s" if r.seconds else "", detail))
    _append_summary(
        f"### shipwheel build of {result.source}\n\n"
        + _table(("identifier", "result", "time", "wheel or reason"), rows)
    )


def verify_finished(report: Report, *, strict: bool) -> None:
    """Annotate each group of verify problems (one code and cause) on its first file, and add the matrix grid and
    the groups to the summary."""
    if not enabled():
        return
    from ..verify import matrix_grid

    paths = {f.filename: f.path for f in report.files}
    groups = report.groups
    # One annotation per code and cause, on its first file, naming the others: GitHub shows ten per step, and a
    # problem that 40 wheels share would fill them all.
    for g in groups:
        kind = "error" if g.severity.value == "error" or strict else "warning"
        first = g.files[0] if g.files else ""
        others = (
            f" (and {len(g.files) - 1} other file(s): {', '.join(g.files[1:])})" if len(g.files) > 1 else ""
        )
        _emit(
            _command(kind, f"{g.message}{others}; fix: {g.fix}", file=paths.get(first, first), title=g.code)
        )
    verdict = "ready to publish" if report.ok(strict) else "**NOT ready to publish**"
    name = f"{report.project or 'release'} {report.version or ''}".strip()
    parts = [
        f"### shipwheel verify: {name}\n",
        f"{len(report.files)} files, {len(report.errors)} errors, {len(report.warnings)} warnings: {verdict}\n",
    ]
    rows, cols, cells = matrix_grid(report)
    if rows:
        parts.append(
            _table(("python", *cols), ([row, *(_MARK[cells[(row, c)].state] for c in cols)] for row in rows))
        )
    if groups:
        parts.append(
            _table(
                ("severity", "code", "files", "problem", "fix"),
                (
                    (g.severity.value, f"`{g.code}`", ", ".join(g.files) or "(release)", g.message, g.fix)
                    for g in groups
                ),
            )
        )
    _append_summary("\n".join(parts))


def publish_finished(result: PublishResult) -> None:
    """Add what was uploaded, skipped or failed to the step summary."""
    if not enabled():
        return
    plan = result.plan
    if result.dry_run:
        rows: Iterable[Sequence[object]] = (
            (f.filename, f"dry run: {f.action}", "", f.reason) for f in plan.files
        )
    else:
        rows = ((r.filename, r.status, r.attempts or "", r.detail) for r in result.results)
    _append_summary(
        f"### shipwheel publish: {plan.project} {plan.version} to {plan.repository.display}\n\n"
        + _table(("file", "result", "attempts", "detail"), rows)
    )
