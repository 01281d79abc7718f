"""The part of a pre-release's announcement that asks for testing: how to install the candidate, what the
downstream projects' tests already found, and whom to tell."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from packaging.version import Version

from ..config import Config
from ..errors import ShipwheelError
from ._state import ReleaseState

__all__ = ["install_line", "staging_index_url", "testing_request"]


def staging_index_url(config: Config) -> str:
    """The simple index ``shipwheel stage`` writes into ``stage.to`` (``""`` without one): a folder's
    ``file://…/simple/``, an http(s) container's ``…/simple/``, an S3 bucket's over its HTTPS endpoint."""
    to = config.stage.to
    if not to:
        return ""
    if "://" not in to or to.startswith("file://"):
        raw = urlsplit(to).path if to.startswith("file://") else to
        path = Path(raw).expanduser()
        return (path if path.is_absolute() else config.project_dir / path).joinpath("simple").as_uri() + "/"
    parts = urlsplit(to)
    prefix = parts.path.strip("/")
    tail = f"{prefix}/simple/" if prefix else "simple/"
    if parts.scheme == "s3":
        endpoint = next(iter(parse_qs(parts.query).get("endpoint", [])), "")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{parts.netloc}/{tail}"
        return f"https://{parts.netloc}.s3.amazonaws.com/{tail}"
    return f"{parts.scheme}://{parts.netloc}/{tail}"


def install_line(config: Config, name: str, version: str, repository: str | None) -> str:
    """``pip install --pre --index-url STAGING NAME==VERSION``; from the release's index without staging."""
    url = staging_index_url(config)
    if not url and repository:
        from ..publish import resolve_repository

        try:
            repo = resolve_repository(repository)
        except ShipwheelError:
            repo = None
        if repo is not None and repo.kind == "file" and repo.path is not None:
            url = (repo.path / "simple").as_uri() + "/"
        elif repo is not None and repo.index_url.rstrip("/") != "https://pypi.org/simple":
            url = repo.index_url
    index = f" --index-url {url}" if url else ""
    return f"pip install --pre{index} {name}=={version}"


def _issues_url(config: Config) -> str:
    pr_url = config.changelog.pr_url
    if not pr_url:
        from ..notes import default_pr_url

        try:
            pr_url = default_pr_url(config.project_dir) or ""
        except ShipwheelError:
            pr_url = ""
    return pr_url.replace("/pull/{number}", "/issues") if "/pull/{number}" in pr_url else ""


def _downstream_lines(report: dict[str, Any]) -> list[str]:
    """One line per downstream project: the interpreters it was tested on and what came out."""
    by_project: dict[str, list[dict[str, Any]]] = {}
    for cell in report.get("cells", []):
        by_project.setdefault(f"{cell['project']} {cell['version']}", []).append(cell)
    lines = []
    for project, cells in by_project.items():
        ran = [c for c in cells if c["status"] in {"passed", "regressed"}]
        broken = [c for c in cells if c["status"] == "not-installable"]
        if ran:
            pythons = ", ".join(c["python"].rsplit(".", 1)[0] for c in ran)
            passed = sum(c["passed"] for c in ran)
            regressions = sum(len(c["regressions"]) for c in ran)
            known = sum(len(c["known_failures"]) for c in ran)
            said = f"{passed} tests passed, " + (
                f"{regressions} regression(s)" if regressions else "no regression"
            )
            if known:
                said += f", {known} known failure(s) (failing with {report.get('baseline')} too)"
            lines.append(f"{project} on CPython {pythons}: {said}")
        if broken:
            lines.append(f"{project} could not be installed on {', '.join(c['interpreter'] for c in broken)}")
    return lines


def testing_request(
    config: Config, name: str, version: str, *, state: ReleaseState | None, repository: str | None
) -> tuple[list[str], list[str]]:
    """The request for testing, as lines of the mail text and of the Markdown."""
    install = install_line(config, name, version, repository)
    text = ["How to install it", "=================", "", f"    {install}", ""]
    md = ["## How to install it", "", "```console", install, "```", ""]
    record = state.steps["downstream"] if state is not None else None
    report = record.data.get("report") if record is not None else None
    if report:
        lines = _downstream_lines(report)
        head = (
            f"The test suites of these projects already ran against {name} {version} and against "
            f"{name} {report.get('baseline') or 'no previous release'}:"
        )
        text += ["Tested already", "==============", "", head, "", *[f"* {line}" for line in lines], ""]
        md += ["## Tested already", "", head, "", *[f"* {line}" for line in lines], ""]
    sender = config.release.announce_from
    issues = _issues_url(config)
    whom = []
    if sender and parseaddr(sender)[1]:
        whom.append(f"reply to this mail ({parseaddr(sender)[1]})")
    if issues:
        whom.append(f"open an issue at {issues}")
    tell = (
        "Please tell us whether your project's tests pass with it, or what breaks: "
        + (" or ".join(whom) if whom else "write to the maintainers")
        + f", before {name} {Version(version).base_version} is released."
    )
    text += ["Please tell us", "==============", "", tell, ""]
    md += ["## Please tell us", "", tell, ""]
    return text, md
