"""The optional schedule of development wheels: ``ci.dev-schedule``, a cron line checked here before it is written
into the workflow, and the staging container the scheduled run uploads to (``[tool.shipwheel.stage] to``, a
bucket or an index server; the run then keeps the newest ``ci.dev-keep`` development versions there)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import Config
from ..errors import ConfigError

__all__ = ["DevSchedule", "dev_schedule"]

# (name, lowest, highest, names) of cron's five fields, as GitHub Actions reads them (POSIX cron, UTC)
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of the month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of the week", 0, 6, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_ITEM = re.compile(r"^(?P<range>\*|(?P<low>\w+)(?:-(?P<high>\w+))?)(?:/(?P<step>\d+))?$", re.ASCII)


@dataclass(frozen=True, slots=True)
class DevSchedule:
    """When the scheduled run builds development wheels, where it stages them, and how many versions it keeps;
    ``secrets`` says which credentials the container needs (``s3`` or ``index``)."""

    cron: str
    container: str
    keep: int
    secrets: str


def _number(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if text.upper() in names:
        return names.index(text.upper()) + low
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    return None


def _check_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    """Why one field is not cron, or None."""
    for item in text.split(","):
        m = _ITEM.match(item)
        if m is None:
            return f"{item!r} is not a value, a range or a step"
        if m["step"] is not None and not 1 <= int(m["step"]) <= high:
            return f"the step of {item!r} is not from 1 to {high}"
        if m["range"] == "*":
            continue
        first = _number(m["low"], low, high, names)
        last = _number(m["high"], low, high, names) if m["high"] else first
        if first is None or last is None or last < first:
            return f"{item!r} is not from {low} to {high}" + (
                f" (or {names[0]}-{names[-1]})" if names else ""
            )
    return None


def check_cron(text: str, where: str) -> str:
    """``text`` as one cron line of five fields (``0 3 * * 1``), or a :class:`ConfigError` saying why not (a line
    break, a ``${{`` or a sixth field would write YAML or an expression of its own)."""
    fields = text.split()
    problem = None
    if len(fields) != 5 or "\n" in text or "\r" in text:
        problem = f"it has {len(fields)} fields, not the five of cron (minute hour day month weekday)"
    else:
        for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
            why = _check_field(value, name, low, high, names)
            if why is not None:
                problem = f"its {name} field: {why}"
                break
    if problem is not None:
        raise ConfigError(
            f"ci.dev-schedule ({where}) {text!r} is not a cron line: {problem}",
            hint='write five fields, in UTC, like "0 3 * * 1" (03:00 every Monday) or "30 2 * * *" (daily)',
        )
    return " ".join(fields)


def dev_schedule(config: Config) -> DevSchedule | None:
    """The schedule of development wheels ``config`` asks for; None without ``ci.dev-schedule``. Raise
    :class:`ConfigError` for a line that is not cron, or when no bucket or index server is configured to stage
    the builds into."""
    text = config.ci.dev_schedule.strip()
    if not text:
        return None
    where = config.sources.get("ci.dev-schedule", "ci.dev-schedule")
    cron = check_cron(text, where)
    container = config.stage.to.strip()
    scheme = urlsplit(container).scheme.lower() if "://" in container else ""
    if scheme not in {"s3", "http", "https"}:
        what = (
            f"[tool.shipwheel.stage] to is {container!r}"
            if container
            else "no staging container is configured"
        )
        raise ConfigError(
            f"ci.dev-schedule ({where}) asks for scheduled development wheels, but {what}: the scheduled run "
            "would have nowhere to upload them",
            hint="set [tool.shipwheel.stage] to an s3://BUCKET/PREFIX or an index server's upload URL, or leave "
            "ci.dev-schedule empty",
        )
    return DevSchedule(cron, container, config.ci.dev_keep, "s3" if scheme == "s3" else "index")
