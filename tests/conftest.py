"""Shared fixtures. Small data builders live in tests/factories.py."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_exports(settings, tmp_path):
    """Every test writes its YAML export and journal mirror into its own directory."""
    settings.RMOS_PROFILE_YAML_PATH = tmp_path / "rmos_constraint_profiles.yaml"
    settings.RMOS_PROFILE_HISTORY_PATH = None
    return tmp_path
