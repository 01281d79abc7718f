"""The one reader of shipwheel's own JSON records (the release record, the build journal, verify's results,
publish's digest cache): bounded, special files refused, and checked against the record's shape.

A record that cannot be read, does not parse or has the wrong shape is **set aside**: renamed beside itself to
``NAME.invalid-YYYYmmddTHHMMSS`` (kept for whoever wants to look at it), with one warning naming both files, and
the caller starts from nothing and rebuilds it from the real state (the files on disk, the index). Nothing is ever
trusted from half of a record, and nothing is lost by overwriting it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ._fs import read_limited

__all__ = ["RecordShapeError", "load_record"]

T = TypeVar("T")
_log = logging.getLogger("shipwheel")


class RecordShapeError(ValueError):
    """Raised by a record's shape check: the record is not what this version of shipwheel writes."""


def load_record(path: Path, shape: Callable[[object], T], *, limit: int, what: str) -> T | None:
    """The record at ``path`` as ``shape`` makes it from the parsed JSON, or ``None`` when there is none.

    ``shape`` raises :class:`RecordShapeError` (or ``KeyError``, ``TypeError``, ``ValueError``) for data of the
    wrong shape. A record that is unreadable, not JSON, larger than ``limit`` bytes, a special file or of the
    wrong shape is set aside (see the module's docstring) and ``None`` returned; ``what`` names it in the
    warning (``"release record"``)."""
    try:
        data = read_limited(path, limit)
    except FileNotFoundError:
        return None
    except OSError as exc:
        _set_aside(path, what, exc.strerror or str(exc))
        return None
    try:
        return shape(json.loads(data.decode("utf-8")))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        _set_aside(path, what, _why(exc))
        return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON ({exc.msg} at line {exc.lineno})"
    return f"not a record this shipwheel writes ({type(exc).__name__}: {exc})"[:300]


def _set_aside(path: Path, what: str, why: str) -> None:
    aside = path.with_name(f"{path.name}.invalid-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}")
    try:
        os.replace(path, aside)  # renames a link or a FIFO itself, never what it points at
    except OSError as exc:
        _log.warning(
            "the %s %s is unusable (%s) and could not be set aside: %s", what, path, why, exc.strerror
        )
        return
    _log.warning(
        "the %s %s is unusable (%s): set aside as %s and rebuilt from the real state",
        what,
        path,
        why,
        aside.name,
    )
