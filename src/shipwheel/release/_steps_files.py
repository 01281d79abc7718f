"""The steps of ``shipwheel release`` that make and move files: build (or fetch), verify, sign, publish, docs
and announce."""

from __future__ import annotations

from pathlib import Path

from ..errors import BuildError, VerificationError
from ._context import Context, hashes

__all__ = [
    "announce_observe",
    "announce_run",
    "build_observe",
    "build_run",
    "docs_observe",
    "docs_run",
    "docs_skip",
    "publish_observe",
    "publish_run",
    "sign_observe",
    "sign_run",
    "sign_skip",
    "stage_observe",
    "stage_run",
    "stage_skip",
    "staging_target",
    "verify_observe",
    "verify_run",
]


# --- build, verify, sign -----------------------------------------------------------------------------------------


def _selection(ctx: Context) -> tuple[str, ...] | None:
    from ._selection import choose_selection

    return choose_selection(ctx.config, ctx.select)


def _recorded_hashes(ctx: Context, *, earlier: bool) -> dict[str, str]:
    """``{file name: sha256}`` as the build recorded them: its journal (each file hashed as it was finished) and,
    with ``earlier``, the release's record of an earlier build step (the journal wins: it is the newer)."""
    from ..builder import build_record

    recorded = dict(ctx.state.steps["build"].data.get("files") or {}) if earlier else {}
    if ctx.config.fetch.from_:
        return recorded  # fetched files: the builder's journal is of some other build
    record = build_record(ctx.config, ctx.config.project_dir)
    if record is not None:
        recorded.update(record.files)
    return recorded


