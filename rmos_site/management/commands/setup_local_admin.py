from __future__ import annotations

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from rmos_site.tokens import api_token_create, api_token_owner

CREDENTIALS_FILE = settings.BASE_DIR / "var" / "local-admin.json"


class Command(BaseCommand):
    help = (
        "Local development only (DJANGO_DEBUG=true): make sure a superuser exists, give it an API "
        "token, and print the user name, password and token. The password and token are generated "
        "once and kept in var/local-admin.json (readable by you only); a password changed since is "
        "not printed (the file's would not work), and a token revoked or expired since is replaced."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin", help="account name (default: admin)")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="where the server will listen, for the example"
        )

    def handle(self, *args, username: str, base_url: str, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("setup_local_admin prints a password: it runs only with DJANGO_DEBUG=true.")
        User = get_user_model()
        stored = _read_credentials()
        if stored.get("username") != username:
            stored = {}
        user = User.objects.filter(username=username).first()
        changed = bool(stored.get("password_changed"))
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email="", password=password)
            changed = False
        else:
            password = stored.get("password")
            if password is not None and not user.check_password(password):
                password, changed = None, True  # printing it would only fail at sign-in
        token = stored.get("token")
        if not token or api_token_owner(key=token) != username:
            _, token = api_token_create(user=user, forever=True)
        _write_credentials({"username": username, "password": password, "password_changed": changed, "token": token})
        how = f"to set one: ./dev manage changepassword {username}"
        shown = password or (
            f"(changed since it was generated, so not shown; {how})" if changed else f"(not kept here; {how})"
        )
        self.stdout.write(
            "\n".join(
                [
                    "Local admin account",
                    f"  user:      {username}",
                    f"  password:  {shown}",
                    f"  API token: {token}",
                    f"  try:       curl -H 'Authorization: Token {token}' {base_url}/api/rmos/ai/profiles",
                ]
            )
        )


def _read_credentials() -> dict:
    try:
        stored = json.loads(CREDENTIALS_FILE.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def _write_credentials(values: dict) -> None:
    CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(CREDENTIALS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
