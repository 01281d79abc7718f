"""The project's own GitHub workflows as a configuration source: the ``CIBW_*`` variables its cibuildwheel jobs
set, and the cibuildwheel version they pin.

A job runs cibuildwheel when a step uses ``pypa/cibuildwheel@REF`` or runs ``cibuildwheel``, or when it calls a
reusable workflow of the repository that does. Its variables are the workflow's ``env``, the job's and the
step's, and ``KEY=VALUE`` lines a caller hands to such a reusable workflow for ``$GITHUB_ENV`` (aio-libs'
``environment-variables`` input). Each combination of the job's ``strategy.matrix`` is one variant; ``${{ }}``
expressions are evaluated with the matrix values and the context of a release (a tag push), and a variable whose
expression needs anything else is left out with a note. The version pinned is the ``@vX.Y.Z`` of the action (or
the ``# vX.Y.Z`` comment after a commit hash) or a ``cibuildwheel==X.Y.Z`` requirement.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._fs import read_limited
from ._expressions import Unknown, substitute

__all__ = ["CibwJob", "Workflows", "read_workflows"]

_MAX = 1024 * 1024
_ACTION = re.compile(r"^pypa/cibuildwheel@(?P<ref>\S+)")
_PIN_COMMENT = re.compile(r"pypa/cibuildwheel@\S+\s*#\s*v?(?P<version>\d+\.\d+(?:\.\d+)?)")
_PIP = re.compile(r"cibuildwheel\s*==\s*(?P<version>\d+\.\d+(?:\.\d+)?)")
_VERSION = re.compile(r"^v?(\d+\.\d+(?:\.\d+)?)$")
_ENV_LINE = re.compile(r"^(CIBW_[A-Z0-9_]+)=(.*)$")
_HEREDOC = re.compile(r"^(CIBW_[A-Z0-9_]+)<<(\S+)$")


@dataclass(frozen=True, slots=True)
class CibwJob:
    """One job that runs cibuildwheel: its variables for each combination of its matrix (name -> (value,
    where)), and the runners it runs on."""

    workflow: str
    job: str
    variants: tuple[Mapping[str, tuple[str, str]], ...]
    runs_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Workflows:
    """What the project's workflows say to cibuildwheel."""

    jobs: tuple[CibwJob, ...] = ()
    #: (version, where) of every cibuildwheel pin, in file order
    pins: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def common(self) -> dict[str, tuple[str, str]]:
        """The variables every variant of every job sets to the same value (they apply to every identifier)."""
        variants = [v for job in self.jobs for v in job.variants]
        if not variants:
            return {}
        names = set.intersection(*(set(v) for v in variants))
        return {n: variants[0][n] for n in sorted(names) if len({v[n][0] for v in variants}) == 1}


def read_workflows(folder: Path) -> Workflows:
    """The ``.github/workflows/*.yml`` of ``folder`` (none: an empty answer)."""
    import yaml

    root = folder / ".github" / "workflows"
    if not root.is_dir():
        return Workflows()
    parsed: dict[str, Mapping[str, object]] = {}
    texts: dict[str, str] = {}
    notes: list[str] = []
    for path in sorted([*root.glob("*.yml"), *root.glob("*.yaml")]):
        rel = path.relative_to(folder).as_posix()
        try:
            texts[rel] = read_limited(path, _MAX).decode("utf-8")
            loaded = yaml.safe_load(texts[rel])
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            notes.append(f"{rel} is not read: {str(exc).splitlines()[0]}")
            continue
        if isinstance(loaded, dict):
            parsed[rel] = loaded
    reader = _Reader(parsed, texts, notes)
    return Workflows(tuple(reader.jobs()), tuple(reader.pins), tuple(notes))


