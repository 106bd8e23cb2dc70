"""Account commands: tokens reach their owner once, without landing on screens or in logs, and are
stored as a hash only."""

from __future__ import annotations

import stat
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from knox.models import AuthToken

from rmos_site.tokens import api_token_owner

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_api_user_writes_the_token_to_a_private_file(tmp_path):
    target = tmp_path / "bot.token"
    out = run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target))
    user = get_user_model().objects.get(username="generator-bot")
    key = target.read_text().strip()
    assert api_token_owner(key=key) == "generator-bot" and key not in out and key[:15] in out
    assert key.startswith("rmos_") and len(key) == 69
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [g.name for g in user.groups.all()] == ["rmos-integrator"] and not user.has_usable_password()
    assert user.has_perm("ailog.add_airun") and not user.has_perm("profiles.change_constraintprofile")


def test_an_existing_world_readable_token_file_is_made_private(tmp_path):
    target = tmp_path / "bot.token"
    target.write_text("")
    target.chmod(0o644)
    run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target))
    assert api_token_owner(key=target.read_text().strip()) == "generator-bot"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_show_token_prints_it_once_and_rotate_replaces_it(tmp_path):
    first = run("create_api_user", "tuner", "--role", "operator", "--show-token")
    key = first.rsplit(" ", 1)[-1].strip()
    assert api_token_owner(key=key) == "tuner"
    with pytest.raises(CommandError, match="cannot be shown again"):
        run("create_api_user", "tuner", "--role", "operator", "--show-token")
    second = run("create_api_user", "tuner", "--role", "operator", "--show-token", "--rotate")
    assert api_token_owner(key=second.rsplit(" ", 1)[-1].strip()) == "tuner" and api_token_owner(key=key) is None


def test_running_again_with_the_same_token_file_keeps_its_token(tmp_path):
    target = tmp_path / "bot.token"
    run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target))
    held = target.read_text()
    out = run("create_api_user", "generator-bot", "--role", "viewer", "--token-file", str(target))
    assert "was kept" in out and target.read_text() == held and AuthToken.objects.count() == 1
    assert get_user_model().objects.get(username="generator-bot").groups.get().name == "rmos-viewer"
    with pytest.raises(CommandError, match="does not hold it"):
        run("create_api_user", "generator-bot", "--role", "viewer", "--token-file", str(tmp_path / "other"))


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
    assert not AuthToken.objects.exists()


def test_a_file_holding_another_accounts_token_is_not_overwritten(tmp_path):
    target = tmp_path / "bot.token"
    run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target))
    held = target.read_text()
    with pytest.raises(CommandError, match="holds the live token of account 'generator-bot'"):
        run("create_api_user", "other-bot", "--role", "viewer", "--token-file", str(target))
    assert target.read_text() == held and not get_user_model().objects.filter(username="other-bot").exists()
    # The same account may write its own file again (e.g. after --rotate).
    run("create_api_user", "generator-bot", "--role", "integrator", "--token-file", str(target), "--rotate")
    assert target.read_text() != held and api_token_owner(key=target.read_text().strip()) == "generator-bot"
    assert api_token_owner(key=held.strip()) is None


@pytest.mark.parametrize(
    ("name", "words"), [("bad name!", "Enter a valid username"), ("x" * 151, "1 to 150 characters")]
)
def test_an_invalid_username_is_refused_before_anything_is_made(name, words):
    with pytest.raises(CommandError, match=words):
        run("create_api_user", name, "--role", "viewer", "--show-token")
    assert not get_user_model().objects.filter(username=name).exists()


def test_tokens_are_stored_as_a_hash_and_listed_by_prefix_only(tmp_path):
    out = run("create_api_user", "tuner", "--role", "operator", "--show-token", "--days", "30")
    key = out.rsplit(" ", 1)[-1].strip()
    stored = AuthToken.objects.get()
    assert key not in {stored.digest, stored.token_key} and stored.token_key == key[:15]
    assert 29 <= (stored.expiry - stored.created).days <= 30
    listing = run("api_tokens", "list")
    assert f"{key[:15]}…  tuner" in listing and key[15:] not in listing and "live" in listing


def test_a_revoked_token_stops_working_at_once(client, tmp_path):
    target = tmp_path / "bot.token"
    run("create_api_user", "bot", "--role", "viewer", "--token-file", str(target))
    auth = {"HTTP_AUTHORIZATION": f"Token {target.read_text().strip()}"}
    assert client.get("/api/rmos/ai/catalog", **auth).status_code == 200
    with pytest.raises(CommandError, match="at least 8 characters"):
        run("api_tokens", "revoke", "rmos_")
    out = run("api_tokens", "revoke", target.read_text()[:10])
    assert "1 token(s) revoked" in out
    assert client.get("/api/rmos/ai/catalog", **auth).status_code == 401


