"""Core metadata (METADATA, PKG-INFO): parse as PyPI does, report every problem at once, render the README."""

from __future__ import annotations

import contextlib
import functools
import io
from dataclasses import dataclass

from packaging.metadata import ExceptionGroup, InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ._model import RELEASE_FIELDS, FileResult

__all__ = ["MetadataSummary", "check_metadata", "release_fields", "render_readme"]

#: Core metadata field names (as ``Dynamic`` lists them, lowercase) behind each of :data:`RELEASE_FIELDS`.
_DYNAMIC_NAMES = {
    "requires-python": "requires-python",
    "dependencies": "requires-dist",
    "extras": "provides-extra",
}


@dataclass(frozen=True, slots=True)
class MetadataSummary:
    """What the other checks need from a metadata file."""

    name: str | None
    version: str | None
    requires_python: str | None
    metadata_version: str | None


def _flatten(group: BaseException) -> list[BaseException]:
    if isinstance(group, ExceptionGroup):
        out: list[BaseException] = []
        for exc in group.exceptions:
            out.extend(_flatten(exc))
        return out
    return [group]


@functools.lru_cache(maxsize=32)
def render_readme(text: str, content_type: str) -> str | None:
    """``None`` when the README renders as PyPI would render it, else why it does not (first lines).

    Uses readme_renderer, as twine check and PyPI do. Cached: every wheel of a release carries the same README.
    """
    import readme_renderer.markdown
    import readme_renderer.rst
    import readme_renderer.txt

    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    if kind == "text/markdown":
        variant = "GFM"
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "variant" and value.strip():
                variant = value.strip()
        rendered = readme_renderer.markdown.render(text, variant=variant)
        return None if rendered is not None else f"markdown variant {variant!r} is not supported by PyPI"
    if kind == "text/plain":
        return None if readme_renderer.txt.render(text) is not None else "the text does not render"
    if kind in {"text/x-rst", ""}:
        stream = io.StringIO()
        if readme_renderer.rst.render(text, stream=stream) is not None:
            return None
        lines = [line for line in stream.getvalue().splitlines() if line.strip()]
        return "; ".join(lines[:3]) or "reStructuredText does not render"
    return f"content type {kind!r} is not one PyPI renders (text/markdown, text/x-rst, text/plain)"


def check_metadata(
    content: bytes, result: FileResult, where: str, dist_name: str, dist_version: Version
) -> MetadataSummary:
    """Check one METADATA or PKG-INFO file (``where`` names it in messages) against the filename's name and version.

    Every field problem is reported, not just the first, the way PyPI validates uploads (packaging's
    ``Metadata.from_email(validate=True)``).
    """
    raw, _unparsed = parse_email(content)
    name = raw.get("name")
    version = raw.get("version")
    requires_python = raw.get("requires_python")
    metadata_version = raw.get("metadata_version")
    summary = MetadataSummary(name, version, requires_python, metadata_version)
    result.metadata_version = metadata_version
    result.requires_python = requires_python
    try:
        Metadata.from_email(content, validate=True)
    except ExceptionGroup as group:
        for exc in _flatten(group):
            field = getattr(exc, "field", "") if isinstance(exc, InvalidMetadata) else ""
            label = f"field {field!r}: " if field else ""
            # Older setuptools write License-File under Metadata-Version 2.1/2.2; twine leaves it out of the
            # upload (PyPI would answer 400), so it is a warning rather than a reason to stop the release.
            code = (
                "metadata-license-file"
                if field in {"license-file", "license_files"} and "introduced in" in str(exc)
                else "metadata-invalid"
            )
            result.add(code, f"{where}: {label}{exc}")
    except (InvalidMetadata, ValueError) as exc:
        result.add("metadata-invalid", f"{where}: {exc}")
    if name is not None and canonicalize_name(name) != dist_name:
        result.add("metadata-name-mismatch", f"{where} says Name {name!r}, the filename says {dist_name!r}")
    if version is not None:
        try:
            same = Version(version) == dist_version
        except InvalidVersion:
            same = True  # already reported as metadata-invalid
        if not same:
            result.add(
                "metadata-version-mismatch",
                f"{where} says Version {version!r}, the filename says {dist_version}",
            )
    description = raw.get("description")
    content_type = raw.get("description_content_type")
    if not description or not description.strip():
        result.add("readme-missing", f"{where} has no description (README): PyPI will show an empty page")
    else:
        if not content_type:
            result.add("readme-content-type-missing", f"{where} has no Description-Content-Type")
        why = render_readme(description, content_type or "text/x-rst")
        if why is not None:
            result.add("readme-invalid", f"{where}: the README does not render on PyPI: {why}")
    result.release_fields = release_fields(raw, is_sdist=result.kind == "sdist")
    return summary


def _requirement(text: str) -> str:
    try:
        return str(Requirement(text))
    except InvalidRequirement:  # reported as metadata-invalid; compared as written
        return " ".join(text.split())


def _specifiers(text: str) -> str:
    try:
        return str(SpecifierSet(text))
    except InvalidSpecifier:
        return " ".join(text.split())


def release_fields(raw: RawMetadata, *, is_sdist: bool) -> dict[str, str]:
    """The fields of :data:`RELEASE_FIELDS` that this metadata fixes, normalized so that two files that mean the
    same compare equal (``>=3.10,<4`` and ``<4, >=3.10``; requirements and extras in any order or spelling).

    An sdist fixes a field only from Metadata-Version 2.2 on and when the field is not listed in ``Dynamic``
    (PEP 643): before that, or for a dynamic field, the build decides it and a wheel may differ.
    """
    version = raw.get("version")
    with contextlib.suppress(InvalidVersion):  # an invalid version is reported as metadata-invalid
        version = str(Version(version)) if version else version
    values = {
        "name": canonicalize_name(raw.get("name") or ""),
        "version": version or "",
        "requires-python": _specifiers(raw.get("requires_python") or ""),
        "dependencies": "\n".join(sorted({_requirement(r) for r in raw.get("requires_dist") or []})),
        "extras": "\n".join(sorted({canonicalize_name(e) for e in raw.get("provides_extra") or []})),
    }
    if not is_sdist:
        return values
    try:
        static = Version(raw.get("metadata_version") or "0") >= Version("2.2")
    except InvalidVersion:
        static = False
    dynamic = {d.strip().lower() for d in raw.get("dynamic") or []}
    return {
        key: values[key]
        for key in RELEASE_FIELDS
        if key in ("name", "version") or (static and _DYNAMIC_NAMES[key] not in dynamic)
    }
