"""Configuration of shipwheel: every source read into typed frozen dataclasses, per identifier.

Precedence, lowest first (written once, in ``_loader.PRECEDENCE``): packaged defaults < the project's cibuildwheel
line's defaults < ``[tool.cibuildwheel]`` < ``CIBW_*`` (the project's workflows, then the environment) <
``[tool.shipwheel]`` < ``SHIPWHEEL_*`` environment < command line. Each table's platform tables and overrides
apply per identifier, as cibuildwheel applies its own.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ._archs import Host
from ._cascade import Resolved
from ._cibuildwheel import expand_environment
from ._config import Config, JsonValue, jsonable
from ._downstream import IN_RELEASE, DownstreamProject
from ._files import load_defaults, read_pyproject
from ._import import import_cibuildwheel
from ._lines import LINES, CibuildwheelLine, LineChoice, line_for_version
from ._loader import ENV_PREFIX, PRECEDENCE, env_name, load_config
from ._metadata import backend_metadata, validate_name
from ._model import (
    BYTES,
    JOBS,
    JOBS_OR_CORES,
    PORT,
    RELEASE_STEPS,
    RETRIES,
    SECTIONS,
    TIMEOUT,
    Bounds,
    BuildOptions,
    ChangelogOptions,
    CiOptions,
    FetchOptions,
    NotesOptions,
    ProjectInfo,
    PublishOptions,
    ReleaseOptions,
    SignOptions,
    StageOptions,
    VerifyOptions,
)
from ._templates import TEMPLATES, check_template
from ._workflows import CibwJob, Workflows, read_workflows

__all__ = [
    "BYTES",
    "ENV_PREFIX",
    "IN_RELEASE",
    "JOBS",
    "JOBS_OR_CORES",
    "LINES",
    "PORT",
    "PRECEDENCE",
    "RELEASE_STEPS",
    "RETRIES",
    "SECTIONS",
    "TEMPLATES",
    "TIMEOUT",
    "Bounds",
    "BuildOptions",
    "ChangelogOptions",
    "CiOptions",
    "CibuildwheelLine",
    "CibwJob",
    "Config",
    "DownstreamProject",
    "FetchOptions",
    "Host",
    "JsonValue",
    "LineChoice",
    "NotesOptions",
    "ProjectInfo",
    "PublishOptions",
    "ReleaseOptions",
    "Resolved",
    "SignOptions",
    "StageOptions",
    "VerifyOptions",
    "Workflows",
    "backend_metadata",
    "check_template",
    "env_name",
    "expand_environment",
    "import_cibuildwheel",
    "jsonable",
    "line_for_version",
    "load_config",
    "load_defaults",
    "read_pyproject",
    "read_workflows",
    "schema",
    "tool_schema",
    "validate_name",
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