def test_an_expired_token_is_refused(client):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_user, token_for

    key = token_for(make_user("bot", role="viewer"))
    assert client.get("/api/rmos/ai/catalog", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/rmos/ai/catalog", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_create_api_user_makes_an_admin_with_a_token(client, tmp_path):
    """Deploy jobs get an admin token the way the other roles get theirs, with no shell."""
    target = tmp_path / "admin.token"
    run("create_api_user", "deploy-admin", "--role", "admin", "--token-file", str(target))
    user = get_user_model().objects.get(username="deploy-admin")
    assert user.is_superuser and user.is_staff and not user.has_usable_password()
    auth = {"HTTP_AUTHORIZATION": f"Token {target.read_text().strip()}"}
    assert client.get("/api/rmos/ai/rules", **auth).status_code == 200


def _visible_text(html: str) -> str:
    import re

    return re.sub(r"<[^>]*>", " ", html)


def test_the_admin_lists_tokens_by_prefix_and_never_shows_a_digest(client, admin_user, tmp_path):
    from tests.factories import token_for

    key = token_for(admin_user)
    digest = AuthToken.objects.get().digest
    client.force_login(admin_user)
    listing = client.get("/admin/rmos_site/apitoken/")
    assert listing.status_code == 200
    shown = _visible_text(listing.content.decode())  # the digest is the key in its links, never shown
    assert f"{key[:15]}…" in shown and digest not in shown and key[15:] not in listing.content.decode()
    assert client.get("/admin/knox/authtoken/").status_code == 404  # knox's own admin listed digests
    confirm = client.get(f"/admin/rmos_site/apitoken/{digest}/delete/")
    assert confirm.status_code == 200 and digest not in _visible_text(confirm.content.decode())
    client.post(f"/admin/rmos_site/apitoken/{digest}/delete/", {"post": "yes"})
    assert not AuthToken.objects.exists()


def test_setup_local_admin_prints_a_token_that_works_and_the_same_one_again(client, settings, tmp_path, monkeypatch):
    from rmos_site.management.commands import setup_local_admin

    monkeypatch.setattr(setup_local_admin, "CREDENTIALS_FILE", tmp_path / "local-admin.json")
    settings.DEBUG = True
    first = run("setup_local_admin")
    token = first.split("API token: ")[1].split()[0]
    assert client.get("/api/rmos/ai/rules", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert f"API token: {token}" in run("setup_local_admin")
    run("api_tokens", "revoke", "--user", "admin")
    replaced = run("setup_local_admin").split("API token: ")[1].split()[0]
    assert replaced != token and api_token_owner(key=replaced) == "admin"


def test_setup_local_admin_never_prints_a_password_that_no_longer_works(client, settings, tmp_path, monkeypatch):
    """Issue 15: after the admin's password was changed, ./dev start still printed the old one."""
    from rmos_site.management.commands import setup_local_admin

    monkeypatch.setattr(setup_local_admin, "CREDENTIALS_FILE", tmp_path / "local-admin.json")
    settings.DEBUG = True
    password = run("setup_local_admin").split("password:  ")[1].split()[0]
    signed_in = client.post("/accounts/login/", {"username": "admin", "password": password})
    assert signed_in.status_code == 302 and "login" not in signed_in["Location"]
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("a-new-secret-4711")
    admin.save()
    for _ in range(2):  # and it stays said on the next start
        again = run("setup_local_admin")
        assert password not in again
        assert "changed since it was generated" in again and "changepassword admin" in again


def test_create_api_user_makes_a_reviewer(tmp_path):
    target = tmp_path / "rita.token"
    out = run("create_api_user", "rita", "--role", "reviewer", "--token-file", str(target))
    assert "with role reviewer" in out
    user = get_user_model().objects.get(username="rita")
    assert [g.name for g in user.groups.all()] == ["rmos-reviewer"]
    # What an operator may, plus review; never protection (administrators only).
    assert user.has_perm("profiles.change_constraintprofile") and user.has_perm("ailog.run_search")
    assert user.has_perm("profiles.add_changerequest") and user.has_perm("profiles.review_changerequest")
    assert not user.has_perm("profiles.protect_constraintprofile") and not user.has_perm("ailog.add_airun")
    operator = get_user_model().objects.get(username=run_and_get("otto", "operator", tmp_path))
    assert operator.has_perm("profiles.add_changerequest") and not operator.has_perm("profiles.review_changerequest")


def run_and_get(name: str, role: str, tmp_path) -> str:
    run("create_api_user", name, "--role", role, "--token-file", str(tmp_path / f"{name}.token"))
    return name
