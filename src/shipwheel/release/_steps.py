"""The steps of ``shipwheel release``, each in three parts: whether it applies, what the real state says, doing it.

``observe`` looks at git, the wheelhouse and the index and returns a detail when the step has already taken
effect (``None`` otherwise); it must not change anything, since ``--dry-run`` calls it too. ``run`` does the
step through the public face of the module that owns it and returns a detail for the record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from .._git import Git
from ..config import Config
from ..errors import BuildError, ProjectError, VerificationError
from ._state import ReleaseState

__all__ = ["STEP_IMPLS", "Context", "Step"]

#: Preflight checks the pipeline leaves out: the ``version`` step sets the version after the check, and the
#: ``verify`` step checks the version and the completeness of the sdist that was really built (the preflight
#: would build one more sdist for them).
_PIPELINE_SKIPS = ("version-files", "version-backend", "sdist-complete")


@dataclass(slots=True)
class Context:
    """What every step sees: the configuration, the release, git, the target index and the record."""

    config: Config
    version: Version
    git: Git
    repository: str
    select: str | None
    state: ReleaseState
    environ: Mapping[str, str]
    progress: Callable[[str], None]

    @property
    def name(self) -> str:
        return self.config.project.name or self.config.project_dir.name

    @property
    def tag(self) -> str:
        from ._tag import tag_name

        return tag_name(self.config, str(self.version))

    def tagged(self) -> bool:
        from ._tag import find_tag

        return find_tag(self.git, self.tag) is not None

    def release_files(self) -> list[Path]:
        """The wheels and sdist of this version in the wheelhouse (other versions' files are left alone)."""
        from ..distfiles import DistFile

        folder = self.config.build.output_dir
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.iterdir()):
            dist = DistFile.parse(path.name)
            if dist is not None and path.is_file() and dist.version == self.version:
                out.append(path)
        return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _hashes(files: list[Path]) -> dict[str, str]:
    return {p.name: _sha256(p) for p in files}


@dataclass(frozen=True, slots=True)
class Step:
    """One step: ``skip`` says why it does not apply (or ``None``), ``observe`` and ``run`` as above."""

    name: str
    skip: Callable[[Context], str | None]
    observe: Callable[[Context], str | None]
    run: Callable[[Context], str]


def _never(_: Context) -> str | None:
    return None


# --- check -------------------------------------------------------------------------------------------------------


def _check_observe(ctx: Context) -> str | None:
    if ctx.tagged():
        return f"{ctx.tag} exists; the preflight was for before it"
    if ctx.state.steps["check"].status == "done":
        return "passed in an earlier run"
    return None


def _check_run(ctx: Context) -> str:
    from ._preflight import run_checks

    report = run_checks(ctx.config, str(ctx.version), repository=ctx.repository, skip=_PIPELINE_SKIPS)
    bad = [r for r in report.results if r.status == "fail"]
    if bad:
        first = bad[0]
        raise VerificationError(
            f"the preflight failed: {', '.join(r.code for r in bad)} ({first.code}: {first.message})",
            hint=f"run 'shipwheel check {ctx.version}' for every finding and its fix, then run release again",
        )
    passed = sum(r.status == "pass" for r in report.results)
    return f"{passed} checks passed"


# --- notes -------------------------------------------------------------------------------------------------------


def _notes_path(ctx: Context) -> Path:
    return ctx.config.project_dir / ctx.config.release.notes_file.format(version=ctx.version)


def _notes_skip(ctx: Context) -> str | None:
    return None if ctx.config.release.notes_file else "no release.notes-file configured"


def _notes_observe(ctx: Context) -> str | None:
    if ctx.tagged():
        return f"{ctx.tag} exists"
    path = _notes_path(ctx)
    rel = str(path.relative_to(ctx.git.root))
    if path.is_file() and str(ctx.version) in path.read_text(encoding="utf-8", errors="replace"):
        tracked = ctx.git.run("ls-files", "--", rel).strip()
        if tracked and not ctx.git.dirty_paths([rel]):
            return f"{rel} is committed"
    return None


