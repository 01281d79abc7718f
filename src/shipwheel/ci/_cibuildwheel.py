"""shipwheel's build matrix and build steps as a cibuildwheel configuration, and the runners that build it.

The release is split into one job per runner: each job's ``CIBW_BUILD`` lists the exact identifiers that are its
share of ``shipwheel matrix`` and its ``CIBW_ARCHS`` the archs they need, so that
``cibuildwheel --print-build-identifiers`` on that runner prints exactly that share, whatever either tool's
universe of versions is, and the shares add up to the matrix. Build steps are emitted as ``CIBW_*`` variables
(cibuildwheel's environment layer) only when shipwheel's configuration or the project's own workflows set them:
what the sdist's ``[tool.cibuildwheel]`` says, cibuildwheel reads itself, overrides included.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config import CibuildwheelLine, Config
from ..errors import ConfigError
from ..matrix import Identifier

__all__ = ["PREFIX", "Runner", "carried", "cibuildwheel_environment", "enable_groups", "runners_for"]

#: Where ``{prefix}`` (shipwheel's native prefix, built by before-all) lives on each cibuildwheel platform.
#: On Linux it is inside the build container.
PREFIX: Mapping[str, str] = {
    "linux": "/tmp/shipwheel-prefix",
    "macos": "/tmp/shipwheel-prefix",
    "windows": "C:/shipwheel-prefix",
}


@dataclass(frozen=True, slots=True)
class Runner:
    """One wheel job: a GitHub-hosted runner, the cibuildwheel platform and archs it builds, the identifiers
    that are its share of the release (its ``CIBW_BUILD``), and the arch QEMU emulates for it (or "")."""

    name: str
    image: str
    platform: str
    archs: tuple[str, ...]
    identifiers: tuple[str, ...] = ()
    qemu: str = ""


# (job name, runner image, cibuildwheel platform, emulated arch); each builds its own machine's arch natively,
# but for the Linux archs no GitHub-hosted runner has, which run under QEMU on ubuntu-latest.
_RUNNERS: tuple[tuple[str, str, str, str], ...] = (
    ("linux-x86_64", "ubuntu-latest", "linux", ""),
    ("linux-aarch64", "ubuntu-24.04-arm", "linux", ""),
    ("linux-ppc64le", "ubuntu-latest", "linux", "ppc64le"),
    ("linux-s390x", "ubuntu-latest", "linux", "s390x"),
    ("linux-riscv64", "ubuntu-latest", "linux", "riscv64"),
    # GitHub retired macos-13, the last Intel image of the plain names; macos-15-intel replaces it.
    ("macos-x86_64", "macos-15-intel", "macos", ""),
    ("macos-arm64", "macos-14", "macos", ""),
    ("windows-amd64", "windows-latest", "windows", ""),
    ("windows-arm64", "windows-11-arm", "windows", ""),
)

# identifier platform -> (job name, cibuildwheel arch). i686, armv7l, universal2 and win32 run natively on
# their 64-bit neighbour.
_PLATFORM_JOB: Mapping[str, tuple[str, str]] = {
    **{
        f"{libc}_{arch}": (job, arch)
        for libc in ("manylinux", "musllinux")
        for arch, job in (
            ("x86_64", "linux-x86_64"),
            ("i686", "linux-x86_64"),
            ("aarch64", "linux-aarch64"),
            ("armv7l", "linux-aarch64"),
            ("ppc64le", "linux-ppc64le"),
            ("s390x", "linux-s390x"),
            ("riscv64", "linux-riscv64"),
        )
    },
    "macosx_x86_64": ("macos-x86_64", "x86_64"),
    "macosx_arm64": ("macos-arm64", "arm64"),
    "macosx_universal2": ("macos-arm64", "universal2"),
    "win_amd64": ("windows-amd64", "AMD64"),
    "win32": ("windows-amd64", "x86"),
    "win_arm64": ("windows-arm64", "ARM64"),
}


def runners_for(identifiers: Sequence[Identifier]) -> list[Runner]:
    """The wheel jobs ``identifiers`` need, in a fixed order, each with its share of ``identifiers``; raise
    :class:`ConfigError` for a platform no hosted runner builds."""
    archs: dict[str, list[str]] = {}
    shares: dict[str, list[str]] = {}
    for ident in identifiers:
        if ident.platform not in _PLATFORM_JOB:
            raise ConfigError(
                f"no GitHub-hosted runner builds {ident.platform}",
                hint=f"remove {ident.platform} from platforms, or build it with shipwheel build elsewhere",
            )
        job, arch = _PLATFORM_JOB[ident.platform]
        if arch not in archs.setdefault(job, []):
            archs[job].append(arch)
        shares.setdefault(job, []).append(str(ident))
    return [
        Runner(name, image, platform, tuple(archs[name]), tuple(shares[name]), qemu)
        for name, image, platform, qemu in _RUNNERS
        if name in archs
    ]


def enable_groups(line: CibuildwheelLine, identifiers: Sequence[Identifier]) -> tuple[str, ...]:
    """The cibuildwheel ``enable`` groups ``line`` needs to build ``identifiers`` (free-threaded versions it
    builds only on request), set as ``CIBW_ENABLE`` above whatever the project enables."""
    if any(i.free_threaded and (3, i.minor) in line.free_threaded_enabled for i in identifiers):
        return ("cpython-freethreading",)
    return ()


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


def _per_platform(name: str, values: Mapping[str, str], platforms: Sequence[str]) -> dict[str, str]:
    """One generic variable when every platform has a value and the same one, else one per platform given a
    value (``_LINUX`` …); a platform left out keeps what the sdist's ``[tool.cibuildwheel]`` says."""
    distinct = set(values.values())
    if len(distinct) == 1 and set(values) == set(platforms):
        return {name: distinct.pop()}
    return {f"{name}_{platform.upper()}": value for platform, value in values.items()}


