from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from rmos_site.errors import ApplicationError
from rmos_site.roles import ADMIN_ROLE, ROLE_NAMES, api_account_ensure
from rmos_site.tokens import api_token_live, api_token_owner, default_lifetime


class Command(BaseCommand):
    help = (
        "Create (or update) an account for a program or a person and give it an API token. "
        "Roles: viewer (reads everything), operator (reads, edits and rolls back profiles, runs searches, "
        "opens change requests), reviewer (what an operator may, and reviews others' change requests), "
        "integrator (reads, posts runs and events to the log), admin (a superuser: everything). The account has "
        "no password: it signs in with the token (header 'Authorization: Token <key>'), which is written to "
        "--token-file (mode 600) so that it never appears on screen or in a log; --show-token prints it instead. "
        "Only a hash of the token is stored, so it is shown this once: run again with the same --token-file "
        "and the token in it is kept; --rotate replaces the account's tokens with a new one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="account name, e.g. generator-bot")
        parser.add_argument(
            "--role", choices=[*sorted(ROLE_NAMES), ADMIN_ROLE], required=True, help="what the account may do"
        )
        output = parser.add_mutually_exclusive_group(required=True)
        output.add_argument(
            "--token-file", type=Path, help="write the token to this file, readable by you only (recommended)"
        )
        output.add_argument(
            "--show-token", action="store_true", help="print the token instead (it ends up in your terminal history)"
        )
        parser.add_argument("--rotate", action="store_true", help="revoke the account's tokens and make a new one")
        parser.add_argument(
            "--days",
            type=int,
            help="the new token expires after this many days (default: RMOS_API_TOKEN_DAYS; 0: never)",
        )

    def handle(
        self,
        *args,
        username: str,
        role: str,
        token_file: Path | None,
        show_token: bool,
        rotate: bool,
        days: int | None,
        **options,
    ) -> None:
        if days is not None and days < 0:
            raise CommandError("--days must be 0 (never expires) or more")
        held = _check_token_file(token_file, username) if token_file is not None else None
        existing = get_user_model().objects.filter(username=username).first()
        live = api_token_live(user=existing) if existing is not None else []
        if live and not rotate and held is None:
            prefixes = ", ".join(f"{info.prefix}…" for info in live)
            where = f"{token_file} does not hold it" if token_file is not None else "it cannot be shown again"
            raise CommandError(
                f"Account {username!r} has a live API token ({prefixes}) and {where}: only its hash is stored. "
                "Run with --rotate to replace it with a new one (the old one stops working at once), "
                f"or give the --token-file that holds it. Nothing was changed."
            )
        try:
            # One transaction with the file write: a file that cannot be written leaves no account.
            with transaction.atomic():
                account = api_account_ensure(
                    username=username,
                    role=role,
                    rotate=rotate,
                    keep=held,
                    lifetime=timedelta(days=days) if days else None,
                    forever=days == 0,
                )
                if token_file is not None and account.token_created:
                    _write_private(token_file, account.token)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        except OSError as exc:
            raise CommandError(
                f"--token-file {token_file}: cannot write it ({exc.strerror}); nothing was created or changed."
            ) from exc
        verb = "created" if account.created else "updated"
        lifetime = timedelta(days=days) if days else (None if days == 0 else default_lifetime())
        expires = "never expires" if lifetime is None else f"expires in {lifetime.days} days"
        if not account.token_created:
            self.stdout.write(
                f"Account {username!r} {verb} with role {role}; the token in {token_file} is live and was kept."
            )
        elif token_file is not None:
            self.stdout.write(
                f"Account {username!r} {verb} with role {role}; token {account.token[:15]}… written to "
                f"{token_file} ({expires})."
            )
        else:
            self.stdout.write(
                f"Account {username!r} {verb} with role {role}. API token ({expires}; shown only now): {account.token}"
            )


def _check_token_file(path: Path, username: str) -> str | None:
    """Refuse a path that cannot take the token, or a file holding another account's live token;
    return the token the file holds when it is a live one of ``username``."""
    if path.is_dir():
        raise CommandError(
            f"--token-file {path} is a directory; give a file name in it, e.g. {path / (username + '.token')}"
        )
    if not path.parent.is_dir():
        raise CommandError(f"--token-file {path}: the directory {path.parent} does not exist; create it first")
    if not path.is_file():
        return None
    try:
        held = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None  # not readable as a token: it will be replaced (or the write will say why not)
    owner = api_token_owner(key=held) if held else None
    if owner is not None and owner != username:
        raise CommandError(
            f"--token-file {path} holds the live token of account {owner!r}; "
            "overwriting it would lock that program out. Choose another file."
        )
    if owner == username:
        _make_private(path)
        return held
    return None


def _make_private(path: Path) -> None:
    os.chmod(path, 0o600)


def _write_private(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode above applies to a new file only; an existing one keeps its own
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