def _notes_run(ctx: Context) -> str:
    path = _notes_path(ctx)
    rel = str(path.relative_to(ctx.git.root))
    if not (path.is_file() and str(ctx.version) in path.read_text(encoding="utf-8", errors="replace")):
        from ..notes import release_notes

        text = release_notes(ctx.config.project_dir, str(ctx.version), fmt=ctx.config.notes.format)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    ctx.git.run("add", "--", rel)
    ctx.git.run("commit", "-q", "--no-verify", "-m", f"DOC: Release notes for {ctx.version}", "--", rel)
    return f"committed {rel}"


# --- version and tag ---------------------------------------------------------------------------------------------


def _version_observe(ctx: Context) -> str | None:
    from ._setver import current_version, locations_of

    if ctx.tagged():
        return f"{ctx.tag} exists"
    try:
        if current_version(ctx.config) != ctx.version:
            return None
    except ProjectError:
        return None
    rel = [str(loc.path.relative_to(ctx.git.root)) for loc in locations_of(ctx.config)]
    return None if ctx.git.dirty_paths(rel) else f"the project is at {ctx.version}, committed"


def _version_run(ctx: Context) -> str:
    from ._setver import set_version

    change = set_version(ctx.config, ctx.version)
    return f"{change.old} -> {change.new}, commit {change.commit[:12]}" if change.commit else "already set"


def _tag_observe(ctx: Context) -> str | None:
    from ._tag import find_tag, verify_tag

    found = find_tag(ctx.git, ctx.tag)
    if found is None:
        return None
    if ctx.config.sign.key and not verify_tag(ctx.config, ctx.git, ctx.tag):
        raise ProjectError(
            f"tag {ctx.tag} exists but git verify-tag rejects it",
            hint=f"check the signing key's public part in the keyring, or delete the tag (git tag -d {ctx.tag})",
        )
    _check_tagged_version(ctx, found[1])
    return f"{ctx.tag} on {found[1][:12]}"


def _check_tagged_version(ctx: Context, commit: str) -> None:
    """The tag must name a commit whose version files hold the release's version: a tag made by hand on the
    wrong commit would otherwise be built and published."""
    from ..errors import CommandError
    from ._setver import locations_of

    for loc in locations_of(ctx.config):
        rel = loc.path.relative_to(ctx.git.root).as_posix()
        try:
            text = ctx.git.run("show", f"{commit}:{rel}")
        except CommandError:
            continue  # the file is newer than the tag: nothing to compare
        if not loc.agrees(ctx.version, text):
            raise ProjectError(
                f"tag {ctx.tag} names {commit[:12]}, whose {rel} holds {loc.read(text)}, not {ctx.version}",
                hint=f"delete the wrong tag (git tag -d {ctx.tag}) if it was never pushed, and run release again",
            )


def _tag_run(ctx: Context) -> str:
    from ._tag import tag_release

    result = tag_release(ctx.config, str(ctx.version))
    return f"{result.name} on {result.commit[:12]}" + (" (signed, verified)" if result.verified else "")


# --- build, verify, sign -----------------------------------------------------------------------------------------


def _build_observe(ctx: Context) -> str | None:
    files = ctx.release_files()
    sdists = [f for f in files if not f.name.endswith(".whl")]
    wheels = [f for f in files if f.name.endswith(".whl")]
    if not sdists or not wheels:
        return None
    recorded = ctx.state.steps["build"].data.get("files")
    if recorded and recorded != _hashes(files):
        return None  # other bytes than the ones built: build again rather than publish unknown files
    return f"{len(wheels)} wheel(s) and the sdist in {ctx.config.build.output_dir}"


def _build_run(ctx: Context) -> str:
    if ctx.config.fetch.from_:
        return _fetch_run(ctx)
    from ..build import build

    overrides = {"output-dir": str(ctx.config.build.output_dir)}
    result = build(
        ctx.config.project_dir,
        ref=ctx.tag if ctx.tagged() else None,
        only=ctx.select,
        overrides=overrides,
        on_event=lambda e: ctx.progress(f"build {e.target}: {e.step} {e.status}"),
    )
    if not result.ok:
        first = result.failed[0]
        raise BuildError(
            f"{len(result.failed)} identifier(s) failed to build, e.g. {first.identifier}",
            hint=f"read the logs in {result.log_dir}, fix the build and run release again",
        )
    files = ctx.release_files()
    ctx.state.steps["build"].data["files"] = _hashes(files)
    return f"built {len(files)} file(s) into {ctx.config.build.output_dir}"


