"""Engine tests are plain Python: no database and no Django settings.

``tests/conftest.py`` has an autouse fixture that points Django's settings at a temporary YAML
path; the engine never reads settings, so it is replaced here by one that needs nothing.
"""

from __future__ import annotations

import pytest

from engine.catalog import Catalog, load_catalog


@pytest.fixture(autouse=True)
def _isolated_exports():
    """The engine writes no exports; nothing to isolate."""


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()
