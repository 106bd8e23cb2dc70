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


def test_an_existing_world_readable_token_file_is_made_private(tmp_path):
    target = tmp_path / "bot.token"
    target.write_text("")
    target.chmod(0o644)
    run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target))
    assert target.read_text().strip() == Token.objects.get(user__username="generator-bot").key
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


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


@pytest.mark.parametrize("where", ["missing-dir/bot.token", "."])
def test_a_token_file_that_cannot_be_written_creates_nothing(tmp_path, where):
    target = tmp_path / where
    with pytest.raises(CommandError) as caught:
        run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target))
    assert "--token-file" in str(caught.value)
    assert not get_user_model().objects.filter(username="generator-bot").exists()  # a half-made account before
    assert not Token.objects.exists()


def test_a_file_holding_another_accounts_token_is_not_overwritten(tmp_path):
    target = tmp_path / "bot.token"
    run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target))
    held = target.read_text()
    with pytest.raises(CommandError, match="holds the live token of account 'generator-bot'"):
        run("create_api_user", "other-bot", "--role", "viewer", "--token-file", str(target))
    assert target.read_text() == held and not get_user_model().objects.filter(username="other-bot").exists()
    # The same account may write its own file again (e.g. after --rotate).
    run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target), "--rotate")
    assert target.read_text().strip() == Token.objects.get(user__username="generator-bot").key != held.strip()


@pytest.mark.parametrize(
    ("name", "words"), [("bad name!", "Enter a valid username"), ("x" * 151, "1 to 150 characters")]
)
def test_an_invalid_username_is_refused_before_anything_is_made(name, words):
    with pytest.raises(CommandError, match=words):
        run("create_api_user", name, "--role", "viewer", "--show-token")
    assert not get_user_model().objects.filter(username=name).exists()
