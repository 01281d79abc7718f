"""The values ``shipwheel verify`` returns: problems with stable codes, per-file results, the report."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "CODES",
    "RELEASE_FIELDS",
    "Completeness",
    "FileResult",
    "GridCell",
    "Problem",
    "ProblemGroup",
    "Report",
    "Severity",
    "group_problems",
    "make_problem",
]

#: The core metadata fields every file of one release must agree on: they decide what an installer installs,
#: whichever file it picks. Others (the licence text a platform's wheel bundles, the summary) may differ.
RELEASE_FIELDS = ("name", "version", "requires-python", "dependencies", "extras")


class Severity(str, enum.Enum):
    """How bad a problem is: errors block a release, warnings fail it only with ``--strict``."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


E, W = Severity.ERROR, Severity.WARNING

#: Every problem code: its severity and how to fix it. Codes are stable: scripts and ``verify.ignore`` use them.
CODES: dict[str, tuple[Severity, str]] = {
    # names and the release as a whole
    "name-invalid": (E, "rename the file to {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl or {name}-{version}.tar.gz"),
    "name-not-normalized": (W, "build with a recent build backend; it writes the normalized name (lowercase, '_' for runs of -_.)"),
    "version-not-normalized": (W, "use the normalized form of the version in the filename (as packaging.version prints it)"),
    "sdist-name-pep625": (W, "rebuild the sdist with a backend that follows PEP 625: {normalized_name}-{version}.tar.gz"),
    "sdist-zip": (E, "build the sdist as .tar.gz (PyPI refuses .zip sdists since PEP 625)"),
    "release-multiple-projects": (E, "pass --project NAME or remove the other project's files from the folder"),
    "release-wrong-project": (E, "remove the file, or pass the right --project"),
    "release-multiple-versions": (E, "pass --version V or remove the files of the other versions"),
    "release-wrong-version": (E, "remove the file, or pass the right --version"),
    "release-multiple-sdists": (E, "keep one sdist: PyPI takes at most one per release"),
    "release-duplicate-file": (E, "keep one copy of the file"),
    "release-no-files": (E, "build the wheels and the sdist first, or point verify at the folder that holds them"),
    "version-local": (E, "drop the local part (+...) of the version: PyPI refuses local versions"),
    "file-unreadable": (E, "check the file's permissions, or that it is a regular file; build or fetch it again"),
    "file-too-large": (E, "make the file smaller or ask PyPI for a larger file size limit (then raise verify.max-file-size)"),
    "file-empty": (E, "rebuild the file: it is empty"),
    # archives
    "archive-invalid": (E, "rebuild the file: it is not a valid archive"),
    "archive-crc": (E, "rebuild the file: a member is corrupt (its CRC does not match)"),
    "archive-absolute-path": (E, "rebuild with relative member paths only"),
    "archive-path-traversal": (E, "rebuild without '..' in member paths"),
    "archive-link": (E, "replace links by regular files before building the archive"),
    "archive-special-file": (E, "remove devices, fifos and other special files from the archive"),
    "archive-duplicate": (E, "rebuild the archive so that each member name appears once"),
    "archive-compression-ratio": (E, "check the member: such a ratio is typical of a zip bomb (or raise verify.max-compression-ratio)"),
    "archive-too-large": (E, "the archive unpacks to more than verify.max-uncompressed-size; check its content"),
    "archive-encrypted": (E, "rebuild without encryption: installers cannot read encrypted members"),
    "archive-backslash": (E, "rebuild with '/' as the path separator in member names"),
    "archive-control-character": (E, "rename the file: a control character in a member name forges lines in RECORD, logs and terminals"),
    "archive-name-encoding": (E, "rebuild with UTF-8 member names: installers cannot tell what a name of other bytes means"),
    "archive-path-too-deep": (E, "flatten the folder tree: file systems and installers refuse paths that deep or that long"),
    # wheel contents
    "dist-info-missing": (E, "rebuild the wheel: it has no {name}-{version}.dist-info folder"),
    "dist-info-multiple": (E, "rebuild the wheel with exactly one .dist-info folder"),
    "dist-info-mismatch": (E, "rebuild the wheel: its .dist-info folder must be named after the file's project and version"),
    "record-missing": (E, "rebuild the wheel with a build backend that writes .dist-info/RECORD"),
    "record-invalid": (E, "rebuild the wheel: RECORD must be CSV rows path,algorithm=digest,size"),
    "record-hash-mismatch": (E, "rebuild the wheel: the file was changed after RECORD was written"),
    "record-size-mismatch": (E, "rebuild the wheel: the file was changed after RECORD was written"),
    "record-weak-hash": (E, "rebuild the wheel: RECORD must use sha256 or stronger (md5 and sha1 are refused)"),
    "record-no-hash": (E, "rebuild the wheel: every RECORD entry but RECORD itself needs a hash and a size"),
    "record-unlisted": (E, "rebuild the wheel: every file must be listed in RECORD (was a file added afterwards?)"),
    "record-missing-file": (E, "rebuild the wheel: RECORD lists a file the archive lacks"),
    "wheel-file-missing": (E, "rebuild the wheel: .dist-info/WHEEL is missing"),
    "wheel-file-invalid": (E, "rebuild the wheel: .dist-info/WHEEL needs Wheel-Version 1.x, Root-Is-Purelib and Tag lines"),
    "wheel-tags-mismatch": (E, "make the filename's tags and WHEEL's Tag lines the same (rename with `wheel tags` or rebuild)"),
    "wheel-build-mismatch": (E, "make the filename's build tag and WHEEL's Build line the same"),
    "wheel-purelib-mismatch": (E, "set Root-Is-Purelib: false for wheels with compiled code (your build backend does so for platform wheels)"),
    "wheel-binary-in-pure": (E, "a py3-none-any wheel must not hold compiled code: build platform wheels instead"),
    "wheel-no-binary": (W, "a platform wheel without compiled code: check that the extension was built, or build a pure wheel"),
    "wheel-data-unknown": (W, "use only purelib, platlib, scripts, headers and data under .data/"),
    # metadata
    "metadata-missing": (E, "rebuild: the metadata file (METADATA or PKG-INFO) is missing"),
    "metadata-invalid": (E, "fix the field in pyproject.toml ([project]) and rebuild"),
    "metadata-license-file": (W, "use Metadata-Version 2.4 for License-File (setuptools >= 77 does); twine drops the field on upload, other uploaders get a 400"),
    "metadata-name-mismatch": (E, "the metadata's Name must be the filename's project: rebuild, or rename the file"),
    "metadata-version-mismatch": (E, "the metadata's Version must be the filename's version: rebuild, or rename the file"),
    "readme-invalid": (E, "fix the README markup (PyPI would reject or mangle it); run `python -m readme_renderer README` to see where"),
    "readme-missing": (W, "add `readme = \"README.md\"` to [project] so that PyPI shows a description"),
    "readme-content-type-missing": (W, "set the readme's content type ([project] readme = \"README.md\" does it); PyPI assumes reStructuredText"),
    "module-version-mismatch": (W, "regenerate the version file from the release's version (or read it with importlib.metadata.version), then rebuild"),
    "grafted-library-licence": (W, "add the bundled library's licence to the wheel (license-files, or the file your before-all writes into the project) and rebuild"),
    "metadata-inconsistent": (W, "build every file from the same commit and configuration: these fields decide what installers install, and must not differ between the files of one release"),
    # platform
    "platform-tag-unsupported": (E, "repair the wheel with auditwheel (linux) or delocate (macOS) so it gets a tag PyPI accepts"),
    "entry-points-invalid": (E, "fix entry_points.txt (from [project.scripts] / [project.entry-points]): installers refuse a wheel whose entry points do not parse"),
    "elf-invalid": (W, "check the file: it looks like ELF but does not parse"),
    "binary-invalid": (W, "check the file: it looks like a Mach-O binary but does not parse"),
    "macho-arch-mismatch": (E, "build the binary for every architecture the tag names (universal2: x86_64 and arm64), or retag the wheel"),
    "macho-external-library": (E, "bundle the library into the wheel with delocate-wheel (it rewrites the path to @loader_path)"),
    "macho-min-version": (E, "retag the wheel with the macOS version the binaries need (delocate-wheel does), or set MACOSX_DEPLOYMENT_TARGET when building"),
    "pe-arch-mismatch": (E, "build the DLL for the machine the win tag names (win_amd64: AMD64, win32: x86, win_arm64: ARM64)"),
    "elf-arch-mismatch": (E, "the compiled code is for another machine than the platform tag says: rebuild for the right one"),
    "elf-libc-mismatch": (E, "a musllinux wheel links glibc (or the reverse): build it in the matching manylinux/musllinux image"),
    "elf-external-library": (E, "bundle the library with `auditwheel repair`, or link it statically"),
    "elf-tag-unsatisfied": (E, "retag the wheel with the tag it satisfies, or rebuild it in an older manylinux/musllinux image"),
    "elf-blacklisted-symbol": (E, "do not use the listed symbols of that system library (the policy forbids them); bundle your own copy"),
    "elf-audit-skipped": (W, "the manylinux/musllinux audit did not run: install auditwheel (a dependency of shipwheel) in the environment that runs verify"),
    "elf-isa-extension": (E, "build for the baseline instruction set of the architecture (for example x86-64 without -march=x86-64-v3)"),
    "abi3-violation": (E, "use only the limited API (define Py_LIMITED_API) or build version-specific wheels instead of abi3"),
    "abi3-too-new": (E, "raise the cpXY tag of the abi3 wheel to the Python version that added the symbol, or avoid the symbol"),
    # sdist
    "sdist-top-dir": (E, "rebuild the sdist: every member must sit in one {name}-{version}/ folder"),
    "sdist-pkg-info-missing": (E, "rebuild the sdist with a build backend (python -m build --sdist) so it has PKG-INFO"),
    "sdist-pyproject-missing": (W, "add a pyproject.toml with a [build-system] table so that installers build it the standard way"),
    "sdist-pyproject-invalid": (E, "fix the pyproject.toml in the sdist: it is not valid TOML"),
    # completeness
    "matrix-missing": (E, "build and add the wheel for this identifier, or drop it from the matrix (skip = ...)"),
    "matrix-unexpected": (W, "add the identifier to the matrix, or leave the wheel out of the release"),
    "matrix-duplicate": (E, "keep one wheel per tag set: two files carry the same tags"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one file (or with the release as a whole: ``file`` is then ``""``).

    ``subject`` names what a release-wide problem is about when that is one item of a set (the identifier of a
    missing wheel), written inside ``message`` too: problems that differ only in their subject are one group."""

    code: str
    severity: Severity
    file: str
    message: str
    fix: str
    subject: str = ""

    def to_json(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": self.file,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        }


def make_problem(code: str, file: str, message: str, fix: str | None = None, *, subject: str = "") -> Problem:
    """A :class:`Problem` with the severity and fix of ``code`` from :data:`CODES`."""
    severity, default_fix = CODES[code]
    return Problem(code, severity, file, " ".join(message.split()), fix or default_fix, subject)


@dataclass(slots=True)
class FileResult:
    """What verify learned about one file, and the problems it found in it."""

    filename: str
    path: str
    size: int = 0
    sha256: str = ""
    kind: str = "unknown"  # wheel, sdist or unknown
    project: str | None = None
    version: str | None = None
    tags: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    members: int = 0
    uncompressed_size: int = 0
    requires_python: str | None = None
    metadata_version: str | None = None
    #: The metadata fields that must agree across the files of a release (:data:`RELEASE_FIELDS`), normalized:
    #: only those the file fixes (an sdist leaves fields marked ``Dynamic``, or all but name and version before
    #: Metadata-Version 2.2, to the build).
    release_fields: dict[str, str] = field(default_factory=dict)
    #: For Linux wheels: the most compatible manylinux/musllinux tag the compiled code satisfies.
    derived_platform: str | None = None
    elf_files: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: The result was recorded by an earlier verify of the same bytes with the same settings (not checked again).
    verified_earlier: bool = False

    def add(self, code: str, message: str, fix: str | None = None) -> None:
        """Record a problem of this file."""
        self.problems.append(make_problem(code, self.filename, message, fix))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (problems are listed in the report, not here)."""
        data = asdict(self)
        data.pop("problems")
        data.pop("release_fields")
        data["errors"] = sum(p.severity is Severity.ERROR for p in self.problems)
        data["warnings"] = sum(p.severity is Severity.WARNING for p in self.problems)
        return data


@dataclass(slots=True)
class Completeness:
    """The expected identifiers against those the files cover."""

    status: str  # "checked" or "skipped"
    source: str  # "config", "files" or "" when skipped
    reason: str = ""
    expected: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class GridCell:
    """One cell of the matrix grid: ``ok``, ``problem``, ``missing``, ``extra`` or ``none`` (not expected)."""

    python: str
    platform: str
    state: str
    files: tuple[str, ...] = ()


@dataclass(slots=True)
class Report:
    """The result of :func:`~shipwheel.verify.verify_paths`."""

    project: str | None
    version: str | None
    files: list[FileResult]
    problems: list[Problem]
    completeness: Completeness
    ignored: tuple[str, ...] = ()
    elapsed: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ERROR."""
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of severity WARNING."""
        return [p for p in self.problems if p.severity is Severity.WARNING]

    def ok(self, strict: bool = False) -> bool:
        """No errors (and, when ``strict``, no warnings either)."""
        return not self.errors and not (strict and self.warnings)

    @property
    def groups(self) -> list[ProblemGroup]:
        """The problems grouped by code and cause (:func:`group_problems`), errors first."""
        return group_problems(self.problems)

    def problems_of(self, filename: str) -> list[Problem]:
        """The problems of one file."""
        return [p for p in self.problems if p.file == filename]


@dataclass(frozen=True, slots=True)
class ProblemGroup:
    """The problems of one code and one cause (the same message and fix) across the files that have it: a
    release's 40 wheels with the same missing field are one group, shown once with the files listed."""

    code: str
    severity: Severity
    message: str
    fix: str
    files: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "fix": self.fix,
            "files": list(self.files),
        }


def group_problems(problems: Iterable[Problem]) -> list[ProblemGroup]:
    """``problems`` grouped by code and cause, in the order of each group's first problem (errors first when
    ``problems`` are sorted); a release-wide problem (no file) has an empty ``files``, except when it has a
    ``subject``: release-wide problems that differ only in their subject are one group listing the subjects (the
    identifiers of the missing wheels) as its ``files``."""
    groups: dict[tuple[Severity, str, str, str], list[str]] = {}
    for p in problems:
        key = (p.severity, p.code, p.message, p.fix)
        item = p.file
        if not p.file and p.subject:
            key = (p.severity, p.code, p.message.replace(p.subject, _SUBJECTS, 1), p.fix)
            item = p.subject
        files = groups.setdefault(key, [])
        if item and item not in files:
            files.append(item)
    return [
        ProblemGroup(code, sev, message, fix, tuple(files))
        for (sev, code, message, fix), files in groups.items()
    ]


#: what a group's message says in place of the subjects it lists
_SUBJECTS = "these identifiers"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Errors first, then by file and code."""
    return sorted(problems, key=lambda p: (p.severity is not Severity.ERROR, p.file, p.code, p.message))
