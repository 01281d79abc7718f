"""The identifiers a release ships (its selection) and which of them the wheelhouse holds.

The selection is one rule, read by the build step, the verify step and ``status`` alike, so that they agree on
what a complete release is: the identifiers of the project's matrix that ``release --select`` names (recorded in
the release's record, so a resumed run keeps them) and this machine builds, as the build does; else, with
``release.complete-matrix``, the project's whole configured matrix; else the matrix this machine builds (one
identifier per CPython found here). Files fetched from a staging container are held to the selector's
identifiers, or to the whole matrix; with neither there is no selection: the release ships what was staged.

A selected identifier is present when a wheel of the release in the wheelhouse covers it (a pure wheel covers
all of them), and a file the build recorded with a sha256 counts only with those bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from ..config import Config
from ..distfiles import DistFile, file_digests
from ..errors import ShipwheelError
from ..matrix import Identifier, Selector, wheel_covers
from ._state import ReleaseState

__all__ = [
    "Coverage",
    "choose_selection",
    "coverage",
    "recorded_selection",
    "release_coverage",
    "release_paths",
    "verify_expected",
]


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the wheelhouse holds of a selection.

    ``selection`` is ``None`` when there is none (then any wheel will do); ``wheels`` maps each selected identifier
    to the wheel covering it (absent when none does); ``changed`` names files whose bytes differ from the sha256
    the build recorded."""

    selection: tuple[str, ...] | None
    sdist: str
    wheels: Mapping[str, str] = field(default_factory=dict)
    any_wheel: bool = False
    changed: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        """The selected identifiers with no wheel, then ``sdist`` when it is absent (``wheels`` when there is no
        selection and no wheel at all)."""
        out = [i for i in self.selection or () if i not in self.wheels]
        if self.selection is None and not self.any_wheel:
            out.append("wheels")
        if not self.sdist:
            out.append("sdist")
        return out

    @property
    def complete(self) -> bool:
        """Every selected identifier and the sdist are there, with the bytes the build recorded."""
        return not self.missing and not self.changed

    def states(self) -> dict[str, str]:
        """``{identifier: "present" | "missing"}`` of the selection, in its order."""
        return {i: "present" if i in self.wheels else "missing" for i in self.selection or ()}


def choose_selection(config: Config, select: str | None) -> tuple[str, ...] | None:
    """The identifiers a release of ``config``'s project ships (see the module docstring); ``None`` when the
    files are fetched and no rule names them."""
    matrix = config.identifiers()
    if select:
        selector = Selector.parse(select, what="--select selector")
        matrix = [i for i in matrix if selector.matches(i)]
        if config.fetch.from_:
            return tuple(str(i) for i in matrix)
    elif config.release.complete_matrix:
        return tuple(str(i) for i in matrix)
    elif config.fetch.from_:
        return None
    from ..interpreters import discover, match_identifiers

    buildable, _ = match_identifiers(matrix, discover(config.build.interpreters))
    return tuple(str(i) for i in matrix if i in buildable)


def recorded_selection(
    config: Config, build_data: Mapping[str, object], select: str | None
) -> tuple[str, ...] | None:
    """The selection the build step recorded (``build_data["selection"]``), else the one the rule gives now;
    ``None`` when there is none or the rule cannot be applied (an invalid selector, a broken configuration)."""
    recorded = build_data.get("selection")
    if isinstance(recorded, list) and all(isinstance(i, str) for i in recorded):
        return tuple(recorded)
    try:
        return choose_selection(config, select)
    except ShipwheelError:
        return None


def release_paths(folder: Path, version: Version) -> list[Path]:
    """The wheels and the sdist of ``version`` in ``folder`` (other versions' files are left alone)."""
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        dist = DistFile.parse(path.name)
        if dist is not None and path.is_file() and dist.version == version:
            out.append(path)
    return out


def coverage(
    selection: Sequence[str] | None, files: Sequence[Path], recorded: Mapping[str, str] | None = None
) -> Coverage:
    """What ``files`` (one release's, as :func:`release_paths` lists them) hold of ``selection``; ``recorded``
    is ``{file name: sha256}`` as the build recorded them (a file it lists counts only with those bytes)."""
    recorded = recorded or {}
    changed = tuple(
        p.name for p in files if p.name in recorded and file_digests(p)["sha256"] != recorded[p.name]
    )
    good = [p for p in files if p.name not in changed]
    dists = [d for p in good if (d := DistFile.parse(p.name)) is not None]
    wheels = [d for d in dists if d.kind == "wheel"]
    sdist = next((d.filename for d in dists if d.kind == "sdist" and d.filename.endswith(".tar.gz")), "")
    found: dict[str, str] = {}
    for ident in selection or ():
        parsed = Identifier.parse(ident)
        covering = next((w.filename for w in wheels if wheel_covers(w.tags, parsed)), None)
        if covering is not None:
            found[ident] = covering
    return Coverage(tuple(selection) if selection is not None else None, sdist, found, bool(wheels), changed)


def release_coverage(config: Config, state: ReleaseState) -> Coverage:
    """What the wheelhouse holds of the selection of ``state``'s release (``shipwheel status``): each selected
    identifier present or missing, the sdist, and the files whose bytes differ from what the build recorded."""
    from ..builder import build_record

    data = state.steps["build"].data
    recorded = dict(data.get("files") or {})
    if not config.fetch.from_:
        record = build_record(config, config.project_dir)
        recorded.update(record.files if record is not None else {})
    selection = recorded_selection(config, data, state.select or None)
    return coverage(selection, release_paths(config.build.output_dir, Version(state.version)), recorded)


def verify_expected(config: Config, selection: Sequence[str], files: Sequence[Path]) -> list[str]:
    """What verify holds ``files`` to: the selection, which must be there, and the identifiers of the project's
    matrix the files bring besides (wheels built elsewhere for this matrix are no strangers to it)."""
    matrix = {str(i) for i in config.identifiers()}
    extra = sorted(
        {str(i) for p in files if (d := DistFile.parse(p.name)) is not None for i in d.identifiers}
        & matrix - set(selection)
    )
    return [*selection, *extra]
