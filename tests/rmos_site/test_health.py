"""GET /healthz: for load balancers (no login, no HTTPS redirect)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_or_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # as in production behind a proxy
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}  # no engine or version: anyone may ask
    assert client.get("/api/rmos/ai/catalog").status_code == 301  # everything else is still redirected to HTTPS


def test_healthz_takes_only_get(client):
    assert client.post("/healthz").status_code == 405


def test_favicon_ico_leads_to_the_icon_for_pages_without_an_icon_link(client):
    """The admin's pages declare no icon, so browsers asked for /favicon.ico and got a 404."""
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("rmos/favicon.svg")
    assert client.get(response["Location"]).status_code == 200
