"""Configuration of shipwheel: ``[tool.shipwheel]`` read into typed frozen dataclasses.

Precedence, highest first: command line > ``SHIPWHEEL_*`` environment > ``[tool.shipwheel]`` > ``CIBW_*``
environment > ``[tool.cibuildwheel]`` > packaged defaults.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ._cibuildwheel import Override, expand_environment
from ._downstream import IN_RELEASE, DownstreamProject
from ._files import load_defaults, read_pyproject
from ._import import import_cibuildwheel
from ._loader import ENV_PREFIX, env_name, load_config
from ._model import (
    BYTES,
    JOBS,
    JOBS_OR_CORES,
    RETRIES,
    SECTIONS,
    TIMEOUT,
    Bounds,
    BuildOptions,
    ChangelogOptions,
    Config,
    FetchOptions,
    NotesOptions,
    ProjectInfo,
    PublishOptions,
    ReleaseOptions,
    SignOptions,
    StageOptions,
    VerifyOptions,
)

__all__ = [
    "BYTES",
    "ENV_PREFIX",
    "IN_RELEASE",
    "JOBS",
    "JOBS_OR_CORES",
    "RETRIES",
    "SECTIONS",
    "TIMEOUT",
    "Bounds",
    "BuildOptions",
    "ChangelogOptions",
    "Config",
    "DownstreamProject",
    "FetchOptions",
    "NotesOptions",
    "Override",
    "ProjectInfo",
    "PublishOptions",
    "ReleaseOptions",
    "SignOptions",
    "StageOptions",
    "VerifyOptions",
    "env_name",
    "expand_environment",
    "import_cibuildwheel",
    "load_config",
    "load_defaults",
    "read_pyproject",
    "schema",
    "tool_schema",
]


def schema() -> dict[str, Any]:
    """The JSON schema of the ``[tool.shipwheel]`` table that ships with the package."""
    text = resources.files("shipwheel.config").joinpath("schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def tool_schema(tool: str = "shipwheel") -> dict[str, Any]:
    """JSON schema of [tool.${tool}]: shipwheel's configuration (shipwheel.config.schema.json)."""
    # the validate_pyproject.tool_schema entry point: validate-pyproject checks [tool.shipwheel] with it
    return schema()
