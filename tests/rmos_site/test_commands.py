"""Account commands: tokens reach their owner without landing on screens or in logs."""
from __future__ import annotations

import stat
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_api_user_writes_the_token_to_a_private_file(tmp_path):
    target = tmp_path / "bot.token"
    out = run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target))
    user = get_user_model().objects.get(username="generator-bot")
    key = Token.objects.get(user=user).key
    assert target.read_text().strip() == key and key not in out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [g.name for g in user.groups.all()] == ["rmos-integrator"] and not user.has_usable_password()
    assert user.has_perm("ailog.add_airun") and not user.has_perm("profiles.change_constraintprofile")


def test_show_token_prints_it_and_rotate_replaces_it(tmp_path):
    first = run("create_api_user", "tuner", "--role", "operator", "--show-token")
    key = Token.objects.get(user__username="tuner").key
    assert key in first
    run("create_api_user", "tuner", "--role", "operator", "--show-token", "--rotate")
    assert Token.objects.get(user__username="tuner").key != key


def test_create_api_user_needs_a_way_to_deliver_the_token():
    with pytest.raises(CommandError):
        call_command("create_api_user", "x", "--role", "viewer")


def test_a_superuser_is_not_turned_into_an_api_account(admin_user, tmp_path):
    with pytest.raises(CommandError) as caught:
        run("create_api_user", admin_user.username, "--role", "viewer", "--token-file", str(tmp_path / "t"))
    assert "superuser" in str(caught.value)


def test_setup_local_admin_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError) as caught:
        run("setup_local_admin")
    assert "DJANGO_DEBUG=true" in str(caught.value)
