"""The project's name, as every release command names it."""

from __future__ import annotations

from ..config import Config
from ..errors import ConfigError

__all__ = ["project_name"]


def project_name(config: Config) -> str:
    """The project's name as its metadata says it (``[project]``, ``setup.cfg``, ``PKG-INFO`` or the build
    backend's answer); never the folder's name, which is often not the project's (a clone named ``repo``).

    :raises ConfigError: no metadata names the project.
    """
    name = config.project.name
    if not name:
        raise ConfigError(
            f"the project in {config.project_dir} has no name in its metadata",
            hint="set name in the [project] table of pyproject.toml (or [metadata] name in setup.cfg)",
        )
    return name
