"""Shared fixtures. Small data builders live in tests/factories.py."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_exports(settings, tmp_path):
    """Every test writes its YAML export and journal mirror into its own directory."""
    settings.RMOS_PROFILE_YAML_PATH = tmp_path / "rmos_constraint_profiles.yaml"
    settings.RMOS_PROFILE_HISTORY_PATH = None
    # Password hashing is deliberately slow; tests create many accounts.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


@pytest.fixture
def profile_admin_urls(settings):
    """Reload the URL configuration with the profile-admin router switched on or off."""
    import importlib

    from django.urls import clear_url_caches

    import profiles.urls
    import rmos_site.urls

    def switch(enabled: bool) -> None:
        settings.ENABLE_RMOS_PROFILE_ADMIN = enabled
        importlib.reload(profiles.urls)
        importlib.reload(rmos_site.urls)
        clear_url_caches()

    yield switch
    settings.ENABLE_RMOS_PROFILE_ADMIN = True
    importlib.reload(profiles.urls)
    importlib.reload(rmos_site.urls)
    clear_url_caches()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def operator(db):
    from tests.factories import make_user

    return make_user("olivia-operator", role="operator")


@pytest.fixture
def viewer(db):
    from tests.factories import make_user

    return make_user("victor-viewer", role="viewer")


@pytest.fixture
def admin_user(db):
    from tests.factories import make_user

    return make_user("ada-admin", superuser=True)


@pytest.fixture
def starter_profiles(db):
    """The canonical starter file, imported the way ./dev start does."""
    from django.conf import settings as dj_settings

    from profiles import services

    text = (dj_settings.BASE_DIR / "rmos_site/config/rmos_constraint_profiles.yaml").read_text()
    return services.profiles_import(text=text, source="rmos_constraint_profiles.yaml")