def _fetch_run(ctx: Context) -> str:
    from ..containers import open_container
    from ..fetch import Selection, fetch

    container = open_container(ctx.config.fetch.from_)
    try:
        report = fetch(
            container,
            Selection(project=ctx.name, version=str(ctx.version)),
            ctx.config.build.output_dir,
            jobs=ctx.config.fetch.jobs,
        )
    finally:
        container.close()
    if not report.ok:
        raise BuildError(
            f"fetching from {ctx.config.fetch.from_} failed for some files",
            hint="run shipwheel fetch to see which, then run release again",
        )
    files = ctx.release_files()
    ctx.state.steps["build"].data["files"] = _hashes(files)
    return f"fetched {len(files)} file(s) from {ctx.config.fetch.from_}"


def _verify_observe(ctx: Context) -> str | None:
    rec = ctx.state.steps["verify"]
    if rec.status == "done" and rec.data.get("files") == _hashes(ctx.release_files()):
        return "the same files passed in an earlier run"
    return None


def _verify_run(ctx: Context) -> str:
    from ..verify import verify_paths

    files = ctx.release_files()
    report = verify_paths(
        files,
        config=ctx.config,
        project=ctx.name,
        version=str(ctx.version),
        check_completeness=not ctx.select,
    )
    if not report.ok(ctx.config.verify.strict):
        problems = list(report.errors) or list(report.warnings)
        first = problems[0]
        raise VerificationError(
            f"verify found {len(problems)} problem(s), e.g. {first.file}: {first.message} [{first.code}]",
            hint=f"run 'shipwheel verify {ctx.config.build.output_dir}', fix the build and run release again",
        )
    missing = _sdist_missing(ctx, files)
    if missing:
        raise VerificationError(
            f"the sdist lacks {len(missing)} git-tracked file(s), e.g. {missing[0]} [sdist-complete]",
            hint="include them (MANIFEST.in, the backend's sdist settings) or list them in release.sdist-ignore; "
            f"'shipwheel check {ctx.version}' lists them all",
        )
    ctx.state.steps["verify"].data["files"] = _hashes(files)
    return f"{len(files)} file(s) verified; the sdist holds every tracked file"


def _sdist_missing(ctx: Context, files: list[Path]) -> list[str]:
    """Tracked files of the project the built sdist lacks (the preflight's ``sdist-complete``, on the real sdist)."""
    from ._backend import missing_from_sdist, sdist_members

    sdists = [f for f in files if f.name.endswith(".tar.gz")]
    if not sdists:
        return []
    subdir = ctx.config.project_dir.relative_to(ctx.git.root.resolve()).as_posix()
    ref = ctx.tag if ctx.tagged() else "HEAD"
    tracked = [t for t in ctx.git.run("ls-tree", "-r", "-z", "--name-only", ref).split("\0") if t]
    if subdir != ".":
        tracked = [t[len(subdir) + 1 :] for t in tracked if t.startswith(subdir + "/")]
    return missing_from_sdist(tracked, sdist_members(sdists[0]), ctx.config.release.sdist_ignore)


def _sign_skip(ctx: Context) -> str | None:
    return None if ctx.config.sign.key else "no sign.key configured"


def _sign_observe(ctx: Context) -> str | None:
    from ..errors import ShipwheelError
    from ..sign import MANIFEST, verify_release_signatures

    files = ctx.release_files()
    if not files or not all(f.with_name(f.name + ".asc").is_file() for f in files):
        return None
    if not (ctx.config.build.output_dir / f"{MANIFEST}.asc").is_file():
        return None
    try:
        verify_release_signatures(files, gpg=ctx.config.sign.gpg)
    except ShipwheelError:
        return None
    return f"{len(files)} signature(s) and the manifest verify"


def _sign_run(ctx: Context) -> str:
    from ..sign import sign_files

    result = sign_files(ctx.release_files(), key=ctx.config.sign.key, gpg=ctx.config.sign.gpg)
    return f"{len(result.signatures)} signature(s) and {result.manifest.name if result.manifest else 'no manifest'}"


# --- publish and bump --------------------------------------------------------------------------------------------


