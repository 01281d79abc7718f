"""validate-pyproject knows ``[tool.shipwheel]`` through shipwheel's ``validate_pyproject.tool_schema`` entry point."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_validate_pyproject_checks_tool_shipwheel() -> None:
    """The validate_pyproject.tool_schema entry point: validate-pyproject knows [tool.shipwheel]."""
    from validate_pyproject import api, errors

    validator = api.Validator()
    good = {
        "project": {"name": "demo", "version": "1.0"},
        "tool": {
            "shipwheel": {
                "jobs": 2,
                "test-command": "pytest",
                "linux": {"test-command": "pytest -x"},
                "overrides": [
                    {"select": "cp312-*", "inherit": {"test-command": "append"}, "test-command": "y"}
                ],
                "fetch": {"timeout": 30},
            }
        },
    }
    validator(good)
    for bad in ({"test-comand": "x"}, {"fetch": {"timeout": -1}}, {"linux": {"archs": "x86_64"}}):
        with pytest.raises(errors.ValidationError):
            validator({**good, "tool": {"shipwheel": bad}})


def test_validate_pyproject_accepts_the_defaults_and_real_imports(tmp_path: Path) -> None:
    from validate_pyproject import api

    from shipwheel.config import load_defaults

    api.Validator()({"project": {"name": "demo", "version": "1.0"}, "tool": {"shipwheel": load_defaults()}})
