"""Shared fixtures: accounts of every role, their clients, the default profile. Data builders live in
tests/factories.py."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_exports(settings, tmp_path):
    """Every test writes its YAML export and journal mirror into its own directory."""
    settings.RMOS_PROFILE_YAML_PATH = tmp_path / "rmos_constraint_profiles.yaml"
    settings.RMOS_PROFILE_HISTORY_PATH = None
    return tmp_path


@pytest.fixture(autouse=True)
def _background_predictions_end_with_the_test():
    """A saved version's prediction runs in a thread after the commit (analytics.services.
    predictions): it must end before the test's database is flushed for the next one."""
    yield
    from analytics.services import predictions_wait

    predictions_wait()


def pytest_configure(config) -> None:
    """Password hashing is deliberately slow; tests create many accounts (browser tests' live
    servers included), so they hash with MD5, set once for the whole session."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


# -- accounts: a User per role, and clients signed in as them -------------------------------------


@pytest.fixture
def operator(db):
    from tests.factories import make_user

    return make_user("olga", role="operator")


@pytest.fixture
def viewer(db):
    from tests.factories import make_user

    return make_user("victor", role="viewer")


@pytest.fixture
def integrator(db):
    from tests.factories import make_user

    return make_user("generator-bot", role="integrator")


@pytest.fixture
def admin_user(db):
    from tests.factories import make_user

    return make_user("ada-admin", superuser=True)


@pytest.fixture
def operator_client(client, operator):
    """Django's test client, signed in as the operator (pages)."""
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def api_client():
    """An API client with no credentials."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def integrator_api(integrator):
    """An API client sending the integrator's token (may post runs and events)."""
    from tests.factories import api_client_for

    return api_client_for(integrator)


@pytest.fixture
def viewer_api(viewer):
    from tests.factories import api_client_for

    return api_client_for(viewer)


@pytest.fixture
def operator_api(operator):
    from tests.factories import api_client_for

    return api_client_for(operator)


# -- data ----------------------------------------------------------------------------------------


@pytest.fixture
def default_profile(db):
    """The 'default' profile at version 1 (its history record is in force from now on)."""
    from tests.factories import make_profile

    return make_profile("default", description="Balanced bounds; the fallback.")


@pytest.fixture
def starter_profiles(db):
    """The canonical starter file, imported the way ./dev start does."""
    from django.conf import settings as dj_settings

    from profiles import services

    text = (dj_settings.BASE_DIR / "rmos_site/config/rmos_constraint_profiles.yaml").read_text()
    return services.profiles_import(text=text, source="rmos_constraint_profiles.yaml")


@pytest.fixture
def reviewer(db):
    from tests.factories import make_user

    return make_user("rita", role="reviewer")


@pytest.fixture
def second_reviewer(db):
    from tests.factories import make_user

    return make_user("sam", role="reviewer")


@pytest.fixture
def reviewer_api(reviewer):
    from tests.factories import api_client_for

    return api_client_for(reviewer)