def _publish_observe(ctx: Context) -> str | None:
    from ._preflight import index_files

    files = ctx.release_files()
    if not files:
        return None
    there = index_files(ctx.repository, ctx.name, str(ctx.version))
    local = _hashes(files)
    for name, digest in local.items():
        if name not in there or (there[name] is not None and there[name] != digest):
            return None
    return f"all {len(local)} file(s) on {ctx.repository} with the same sha256"


def _publish_run(ctx: Context) -> str:
    from ..publish import publish_files

    opts = ctx.config.publish
    result = publish_files(
        ctx.release_files(),
        repository=ctx.repository,
        jobs=opts.jobs,
        retries=opts.retries,
        timeout=opts.timeout,
        verify=False,  # the verify step did it on these very bytes
        config=ctx.config,
        environ=ctx.environ,
    )
    sent = sum(r.status == "uploaded" for r in result.results)
    ctx.state.steps["publish"].data["url"] = result.url
    return f"{sent} uploaded to {ctx.repository}; {result.url}"


def _docs_skip(ctx: Context) -> str | None:
    opts = ctx.config.release
    return None if opts.docs_dir and opts.docs_repo else "no release.docs-dir and docs-repo configured"


def _docs_observe(ctx: Context) -> str | None:
    from ._docs import find_docs_commit

    repo = ctx.config.project_dir / ctx.config.release.docs_repo
    if not repo.is_dir():
        return None
    commit = find_docs_commit(repo, ctx.name, str(ctx.version))
    return f"committed as {commit[:12]} in {repo}" if commit else None


def _docs_run(ctx: Context) -> str:
    from ._docs import publish_docs

    opts = ctx.config.release
    repo = ctx.config.project_dir / opts.docs_repo
    result = publish_docs(
        ctx.name,
        str(ctx.version),
        built=ctx.config.project_dir / opts.docs_dir,
        repo=repo,
        base_url=opts.docs_url,
    )
    return f"{repo}/{result.series}/, stable -> {result.stable}; not pushed (shipwheel docs --push)"


def _announce_observe(ctx: Context) -> str | None:
    data = ctx.state.steps["announce"].data
    if ctx.config.release.smtp_host:
        return f"sent as {data['message_id']}" if data.get("sent") else None
    file = data.get("file")
    return f"written to {file}" if file and Path(file).is_file() else None


def _announce_run(ctx: Context) -> str:
    from ._announce import announce

    send = bool(ctx.config.release.smtp_host)
    result = announce(
        ctx.config,
        str(ctx.version),
        state=ctx.state,
        git=ctx.git,
        send=send,
        password=ctx.environ.get("SHIPWHEEL_SMTP_PASSWORD"),
    )
    if result.sent_now:
        return f"sent as {result.message_id} to {len(ctx.config.release.announce_to)} list(s); {result.text_file}"
    return f"written to {result.text_file} and {result.markdown_file.name} (no smtp-host: not sent)"


def _bump_observe(ctx: Context) -> str | None:
    from ._setver import current_version

    try:
        now = current_version(ctx.config)
    except ProjectError:
        return None
    return f"the project is at {now}" if now > ctx.version else None


def _bump_run(ctx: Context) -> str:
    from ._setver import bump

    # After a pre-release the next one is still to come: 2.0.0rc1 -> 2.0.0rc2.dev0; after a final, the next micro.
    change = bump(ctx.config, dev=ctx.version.is_prerelease)
    return f"{change.old} -> {change.new}" + (f", commit {change.commit[:12]}" if change.commit else "")


STEP_IMPLS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("check", _never, _check_observe, _check_run),
        Step("notes", _notes_skip, _notes_observe, _notes_run),
        Step("version", _never, _version_observe, _version_run),
        Step("tag", _never, _tag_observe, _tag_run),
        Step("build", _never, _build_observe, _build_run),
        Step("verify", _never, _verify_observe, _verify_run),
        Step("sign", _sign_skip, _sign_observe, _sign_run),
        Step("publish", _never, _publish_observe, _publish_run),
        Step("docs", _docs_skip, _docs_observe, _docs_run),
        Step("announce", _never, _announce_observe, _announce_run),
        Step("bump", _never, _bump_observe, _bump_run),
    )
}


def describe(data: Any) -> str:
    """A short rendering of a step's data, for the status table."""
    if isinstance(data, dict) and "files" in data:
        return f"{len(data['files'])} file(s)"
    return ""
