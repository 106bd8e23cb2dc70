from __future__ import annotations

import pytest

from tests.dashboard.builders import make_profile, make_user


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher takes most of a second per user on a small machine; no test here needs it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(db):
    return make_user("olga", role="operator")


@pytest.fixture
def viewer(db):
    return make_user("victor", role="viewer")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def default_profile(db):
    return make_profile("default", description="Balanced bounds; the fallback.")
