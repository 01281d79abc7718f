"""Whether the files of a publish are the whole release: checked before anything is sent.

What the release should hold is what the caller says (``expected``: the identifiers the release selected), or,
without one (``shipwheel publish`` of a folder), what the files themselves imply (:func:`implied_identifiers`:
per platform, every CPython version from its oldest wheel to the release's newest; free-threaded builds apart),
and every file of the release a ``SHA256SUMS`` beside the files lists (the staging manifest). A hole there is almost always a
wheel a CI job failed to make, and a release published without it cannot be completed later for the users who
install in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..distfiles import DistFile
from ..errors import ShipwheelError, VerificationError
from ..manifest import MANIFEST, read_manifest
from ..matrix import ALL_PLATFORMS, Identifier, wheel_covers

__all__ = ["IncompleteReleaseError", "check_complete", "implied_identifiers", "missing_from_release"]


class IncompleteReleaseError(VerificationError):
    """The files lack wheels (or files a manifest lists) of the release; nothing was sent (exit 1)."""


def implied_identifiers(dists: Sequence[DistFile]) -> list[Identifier]:
    """The identifiers the wheels of one release span: per kind (free-threaded or not) and per platform, every
    CPython version from the oldest that platform has up to the newest of the release. A platform may start later
    than the others (win_arm64 wheels begin at 3.11, an abi3 riscv64 wheel at 3.12: real releases of matplotlib,
    lxml and pyzmq do), so a missing *older* version is not a hole; a version missing in between, or a platform
    that stops before the newest version, is. An abi3 wheel counts for the version its name gives."""
    present = {i for d in dists for i in d.identifiers}
    out: set[Identifier] = set()
    for free_threaded in (False, True):
        mine = [i for i in present if i.free_threaded == free_threaded]
        if not mine:
            continue
        newest = max((i.major, i.minor) for i in mine)
        for platform in {i.platform for i in mine}:
            oldest = min((i.major, i.minor) for i in mine if i.platform == platform)
            out.update(
                Identifier(minor=minor, free_threaded=free_threaded, platform=platform, major=oldest[0])
                for minor in range(oldest[1], newest[1] + 1)
                if oldest[0] == newest[0]
            )
    return sorted(out, key=lambda i: (i.minor, i.free_threaded, ALL_PLATFORMS.index(i.platform)))


def _manifest_names(files: Sequence[tuple[Path, DistFile]]) -> set[str]:
    """The files of this release the ``SHA256SUMS`` beside the files list."""
    first = files[0][1]
    names: set[str] = set()
    for folder in sorted({p.parent for p, _ in files}):
        manifest = folder / MANIFEST
        if not manifest.is_file():
            continue
        try:
            listed = read_manifest(manifest)
        except (OSError, ShipwheelError):
            continue  # an unreadable manifest says nothing; verify reports a damaged one
        for name in listed:
            dist = DistFile.parse(name)
            if dist is not None and dist.matches(first.name, first.version):
                names.add(name)
    return names


def missing_from_release(
    files: Sequence[tuple[Path, DistFile]], expected: Sequence[str] | None = None
) -> list[str]:
    """The identifiers (``cp313-win_amd64``) no wheel among ``files`` covers, and the file names a manifest
    beside them lists that are not among them; ``expected`` replaces the identifiers the wheels imply."""
    if not files:
        return []
    dists = [d for _, d in files]
    wanted = [Identifier.parse(i) for i in expected] if expected is not None else implied_identifiers(dists)
    wheels = [d for d in dists if d.kind == "wheel"]
    out = [str(i) for i in wanted if not any(wheel_covers(w.tags, i) for w in wheels)]
    have = {d.filename for d in dists}
    out += sorted(_manifest_names(files) - have)
    return out


def check_complete(
    files: Sequence[tuple[Path, DistFile]], expected: Sequence[str] | None, *, allow_incomplete: bool = False
) -> list[str]:
    """Raise :class:`IncompleteReleaseError` when something is missing, unless ``allow_incomplete``; the missing
    names either way."""
    missing = missing_from_release(files, expected)
    if missing and not allow_incomplete:
        first = files[0][1]
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise IncompleteReleaseError(
            f"{first.name} {first.version} is incomplete: no file for {shown}; nothing was uploaded",
            hint="build and add the missing wheels, or pass --allow-incomplete to publish the release without them",
        )
    return missing