@dataclass
class _Reader:
    files: Mapping[str, Mapping[str, object]]
    texts: Mapping[str, str]
    notes: list[str]
    pins: list[tuple[str, str]] = field(default_factory=list)

    def jobs(self) -> list[CibwJob]:
        out = []
        for rel, doc in self.files.items():
            jobs = doc.get("jobs")
            for name, job in jobs.items() if isinstance(jobs, dict) else []:
                if isinstance(job, dict):
                    found = self._job(rel, doc, str(name), job)
                    out += [found] if found is not None else []
        return out

    def _cibw_steps(self, rel: str, job: Mapping[str, object]) -> list[Mapping[str, object]]:
        steps = job.get("steps")
        found: list[Mapping[str, object]] = []
        for step in steps if isinstance(steps, list) else []:
            if not isinstance(step, dict):
                continue
            uses, run = str(step.get("uses", "")), str(step.get("run", ""))
            if _ACTION.match(uses) or re.search(r"(^|[\s/])cibuildwheel(\s|$)", run):
                self._pin(rel, uses, run)
                found.append(step)
        return found

    def _pin(self, rel: str, uses: str, run: str) -> None:
        m = _ACTION.match(uses)
        version = None
        if m:
            ref = _VERSION.match(m["ref"])
            comment = _PIN_COMMENT.search(self._raw_line(rel, uses))
            version = ref.group(1) if ref else comment["version"] if comment else None
        elif (pip := _PIP.search(run)) is not None:
            version = pip["version"]
        if version and (version, rel) not in self.pins:
            self.pins.append((version, rel))

    def _raw_line(self, rel: str, uses: str) -> str:
        """The source line of a ``uses:`` (YAML drops the ``# v4.2.0`` comment after a pinned commit)."""
        text = self.texts.get(rel, "")
        return next((line for line in text.splitlines() if uses in line), "")

    def _job(
        self, rel: str, doc: Mapping[str, object], name: str, job: Mapping[str, object]
    ) -> CibwJob | None:
        where = f"{rel} (job {name})"
        steps = self._cibw_steps(rel, job)
        blobs: dict[str, str] = {}
        uses = str(job.get("uses", ""))
        if not steps and uses.startswith("./"):
            called = self.files.get(uses.removeprefix("./"))
            if called is None or not any(self._cibw_steps(uses.removeprefix("./"), j) for j in _jobs(called)):
                return None
            doc = called  # the called workflow's own env applies; the caller hands variables in its inputs
            blobs = _github_env(job.get("with"))
        elif not steps:
            return None
        envs = [_env(doc.get("env")), _env(job.get("env"))]
        combos = _matrix(job.get("strategy"), where, self.notes)
        variants = []
        for combo in combos:
            context = {"matrix": combo, "inputs": _strings(job.get("with"))}
            variant: dict[str, tuple[str, str]] = {}
            for step in steps or [{}]:
                for source in [*envs, _env(step.get("env")) if isinstance(step, dict) else {}, blobs]:
                    for var, text in source.items():
                        value = self._value(text, context, f"{where}: {var}")
                        if value is not None:
                            variant[var] = (value, f"{where}: {var}")
            variants.append(variant)
        runs_on = tuple(_runs_on(job.get("runs-on"), combos))
        return CibwJob(rel, name, tuple(variants), runs_on)

    def _value(self, text: str, context: Mapping[str, object], where: str) -> str | None:
        try:
            return substitute(text, context)
        except Unknown as exc:
            note = f"{where} depends on {exc}, which shipwheel cannot know; not used"
            if note not in self.notes:
                self.notes.append(note)
            return None


def _jobs(doc: Mapping[str, object]) -> list[Mapping[str, object]]:
    jobs = doc.get("jobs")
    return [j for j in jobs.values() if isinstance(j, dict)] if isinstance(jobs, dict) else []


def _env(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): _text(v) for k, v in raw.items() if str(k).startswith("CIBW_")}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _strings(raw: object) -> dict[str, str]:
    return {str(k): _text(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _github_env(inputs: object) -> dict[str, str]:
    """``KEY=VALUE`` lines and ``KEY<<EOF`` blocks for ``$GITHUB_ENV`` in a reusable workflow's inputs."""
    out: dict[str, str] = {}
    for text in _strings(inputs).values():
        lines = iter(text.splitlines())
        for line in lines:
            m, h = _ENV_LINE.match(line.strip()), _HEREDOC.match(line.strip())
            if m:
                out[m[1]] = m[2]
            elif h:
                end = h[2]
                body = list(itertools.takewhile(lambda x: x.strip() != end, lines))  # noqa: B023
                out[h[1]] = " ".join(part.strip() for part in body if part.strip())
    return out


def _matrix(strategy: object, where: str, notes: list[str]) -> list[dict[str, str]]:
    """The combinations of a job's ``strategy.matrix`` (GitHub's product, ``exclude`` and ``include``)."""
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return [{}]
    axes = {str(k): v for k, v in matrix.items() if k not in {"include", "exclude"}}
    if any(not isinstance(v, list) for v in axes.values()):
        notes.append(f"{where}: its matrix is computed by an expression; read without it")
        return [{}]
    combos = [
        dict(zip(axes, (_text(v) for v in values), strict=True))
        for values in itertools.product(*axes.values())
    ]
    for rule in matrix.get("exclude") or []:
        if isinstance(rule, dict):
            combos = [c for c in combos if not all(c.get(str(k)) == _text(v) for k, v in rule.items())]
    for extra in matrix.get("include") or []:
        if not isinstance(extra, dict):
            continue
        entry = {str(k): _text(v) for k, v in extra.items()}
        matching = [c for c in combos if all(c.get(k) == v for k, v in entry.items() if k in axes)]
        for c in matching:
            c.update({k: v for k, v in entry.items() if k not in axes})
        if not matching:
            combos.append(entry)
    return combos or [{}]


def _runs_on(raw: object, combos: Sequence[Mapping[str, str]]) -> list[str]:
    labels: list[str] = []
    for combo in combos:
        for text in raw if isinstance(raw, list) else [raw]:
            try:
                labels.append(substitute(_text(text), {"matrix": combo}))
            except Unknown:
                continue
    return list(dict.fromkeys(labels))
