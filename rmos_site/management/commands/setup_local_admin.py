from __future__ import annotations

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

CREDENTIALS_FILE = settings.BASE_DIR / "var" / "local-admin.json"


class Command(BaseCommand):
    help = (
        "Local development only (DJANGO_DEBUG=true): make sure a superuser exists, give it an API "
        "token, and print the user name, password and token. The password is generated once and "
        "kept in var/local-admin.json (readable by you only)."
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
        stored = {}
        if CREDENTIALS_FILE.exists():
            stored = json.loads(CREDENTIALS_FILE.read_text())
        user = User.objects.filter(username=username).first()
        password = stored.get("password") if stored.get("username") == username else None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email="", password=password)
            CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(CREDENTIALS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"username": username, "password": password}, handle)
        token, _ = Token.objects.get_or_create(user=user)
        shown = password or f"(set before; reset it with: ./dev manage changepassword {username})"
        self.stdout.write(
            "\n".join(
                [
                    "Local admin account",
                    f"  user:      {username}",
                    f"  password:  {shown}",
                    f"  API token: {token.key}",
                    f"  try:       curl -H 'Authorization: Token {token.key}' {base_url}/api/rmos/ai/profiles",
                ]
            )
        )
