"""shipwheel's build matrix and build steps as a cibuildwheel configuration, and the runners that build it.

The configuration is emitted as ``CIBW_*`` variables (cibuildwheel's environment layer, above any
``[tool.cibuildwheel]`` table the sdist carries). ``CIBW_BUILD`` lists the exact identifiers of
``shipwheel matrix`` rather than re-deriving them from the selectors: cibuildwheel's own universe of versions
differs (it knows cp315, it dropped cp38 and cp313t), and an explicit list is what makes
``cibuildwheel --print-build-identifiers`` equal ``shipwheel matrix`` whatever either tool adds later.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config import BuildOptions
from ..errors import ConfigError
from ..matrix import Identifier
from ._pins import CIBUILDWHEEL_PYTHONS, PINS

__all__ = ["PREFIX", "Runner", "cibuildwheel_environment", "runners_for"]

#: Where ``{prefix}`` (shipwheel's native prefix, built by before-all) lives on each cibuildwheel platform.
#: On Linux it is inside the build container.
PREFIX: Mapping[str, str] = {
    "linux": "/tmp/shipwheel-prefix",
    "macos": "/tmp/shipwheel-prefix",
    "windows": "C:/shipwheel-prefix",
}


@dataclass(frozen=True, slots=True)
class Runner:
    """One wheel job: a native GitHub-hosted runner and the cibuildwheel archs it builds."""

    name: str
    image: str
    platform: str
    archs: tuple[str, ...]


# (job name, runner image, cibuildwheel platform); each builds its own machine's arch natively.
_RUNNERS: tuple[tuple[str, str, str], ...] = (
    ("linux-x86_64", "ubuntu-latest", "linux"),
    ("linux-aarch64", "ubuntu-24.04-arm", "linux"),
    # GitHub retired macos-13, the last Intel image of the plain names; macos-15-intel replaces it.
    ("macos-x86_64", "macos-15-intel", "macos"),
    ("macos-arm64", "macos-14", "macos"),
    ("windows-amd64", "windows-latest", "windows"),
    ("windows-arm64", "windows-11-arm", "windows"),
)

# identifier platform -> (job name, cibuildwheel arch). i686, armv7l, universal2 and win32 run natively on
# their 64-bit neighbour; ppc64le, s390x and riscv64 have no GitHub-hosted runner.
_PLATFORM_JOB: Mapping[str, tuple[str, str]] = {
    "manylinux_x86_64": ("linux-x86_64", "x86_64"),
    "musllinux_x86_64": ("linux-x86_64", "x86_64"),
    "manylinux_i686": ("linux-x86_64", "i686"),
    "musllinux_i686": ("linux-x86_64", "i686"),
    "manylinux_aarch64": ("linux-aarch64", "aarch64"),
    "musllinux_aarch64": ("linux-aarch64", "aarch64"),
    "manylinux_armv7l": ("linux-aarch64", "armv7l"),
    "musllinux_armv7l": ("linux-aarch64", "armv7l"),
    "macosx_x86_64": ("macos-x86_64", "x86_64"),
    "macosx_arm64": ("macos-arm64", "arm64"),
    "macosx_universal2": ("macos-arm64", "universal2"),
    "win_amd64": ("windows-amd64", "AMD64"),
    "win32": ("windows-amd64", "x86"),
    "win_arm64": ("windows-arm64", "ARM64"),
}


def runners_for(identifiers: Sequence[Identifier]) -> list[Runner]:
    """The wheel jobs ``identifiers`` need, in a fixed order; raise :class:`ConfigError` for identifiers no
    hosted runner or no pinned cibuildwheel can build."""
    version = PINS["cibuildwheel"].version
    archs: dict[str, list[str]] = {}
    for ident in identifiers:
        if ident.python not in CIBUILDWHEEL_PYTHONS:
            raise ConfigError(
                f"cibuildwheel {version} (the version the workflow pins) cannot build {ident}",
                hint=f'skip it in [tool.shipwheel] (skip = "{ident.python}-*") or raise requires-python',
            )
        if ident.platform not in _PLATFORM_JOB:
            raise ConfigError(
                f"no GitHub-hosted runner builds {ident.platform} natively",
                hint=f"remove {ident.platform} from platforms, or build it with shipwheel build elsewhere",
            )
        job, arch = _PLATFORM_JOB[ident.platform]
        if arch not in archs.setdefault(job, []):
            archs[job].append(arch)
    return [
        Runner(name, image, platform, tuple(archs[name]))
        for name, image, platform in _RUNNERS
        if name in archs
    ]


def _check(key: str, value: str) -> str:
    # GitHub evaluates ${{ }} everywhere in a workflow, env values included, and YAML has no escape for it.
    if "${{" in value:
        raise ConfigError(
            f"{key} contains '${{{{', which GitHub Actions would evaluate as an expression",
            hint="write the value without '${{' (an environment variable is read as $NAME)",
        )
    return value


def _expand(command: str, platform: str) -> str:
    # shipwheel's placeholders in cibuildwheel's terms: {project} is the same; {python} is the build
    # interpreter, first on PATH inside cibuildwheel's build environment; {prefix} is fixed per platform.
    return command.replace("{prefix}", PREFIX[platform]).replace("{python}", "python")


def _prefix_env(platform: str) -> dict[str, str]:
    prefix = PREFIX[platform]
    env = {"PKG_CONFIG_PATH": f"{prefix}/lib/pkgconfig", "CMAKE_PREFIX_PATH": prefix}
    if platform != "windows":
        env.update({"CPATH": f"{prefix}/include", "LIBRARY_PATH": f"{prefix}/lib"})
        env["LD_LIBRARY_PATH" if platform == "linux" else "DYLD_LIBRARY_PATH"] = f"{prefix}/lib"
    return env


def _per_platform(name: str, values: Mapping[str, str], default: str = "") -> dict[str, str]:
    """One generic variable when every platform has the same value, else one per platform (``_LINUX`` …)."""
    distinct = set(values.values())
    if len(distinct) == 1:
        value = distinct.pop()
        return {name: value} if value != default else {}
    return {f"{name}_{platform.upper()}": value for platform, value in values.items() if value != default}


def cibuildwheel_environment(
    options: BuildOptions, identifiers: Sequence[Identifier], platforms: Sequence[str]
) -> dict[str, str]:
    """The ``CIBW_*`` variables that make cibuildwheel build exactly ``identifiers`` the way
    ``shipwheel build`` does, on the cibuildwheel ``platforms`` given (``linux``, ``macos``, ``windows``)."""
    for key, value in (
        ("before-all", options.before_all),
        ("before-build", options.before_build),
        ("test-command", options.test_command),
        *((f"environment.{k}", v) for k, v in options.environment.items()),
        *(("test-requires", r) for r in options.test_requires),
    ):
        _check(key, value)
    uses_prefix = any(
        "{prefix}" in text
        for text in (
            options.before_all,
            options.before_build,
            options.test_command,
            *options.environment.values(),
        )
    )
    env: dict[str, str] = {"CIBW_BUILD": " ".join(str(i) for i in identifiers)}
    env |= _per_platform("CIBW_BEFORE_ALL", {p: _expand(options.before_all, p) for p in platforms})
    before_build = {p: _expand(options.before_build, p) for p in platforms}
    if uses_prefix and options.repair and "windows" in platforms:
        # delvewheel finds the prefix's DLLs only through --add-path; it must be in the build environment.
        before_build["windows"] = " && ".join(
            c for c in ("python -m pip install delvewheel", before_build["windows"]) if c
        )
    env |= _per_platform("CIBW_BEFORE_BUILD", before_build)
    environment = {}
    for p in platforms:
        values = {**(_prefix_env(p) if uses_prefix else {}), **options.environment}
        environment[p] = " ".join(f"{k}={shlex.quote(_expand(v, p))}" for k, v in values.items())
    env |= _per_platform("CIBW_ENVIRONMENT", environment)
    if options.test_requires:
        env["CIBW_TEST_REQUIRES"] = " ".join(options.test_requires)
    env |= _per_platform("CIBW_TEST_COMMAND", {p: _expand(options.test_command, p) for p in platforms})
    if not options.repair:
        env["CIBW_REPAIR_WHEEL_COMMAND"] = ""
    elif uses_prefix and "windows" in platforms:
        env["CIBW_REPAIR_WHEEL_COMMAND_WINDOWS"] = (
            f"delvewheel repair --add-path {PREFIX['windows']}/bin -w {{dest_dir}} -v {{wheel}}"
        )
    return env