def _shown(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def build_observe(ctx: Context) -> str | None:
    from ._selection import coverage

    selection = _selection(ctx)
    cover = coverage(selection, ctx.release_files(), _recorded_hashes(ctx, earlier=True))
    if not cover.complete:
        return None  # what is missing (or other bytes than the ones built) is built again; the rest is kept
    count = len(cover.selection) if cover.selection is not None else "every"
    return f"{count} selected identifier(s) and the sdist in {ctx.config.build.output_dir}"


def build_run(ctx: Context) -> str:
    from ._selection import coverage

    selection = _selection(ctx)
    # recorded before the build starts: a status of a build killed half-way names what it still misses
    ctx.state.steps["build"].data["selection"] = list(selection) if selection is not None else None
    ctx.state.save()
    detail = _fetch_run(ctx) if ctx.config.fetch.from_ else _build_run(ctx)
    files = ctx.release_files()
    cover = coverage(selection, files, _recorded_hashes(ctx, earlier=False))
    if cover.changed:
        raise BuildError(
            f"{_shown(list(cover.changed))} in {ctx.config.build.output_dir} changed after the build hashed it",
            hint="remove the file(s) and run release again to build them anew",
        )
    missing = cover.missing
    if missing:
        raise BuildError(
            f"the wheelhouse lacks {len(missing)} of the release's selected file(s): {_shown(missing)}",
            hint="build them where they can be built (shipwheel ci github) and put them in "
            f"{ctx.config.build.output_dir}, narrow the release (--select, release.complete-matrix = false), "
            "then run release again",
        )
    ctx.state.steps["build"].data["files"] = hashes(files)
    return detail


def _build_run(ctx: Context) -> str:
    from ..builder import build, checkout

    with checkout(ctx.config.project_dir, ref=ctx.tag if ctx.tagged() else None) as source:
        result = build(
            source,
            ctx.config,
            only=ctx.select,
            on_event=lambda e: ctx.progress(f"build {e.target}: {e.step} {e.status}"),
        )
    if result.interrupted:
        raise BuildError("the build was interrupted", hint="run release again: the finished wheels are kept")
    if not result.ok:
        first = result.failed[0]
        raise BuildError(
            f"{len(result.failed)} identifier(s) failed to build, e.g. {first.identifier}",
            hint=f"read the logs in {result.log_dir}, fix the build and run release again",
        )
    resumed = sum(1 for r in result.results if r.resumed)
    kept = f" ({resumed} kept from an earlier run)" if resumed else ""
    return f"built {len(ctx.release_files())} file(s) into {ctx.config.build.output_dir}{kept}"


def _fetch_run(ctx: Context) -> str:
    from ..staging import Selection, fetch_release, open_container

    container = open_container(ctx.config.fetch.from_)
    try:
        report = fetch_release(
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
    return f"fetched {len(ctx.release_files())} file(s) from {ctx.config.fetch.from_}"


def verify_observe(ctx: Context) -> str | None:
    rec = ctx.state.steps["verify"]
    if rec.status == "done" and rec.data.get("files") == hashes(ctx.release_files()):
        return "the same files passed in an earlier run"
    return None


def verify_run(ctx: Context) -> str:
    from ..verify import verify_paths
    from ._selection import recorded_selection, verify_expected

    files = ctx.release_files()
    # the selection the build step recorded (--select, the whole matrix, or what this machine builds): a selected
    # identifier with no wheel fails here even when the wheelhouse was filled by hand
    selection = recorded_selection(ctx.config, ctx.state.steps["build"].data, ctx.select)
    report = verify_paths(
        files,
        config=ctx.config,
        project=ctx.name,
        version=str(ctx.version),
        check_completeness=selection is not None or ctx.config.release.complete_matrix,
        expected=verify_expected(ctx.config, selection, files) if selection is not None else None,
    )
    if not report.ok(ctx.config.verify.strict):
        problems = list(report.errors) or list(report.warnings)
        first = problems[0]
        raise VerificationError(
            f"verify found {len(problems)} problem(s), e.g. {first.file}: {first.message} [{first.code}]",
            hint=f"run 'shipwheel verify {ctx.config.build.output_dir}', fix the build and run release again",
        )
    lost, left_out = _sdist_missing(ctx, files)
    if lost:
        raise VerificationError(
            f"the sdist lacks {len(lost)} git-tracked file(s) the project's rules ship, e.g. {lost[0]} "
            "[sdist-complete]",
            hint="include them (MANIFEST.in, the backend's sdist settings) or list them in release.sdist-ignore; "
            f"'shipwheel check {ctx.version}' lists them all",
        )
    ctx.state.steps["verify"].data["files"] = hashes(files)
    if left_out:
        return (
            f"{len(files)} file(s) verified; the sdist holds every file the project's rules ship "
            f"({len(left_out)} tracked file(s) left out by them, e.g. {left_out[0]})"
        )
    return f"{len(files)} file(s) verified; the sdist holds every tracked file"


def _sdist_missing(ctx: Context, files: list[Path]) -> tuple[list[str], list[str]]:
    """Tracked files of the project the built sdist lacks (the preflight's ``sdist-complete``, on the real sdist):
    those the project's rules ship (fatal) and those they leave out (reported)."""
    from ..verify import sdist_omissions
    from ._backend import sdist_members

    sdists = [f for f in files if f.name.endswith(".tar.gz")]
    if not sdists:
        return [], []
    subdir = ctx.config.project_dir.relative_to(ctx.git.root.resolve()).as_posix()
    ref = ctx.tag if ctx.tagged() else "HEAD"
    tracked = [t for t in ctx.git.run("ls-tree", "-r", "-z", "--name-only", ref).split("\0") if t]
    if subdir != ".":
        tracked = [t[len(subdir) + 1 :] for t in tracked if t.startswith(subdir + "/")]
    omitted = sdist_omissions(
        ctx.config.project_dir, tracked, sdist_members(sdists[0]), ctx.config.release.sdist_ignore
    )
    return omitted.lost, omitted.left_out


def sign_skip(ctx: Context) -> str | None:
    from ._tag_ssh import is_ssh_key

    key = ctx.config.sign.key
    if not key:
        return "no sign.key configured"
    if is_ssh_key(ctx.config, key):
        # detached .asc signatures and SHA256SUMS.asc are OpenPGP's; an SSH key signs the tag only
        return "sign.key is an SSH key: it signs the tag; the release files are signed with a GPG key only"
    return None


def sign_observe(ctx: Context) -> str | None:
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


def sign_run(ctx: Context) -> str:
    from ..sign import sign_files

    result = sign_files(ctx.release_files(), key=ctx.config.sign.key, gpg=ctx.config.sign.gpg)
    return f"{len(result.signatures)} signature(s) and {result.manifest.name if result.manifest else 'no manifest'}"


# --- stage ---------------------------------------------------------------------------------------------------------


def staging_target(ctx: Context) -> str:
    """``stage.to``, a relative folder taken from the project folder (as ``output-dir``), not from where the
    command runs; URLs (``s3://``, ``https://``) as they are."""
    to = ctx.config.stage.to
    if not to or "://" in to:
        return to
    path = Path(to).expanduser()
    return str(path if path.is_absolute() else ctx.config.project_dir / path)


def stage_skip(ctx: Context) -> str | None:
    return None if ctx.config.stage.to else "no stage.to configured"


def stage_observe(ctx: Context) -> str | None:
    from ._preflight import container_entries

    files = ctx.release_files()
    target = staging_target(ctx)
    if not files or ("://" not in target and not Path(target).is_dir()):
        return None
    entries, manifest = container_entries(target, ctx.name)
    there = {e.filename: e.sha256 or manifest.get(e.filename) for e in entries}
    local = hashes(files)
    if any(there.get(name) != digest for name, digest in local.items()):
        return None
    return f"all {len(local)} file(s) in {target} with the same sha256"


def stage_run(ctx: Context) -> str:
    from ..staging import open_container, stage_files

    target = staging_target(ctx)
    container = open_container(target)
    try:
        report = stage_files(ctx.release_files(), container)
    finally:
        container.close()
    sent = sum(f.status == "staged" for f in report.files)
    return f"{sent} staged into {report.container} ({len(report.files) - sent} already there)"


# --- publish and bump --------------------------------------------------------------------------------------------


def publish_observe(ctx: Context) -> str | None:
    from ._preflight import index_files

    files = ctx.release_files()
    if not files:
        return None
    there = index_files(ctx.repository, ctx.name, str(ctx.version))
    local = hashes(files)
    for name, digest in local.items():
        if name not in there or (there[name] is not None and there[name] != digest):
            return None
    return f"all {len(local)} file(s) on {ctx.repository} with the same sha256"


def publish_run(ctx: Context) -> str:
    from ..publish import PublishSettings, publish_files
    from ._selection import recorded_selection

    opts = ctx.config.publish
    # never fewer files than the release selected: the same rule the build and verify steps held them to
    selection = recorded_selection(ctx.config, ctx.state.steps["build"].data, ctx.select)
    result = publish_files(
        ctx.release_files(),
        PublishSettings(
            repository=ctx.repository,
            jobs=opts.jobs,
            retries=opts.retries,
            timeout=opts.timeout,
            environ=ctx.environ,
            complete=selection is not None,
            expected=selection,
        ),
    )
    sent = sum(r.status == "uploaded" for r in result.results)
    ctx.state.steps["publish"].data["url"] = result.url
    return f"{sent} uploaded to {ctx.repository}; {result.url}"


def docs_skip(ctx: Context) -> str | None:
    opts = ctx.config.release
    return None if opts.docs_dir and opts.docs_repo else "no release.docs-dir and docs-repo configured"


def docs_observe(ctx: Context) -> str | None:
    from ._docs import find_docs_commit

    repo = ctx.config.project_dir / ctx.config.release.docs_repo
    if not repo.is_dir():
        return None
    commit = find_docs_commit(repo, ctx.name, str(ctx.version))
    return f"committed as {commit[:12]} in {repo}" if commit else None


def docs_run(ctx: Context) -> str:
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


def announce_observe(ctx: Context) -> str | None:
    data = ctx.state.steps["announce"].data
    if ctx.config.release.smtp_host:
        return f"sent as {data['message_id']}" if data.get("sent") else None
    file = data.get("file")
    return f"written to {file}" if file and Path(file).is_file() else None


def announce_run(ctx: Context) -> str:
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
