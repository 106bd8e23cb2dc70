"""Fixtures of the AI-log tests (analytics tests use them too)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from engine.profile import DEFAULTS
from profiles import services as profile_services
from rmos_site.roles import ROLE_NAMES, ensure_roles


def _client_for(username: str, role: str | None) -> APIClient:
    ensure_roles()
    user = get_user_model().objects.create(username=username)
    if role is not None:
        user.groups.set([Group.objects.get(name=ROLE_NAMES[role])])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def integrator(db) -> APIClient:
    """An API client signed in with the integrator role's token (may post runs and events)."""
    return _client_for("generator-bot", "integrator")


@pytest.fixture
def viewer(db) -> APIClient:
    return _client_for("watcher", "viewer")


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def default_profile(db):
    """The 'default' profile at version 1 (its history record is in force from now on)."""
    return profile_services.profile_create(name="default", values=DEFAULTS, note="test profile")
