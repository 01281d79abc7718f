"""Configuration of shipwheel: ``[tool.shipwheel]`` read into typed frozen dataclasses.

Precedence, highest first: command line > ``SHIPWHEEL_*`` environment > pyproject.toml > packaged defaults.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ._loader import ENV_PREFIX, env_name, load_config, load_defaults, read_pyproject
from ._model import (
    SECTIONS,
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
    "ENV_PREFIX",
    "SECTIONS",
    "BuildOptions",
    "ChangelogOptions",
    "Config",
    "FetchOptions",
    "NotesOptions",
    "ProjectInfo",
    "PublishOptions",
    "ReleaseOptions",
    "SignOptions",
    "StageOptions",
    "VerifyOptions",
    "env_name",
    "load_config",
    "load_defaults",
    "read_pyproject",
    "schema",
]


def schema() -> dict[str, Any]:
    """The JSON schema of the ``[tool.shipwheel]`` table that ships with the package."""
    text = resources.files("shipwheel.config").joinpath("schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