def carried(origin: str) -> bool:
    """Whether the workflow sets a build value that came from ``origin``: shipwheel's own settings and the
    ``CIBW_*`` of the project's workflows (which the generated workflow replaces) are carried; what cibuildwheel's
    defaults and the sdist's own ``[tool.cibuildwheel]`` say, cibuildwheel reads itself, overrides and platform
    tables included."""
    return not (
        origin == "default"
        or origin.endswith(" default")
        or origin.lstrip("[").startswith("tool.cibuildwheel")
    )


def cibuildwheel_environment(config: Config, platforms: Sequence[str]) -> dict[str, str]:
    """The ``CIBW_*`` variables shared by every wheel job: the build steps shipwheel's configuration and the
    project's workflows add to what the sdist's ``[tool.cibuildwheel]`` says, per cibuildwheel platform
    (``linux``, ``macos``, ``windows``). Each job's identifiers and archs are its own (``CIBW_BUILD``,
    ``CIBW_ARCHS``)."""
    resolved = {p: config.explain(os_name=p) for p in platforms}

    def own(key: str) -> dict[str, object]:
        return {p: found[key].value for p, found in resolved.items() if carried(found[key].origin)}

    def text(key: str, platform: str) -> str:
        return str(resolved[platform][key].value)

    def mapping(key: str, platform: str) -> Mapping[str, str]:
        value = resolved[platform][key].value
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}

    uses_prefix = any(
        "{prefix}" in " ".join(text(k, p) for k in ("before-all", "before-build", "test-command"))
        or any("{prefix}" in v for v in mapping("environment", p).values())
        for p in platforms
    )
    repair = config.build.repair
    env: dict[str, str] = {}
    groups = enable_groups(config.cibuildwheel.line, config.identifiers())
    if groups:
        env["CIBW_ENABLE"] = " ".join(groups)
    env |= _per_platform(
        "CIBW_BEFORE_ALL", {p: _expand(str(v), p) for p, v in own("before-all").items()}, platforms
    )
    before_build = {p: _expand(str(v), p) for p, v in own("before-build").items()}
    if uses_prefix and repair and "windows" in platforms:
        # delvewheel finds the prefix's DLLs only through --add-path; it must be in the build environment.
        before_build["windows"] = " && ".join(
            c
            for c in ("python -m pip install delvewheel", _expand(text("before-build", "windows"), "windows"))
            if c
        )
    env |= _per_platform("CIBW_BEFORE_BUILD", before_build, platforms)
    environment = {}
    for p in platforms if uses_prefix else own("environment"):
        values = {**(_prefix_env(p) if uses_prefix else {}), **mapping("environment", p)}
        environment[p] = " ".join(f"{k}={shlex.quote(_expand(v, p))}" for k, v in values.items())
    env |= _per_platform("CIBW_ENVIRONMENT", environment, platforms)
    requires = {
        p: " ".join(str(r) for r in v) for p, v in own("test-requires").items() if isinstance(v, tuple)
    }
    env |= _per_platform("CIBW_TEST_REQUIRES", {p: v for p, v in requires.items() if v}, platforms)
    env |= _per_platform(
        "CIBW_TEST_COMMAND", {p: _expand(str(v), p) for p, v in own("test-command").items()}, platforms
    )
    if not repair and carried(config.sources.get("repair", "default")):
        env["CIBW_REPAIR_WHEEL_COMMAND"] = ""
    elif uses_prefix and repair and "windows" in platforms:
        env["CIBW_REPAIR_WHEEL_COMMAND_WINDOWS"] = (
            f"delvewheel repair --add-path {PREFIX['windows']}/bin -w {{dest_dir}} -v {{wheel}}"
        )
    return env
