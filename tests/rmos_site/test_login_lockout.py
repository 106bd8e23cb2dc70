"""Sign-in lockout (django-axes): repeated wrong passwords lock that account from that address."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAGES = ["/accounts/login/", "/admin/login/"]


def sign_in(client: Client, page: str, password: str, address: str = "10.0.0.1"):
    return client.post(page, {"username": "ada", "password": password}, REMOTE_ADDR=address)


def signed_in(response) -> bool:
    return response.status_code == 302 and "login" not in response["Location"]


@pytest.mark.parametrize("page", PAGES)
def test_repeated_wrong_passwords_lock_the_account_from_that_address(page):
    """Found by an outside attack: 30 wrong passwords all answered 200, then the right one worked."""
    make_user("ada", superuser=True, password="the-right-one-42")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, page, "wrong").status_code == 200
    locked = sign_in(client, page, "wrong")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many wrong passwords" in text and "ada" in text and "axes_reset_username ada" in text
    assert f"for {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in text
    assert sign_in(client, page, "the-right-one-42").status_code == 429  # the right one waits too
    # Another address is not locked out (per account and address: no one can lock a person out).
    assert signed_in(sign_in(Client(), page, "the-right-one-42", address="10.0.0.2"))


def test_an_administrator_unlocks_an_account_at_once():
    make_user("ada", password="the-right-one-42")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, PAGES[0], "wrong")
    assert sign_in(client, PAGES[0], "the-right-one-42").status_code == 429
    out = StringIO()
    call_command("axes_reset_username", "ada", stdout=out)
    assert signed_in(sign_in(client, PAGES[0], "the-right-one-42"))


def test_a_success_clears_the_count_so_people_who_mistype_are_not_locked_out():
    make_user("ada", password="the-right-one-42")
    client = Client()
    for _ in range(3):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            sign_in(client, PAGES[0], "wrong")
        assert signed_in(sign_in(client, PAGES[0], "the-right-one-42"))
        client.post("/accounts/logout/")
