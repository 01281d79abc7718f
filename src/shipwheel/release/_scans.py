"""Source scans of the preflight: expired deprecations, and the API registry (NumPy's ``cversions.txt``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .. import _subprocess
from .._fs import read_text
from ..config import Config
from ..errors import ConfigError, ShipwheelError
from ._checks import CheckResult, failed, passed, skipped

__all__ = ["check_api_registry", "check_deprecations", "parse_registry", "scan_deprecations"]

_MAX_SCAN_BYTES = 2 << 20  # generated or vendored blobs are not where deprecation messages live


def scan_deprecations(
    root: Path, files: Sequence[str], patterns: Sequence[str], version: Version
) -> list[str]:
    """``path:line: text`` for every match of ``patterns`` whose ``version`` group is due by ``version``."""
    regexes = []
    for pattern in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"deprecation pattern {pattern!r} is not a valid regex: {exc}",
                hint="fix release.deprecation-patterns",
            ) from None
        if "version" not in regex.groupindex:
            raise ConfigError(
                f"deprecation pattern {pattern!r} has no named group 'version'",
                hint="write (?P<version>...) around the removal version",
            )
        regexes.append(regex)
    due = Version(version.base_version)
    found: list[str] = []
    for rel in files:
        path = root / rel
        try:
            text = read_text(path, _MAX_SCAN_BYTES)  # a FIFO, a device, a huge file: refused, never read
        except (OSError, UnicodeDecodeError):
            continue  # binary or unreadable: nothing to scan
        for regex in regexes:
            for match in regex.finditer(text):
                try:
                    removal = Version(match.group("version"))
                except InvalidVersion:
                    continue
                if removal <= due:
                    line = text.count("\n", 0, match.start()) + 1
                    snippet = " ".join(match.group(0).split())[:100]
                    found.append(f"{rel}:{line}: {snippet} (due by {removal})")
    return sorted(set(found), key=_natural)


def _natural(entry: str) -> tuple[str, int]:
    path, _, rest = entry.partition(":")
    number = rest.partition(":")[0]
    return path, int(number) if number.isdigit() else 0


def check_deprecations(config: Config, root: Path, tracked: Sequence[str], version: Version) -> CheckResult:
    """The ``deprecations-expired`` check over the tracked files under ``release.deprecation-paths``."""
    opts = config.release
    if not opts.deprecation_patterns:
        return skipped("deprecations-expired", "no release.deprecation-patterns configured")
    prefixes = tuple(p.strip("/") + "/" for p in opts.deprecation_paths if p.strip("/"))
    files = [f for f in tracked if not prefixes or f.startswith(prefixes)]
    found = scan_deprecations(root, files, opts.deprecation_patterns, version)
    if found:
        return failed("deprecations-expired", f"{len(found)} deprecation(s) due by {version}", tuple(found))
    return passed("deprecations-expired", f"nothing due by {version} in {len(files)} files")


def parse_registry(text: str) -> dict[int, str]:
    """API version -> hash from a registry in NumPy's ``cversions.txt`` format (``0x%08x = hash``, ``#``
    comments); a later line for the same version wins, as in NumPy's ``genapi.get_versions_hash``."""
    entries: dict[int, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        try:
            if not sep or not value.strip():
                raise ValueError(line)
            entries[int(key.strip(), 16)] = value.strip()
        except ValueError:
            raise ConfigError(
                f"line {number} of the API registry is not '0x%08x = hash': {raw.strip()!r}",
                hint="fix the line or comment it out with #",
            ) from None
    return entries


def _api_version(text: str) -> int:
    try:
        return int(text.strip().strip("'\""), 0)
    except ValueError:
        raise ConfigError(
            f"release.api-version {text!r} is not a number", hint="write it in hex (0x00000013) or decimal"
        ) from None


def check_api_registry(config: Config, root: Path) -> CheckResult:
    """The ``api-registry`` check: the hash ``api-command`` prints against the registry's line for
    ``api-version``; failing when the API changed but its version did not, with the line to add."""
    opts = config.release
    if not opts.api_command:
        return skipped("api-registry", "no release.api-command configured")
    if not opts.api_registry or not opts.api_version:
        return failed(
            "api-registry",
            "release.api-command is set without api-registry and api-version",
            fix="set release.api-registry (the cversions.txt file) and release.api-version",
        )
    declared = _api_version(opts.api_version)
    registry_path = root / opts.api_registry
    try:
        registry = parse_registry(read_text(registry_path, errors="replace"))
    except OSError as exc:
        return failed("api-registry", f"cannot read {opts.api_registry}: {exc.strerror}")
    try:
        out = _subprocess.run(
            opts.api_command, shell=True, cwd=root, timeout=600, what="api-command", max_output=1 << 20
        ).stdout
    except ShipwheelError as exc:
        tail = tuple(getattr(exc, "output", "").splitlines()[-10:])
        return failed(
            "api-registry", exc.message, tail, fix="fix release.api-command; it must print the API hash"
        )
    tokens = out.split()
    if not tokens:
        return failed("api-registry", "api-command printed nothing", fix="make it print the API hash")
    current = tokens[-1]
    recorded = registry.get(declared)
    newest = max(registry, default=declared - 1)
    if recorded == current:
        return passed("api-registry", f"API version 0x{declared:08x} has hash {current}, as recorded")
    if recorded is None:
        line = f"0x{declared:08x} = {current}"
        return failed(
            "api-registry",
            f"{opts.api_registry} has no line for API version 0x{declared:08x}",
            (f"add: {line}",),
            fix=f"add the line '{line}' to {opts.api_registry}",
        )
    nxt = max(newest, declared) + 1
    line = f"0x{nxt:08x} = {current}"
    return failed(
        "api-registry",
        f"the API hash changed ({current}) but API version 0x{declared:08x} records {recorded}",
        (f"add: {line}",),
        fix=f"bump the API version to 0x{nxt:08x} and add the line '{line}' to {opts.api_registry}",
    )
