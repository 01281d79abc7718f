"""The project's own GitHub workflows as a configuration source: the ``CIBW_*`` variables its cibuildwheel jobs
set, and the cibuildwheel version they pin.

A job runs cibuildwheel when a step uses ``pypa/cibuildwheel@REF`` or runs ``cibuildwheel``, or when it calls a
reusable workflow of the repository that does. Its variables are the workflow's ``env``, the job's and the
step's, and ``KEY=VALUE`` lines a caller hands to such a reusable workflow for ``$GITHUB_ENV`` (aio-libs'
``environment-variables`` input). Each combination of the job's ``strategy.matrix`` is one variant; ``${{ }}``
expressions are evaluated with the matrix values and the context of a release (a tag push), and a variable whose
expression needs anything else is left out with a note. The version pinned is the ``@vX.Y.Z`` of the action (or
the ``# vX.Y.Z`` comment after a commit hash) or a ``cibuildwheel==X.Y.Z`` requirement.

A project that also ships a pure wheel (``py3-none-any``, multidict's) builds it in a job of its own that runs no
cibuildwheel: a step builds a wheel (``python -m build`` without ``--sdist``, ``pip wheel``, ``uv build``) with a
variable that turns the extensions off (``MULTIDICT_NO_EXTENSIONS: Y``: a name with ``NO_EXTENSIONS``,
``PURE`` ...). That job's environment, the job's ``env`` then the step's, is :attr:`Workflows.pure`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .._fs import read_limited
from ._expressions import Unknown, substitute

__all__ = ["CibwJob", "CibwVariant", "PureJob", "Workflows", "read_workflows"]

_MAX = 1024 * 1024
_ACTION = re.compile(r"^pypa/cibuildwheel@(?P<ref>\S+)")
_PIN_COMMENT = re.compile(r"pypa/cibuildwheel@\S+\s*#\s*v?(?P<version>\d+\.\d+(?:\.\d+)?)")
_PIP = re.compile(r"cibuildwheel\s*==\s*(?P<version>\d+\.\d+(?:\.\d+)?)")
_VERSION = re.compile(r"^v?(\d+\.\d+(?:\.\d+)?)$")
_ENV_LINE = re.compile(r"^(CIBW_[A-Z0-9_]+)=(.*)$")
_HEREDOC = re.compile(r"^(CIBW_[A-Z0-9_]+)<<(\S+)$")
#: A command that builds a wheel of the checkout or an sdist (its arguments follow, up to the command's end).
_WHEEL_BUILD = re.compile(
    r"(?:\bpython[\d.]*\s+-[A-Za-z]*m\s*build\b|\bpyproject-build\b|\buv\s+build\b|\bpip\s+wheel\b)"
    r"(?P<args>[^\n;&|]*)"
)
_OFF = frozenset({"", "0", "false", "no", "off", "n"})
#: A variable that turns a project's extensions off (MULTIDICT_NO_EXTENSIONS, MSGPACK_PUREPYTHON ...).
_PURE_SWITCH = re.compile(
    r"(?:^|_)(?:(?:NO|DISABLE|SKIP|WITHOUT)_(?:C_)?(?:EXT|EXTS|EXTENSION|EXTENSIONS|SPEEDUPS|CYTHON|COMPILE)"
    r"|PURE(?:_?PYTHON)?)(?:_|$)"
)


@dataclass(frozen=True, slots=True)
class CibwVariant:
    """One combination of a cibuildwheel job's matrix: the ``CIBW_*`` its cibuildwheel step sees (name ->
    (value, where)) and the runner label it runs on (None: an expression shipwheel cannot evaluate)."""

    env: Mapping[str, tuple[str, str]]
    runner: str | None = None


@dataclass(frozen=True, slots=True)
class CibwJob:
    """One job that runs cibuildwheel (or calls a reusable workflow that does), once per matrix combination."""

    workflow: str
    job: str
    variants: tuple[CibwVariant, ...]


@dataclass(frozen=True, slots=True)
class PureJob:
    """The job that builds the project's pure wheel: the variables its build step sees (name -> value, as a
    release sees them) and where it is."""

    workflow: str
    job: str
    env: Mapping[str, str]

    @property
    def origin(self) -> str:
        """``.github/workflows/ci-cd.yml (job build-pure-python-dists)``."""
        return f"{self.workflow} (job {self.job})"


@dataclass(frozen=True, slots=True)
class Workflows:
    """What the project's workflows say to cibuildwheel, and the job of its pure wheel if it ships one."""

    jobs: tuple[CibwJob, ...] = ()
    #: (version, where) of every cibuildwheel pin, in file order
    pins: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    pure: PureJob | None = None

    def common(self) -> dict[str, tuple[str, str]]:
        """The variables every variant of every job sets to the same value (they apply to every identifier)."""
        variants = [v.env for job in self.jobs for v in job.variants]
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
            text = texts[rel]
            if (
                "cibuildwheel" not in text
                and "./.github/workflows/" not in text
                and not _WHEEL_BUILD.search(text)
            ):
                continue  # no cibuildwheel job, calls none and builds no wheel
            loaded = yaml.load(texts[rel], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            notes.append(f"{rel} is not read: {str(exc).splitlines()[0]}")
            continue
        if isinstance(loaded, dict):
            parsed[rel] = loaded
    reader = _Reader(parsed, texts, notes)
    jobs = tuple(reader.jobs())
    return Workflows(jobs, tuple(reader.pins), tuple(notes), reader.pure())


@dataclass
class _Reader:
    files: Mapping[str, Mapping[str, object]]
    texts: Mapping[str, str]
    notes: list[str]
    pins: list[tuple[str, str]] = field(default_factory=list)

    def jobs(self) -> list[CibwJob]:
        out = []
        for rel, doc in self.files.items():
            if _called_only(doc):
                continue  # its jobs run where a workflow calls it, with the caller's inputs
            jobs = doc.get("jobs")
            for name, job in jobs.items() if isinstance(jobs, dict) else []:
                if isinstance(job, dict):
                    found = self._job(rel, doc, str(name), job)
                    out += [found] if found is not None else []
        return out

    def pure(self) -> PureJob | None:
        """The first job, in file order, whose step builds a wheel with the extensions turned off."""
        for rel, doc in self.files.items():
            if _called_only(doc):
                continue
            jobs = doc.get("jobs")
            for name, job in jobs.items() if isinstance(jobs, dict) else []:
                if not isinstance(job, dict) or any(_is_cibuildwheel(s) for s in _steps(job)):
                    continue
                for step in _steps(job):
                    if not _builds_wheel(str(step.get("run", ""))):
                        continue
                    where = f"{rel} (job {name})"
                    raw = {**_all_env(job.get("env")), **_all_env(step.get("env"))}
                    if not any(_PURE_SWITCH.search(var.upper()) for var in raw):
                        continue
                    env = {}
                    for var, text in raw.items():
                        value = self._value(text, {"matrix": {}, "inputs": {}}, f"{where}: {var}")
                        if value is not None:
                            env[var] = value
                    # its switch is known and on (a matrix value of a test job reads as empty here)
                    if any(
                        _PURE_SWITCH.search(k.upper()) and v.strip().lower() not in _OFF
                        for k, v in env.items()
                    ):
                        return PureJob(rel, str(name), MappingProxyType(env))
        return None

    def _cibw_steps(self, rel: str, job: Mapping[str, object]) -> list[Mapping[str, object]]:
        """The steps that run cibuildwheel for Linux, macOS or Windows wheels (Pyodide, iOS and Android jobs
        build nothing shipwheel ships), their pins noted."""
        doc = self.files.get(rel, {})
        found = [
            step for step in _steps(job) if _is_cibuildwheel(step) and not _other_platform(doc, job, step)
        ]
        for step in found:
            self._pin(rel, str(step.get("uses", "")), str(step.get("run", "")))
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
        uses = str(job.get("uses", ""))
        called_rel = uses.removeprefix("./") if uses.startswith("./") else None
        called = self.files.get(called_rel) if called_rel else None
        if called_rel is None:
            runners = [(doc, job)] if self._cibw_steps(rel, job) else []
        else:
            runners = (
                [(called, j) for j in _jobs(called) if self._cibw_steps(called_rel, j)] if called else []
            )
        if not runners:
            return None
        variants = []
        for combo in _matrix(job.get("strategy"), where, self.notes):
            inputs: dict[str, object] = {}
            if called is not None:
                given = {k: _try(v, {"matrix": combo}) for k, v in _strings(job.get("with")).items()}
                inputs = {**_input_defaults(called), **{k: v for k, v in given.items() if v is not None}}
            blobs = self._github_env(job.get("with"), {"matrix": combo}, where) if called is not None else {}
            for run_doc, run_job in runners:
                context = {"matrix": combo if called is None else {}, "inputs": inputs}
                variant = self._variant(where, run_doc, run_job, context, blobs)
                if variant.env.get("CIBW_PLATFORM", ("",))[0].strip() not in _OTHER_PLATFORMS:
                    variants.append(variant)  # a matrix entry for Pyodide, iOS or Android ships nothing here
        return CibwJob(rel, name, tuple(variants))

    def _variant(
        self,
        where: str,
        doc: Mapping[str, object],
        job: Mapping[str, object],
        context: Mapping[str, object],
        blobs: Mapping[str, str],
    ) -> CibwVariant:
        """One combination: the variables its cibuildwheel step sees, and the runner it runs on."""
        env: dict[str, tuple[str, str]] = {}
        steps = [_env(step.get("env")) for step in _steps(job) if _is_cibuildwheel(step)]
        workflow = where.split(" (job ", 1)[0]
        sources = [
            (_env(doc.get("env")), workflow),
            (_env(job.get("env")), where),
            (steps[0] if steps else {}, where),
        ]
        for source, place in [*sources, (blobs, f"{where} input")]:
            for var, text in source.items():
                done = source is blobs  # GitHub substituted the caller's inputs already
                value = text if done else self._value(text, context, f"{place}: {var}")
                if value is not None:
                    env[var] = (value, f"{place}: {var}")
        runs_on = job.get("runs-on")
        runner = _try(runs_on, context) if isinstance(runs_on, str) else None
        return CibwVariant(MappingProxyType(env), runner)

    def _github_env(self, inputs: object, context: Mapping[str, object], where: str) -> dict[str, str]:
        """``KEY=VALUE`` lines and ``KEY<<EOF`` blocks for ``$GITHUB_ENV`` in a reusable workflow's inputs,
        after GitHub substituted the expressions in them."""
        out: dict[str, str] = {}
        for name, text in _strings(inputs).items():
            if "CIBW_" not in text:
                continue
            value = self._value(text, context, f"{where}: input {name}")
            out |= _github_env_lines(value) if value is not None else {}
        return out

    def _value(self, text: str, context: Mapping[str, object], where: str) -> str | None:
        try:
            return substitute(text, context)
        except Unknown as exc:
            note = f"{where} depends on {exc}, which shipwheel cannot know; not used"
            if note not in self.notes:
                self.notes.append(note)
            return None


def _try(text: str, context: Mapping[str, object]) -> str | None:
    try:
        return substitute(text, context)
    except Unknown:
        return None


def _steps(job: Mapping[str, object]) -> list[Mapping[str, object]]:
    steps = job.get("steps")
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


def _builds_wheel(run: str) -> bool:
    """Whether a ``run`` builds a wheel: a build command that is not told to make the sdist only."""
    for m in _WHEEL_BUILD.finditer(run):
        args = m["args"].split()
        sdist_only = ("--sdist" in args or "-s" in args) and not ("--wheel" in args or "-w" in args)
        if "pip" in m.group(0) or not sdist_only:
            return True
    return False


def _all_env(raw: object) -> dict[str, str]:
    return {str(k): _text(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _is_cibuildwheel(step: Mapping[str, object]) -> bool:
    uses, run = str(step.get("uses", "")), str(step.get("run", ""))
    return bool(_ACTION.match(uses) or re.search(r"(^|[\s/])cibuildwheel(\s|$)", run))


_OTHER_PLATFORMS = ("pyodide", "ios", "android")


def _other_platform(doc: Mapping[str, object], job: Mapping[str, object], step: Mapping[str, object]) -> bool:
    """Whether a cibuildwheel step builds for Pyodide, iOS or Android (``CIBW_PLATFORM``, ``--platform``)."""
    others = _OTHER_PLATFORMS
    platform = {**_env(doc.get("env")), **_env(job.get("env")), **_env(step.get("env"))}.get(
        "CIBW_PLATFORM", ""
    )
    run = str(step.get("run", ""))
    return platform.strip() in others or any(
        f"--platform {o}" in run or f"--platform={o}" in run for o in others
    )


def _input_defaults(doc: Mapping[str, object]) -> dict[str, object]:
    """The defaults of a reusable workflow's ``on.workflow_call.inputs``."""
    on = _on(doc)
    call = on.get("workflow_call") if isinstance(on, dict) else None
    inputs = call.get("inputs") if isinstance(call, dict) else None
    if not isinstance(inputs, dict):
        return {}
    return {
        str(k): _text(v.get("default")) for k, v in inputs.items() if isinstance(v, dict) and "default" in v
    }


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


def _on(doc: Mapping[str, object]) -> object:
    """A workflow's triggers (YAML 1.1 reads a bare ``on`` key as ``true``)."""
    return next((value for key, value in doc.items() if key in ("on", True)), None)


def _called_only(doc: Mapping[str, object]) -> bool:
    """Whether a workflow runs only when another calls it (``on: workflow_call``)."""
    on = _on(doc)
    triggers = [on] if isinstance(on, str) else list(on) if isinstance(on, list | dict) else []
    return triggers == ["workflow_call"]


def _github_env_lines(text: str) -> dict[str, str]:
    """The ``CIBW_*`` of ``KEY=VALUE`` lines and ``KEY<<EOF`` blocks (the ``$GITHUB_ENV`` file format)."""
    out: dict[str, str] = {}
    if True:
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


def _matrix(strategy: object, where: str, notes: list[str]) -> list[dict[str, object]]:
    """The combinations of a job's ``strategy.matrix`` (GitHub's product, ``exclude`` and ``include``); values
    that are objects stay objects (``matrix.cibw.build``)."""
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return [{}]
    axes = {str(k): v for k, v in matrix.items() if k not in {"include", "exclude"}}
    if any(not isinstance(v, list) for v in axes.values()):
        notes.append(f"{where}: its matrix is computed by an expression; read without it")
        return [{}]
    combos: list[dict[str, object]] = (
        [
            dict(zip(axes, (_value_of(v) for v in values), strict=True))
            for values in itertools.product(*axes.values())
        ]
        if axes
        else []  # an include-only matrix: each entry is a job of its own
    )
    for rule in matrix.get("exclude") or []:
        if isinstance(rule, dict):
            combos = [
                c for c in combos if not all(_covers(c.get(str(k)), _value_of(v)) for k, v in rule.items())
            ]
    original = [dict(c) for c in combos]  # an include never changes these; added values it may replace
    for extra in matrix.get("include") or []:
        if not isinstance(extra, dict):
            continue
        entry = {str(k): _value_of(v) for k, v in extra.items()}
        # added to every original combination whose original values it keeps; else a combination of its own
        matching = [
            i for i, first in enumerate(original) if all(first.get(k, v) == v for k, v in entry.items())
        ]
        for i in matching:
            combos[i].update(entry)
        if not matching:
            combos.append(entry)
    return combos or [{}]


def _value_of(value: object) -> object:
    """A matrix value as an expression sees it: objects stay objects, scalars become text."""
    if isinstance(value, dict):
        return {str(k): _value_of(v) for k, v in value.items()}
    return _text(value)


def _covers(value: object, rule: object) -> bool:
    """Whether an ``exclude`` rule's value matches a combination's (an object rule matches by its keys)."""
    if isinstance(rule, dict) and isinstance(value, dict):
        return all(_covers(value.get(k), v) for k, v in rule.items())
    return value == rule
