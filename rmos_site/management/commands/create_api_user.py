from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from rmos_site.errors import ApplicationError
from rmos_site.roles import ROLE_NAMES, api_account_ensure, api_token_owner


class Command(BaseCommand):
    help = (
        "Create (or update) an account for a program or a person and give it an API token. "
        "Roles: viewer (reads everything), operator (reads, edits and rolls back profiles, runs searches), "
        "integrator (reads, posts runs and events to the log). The account has no password: it signs in with the "
        "token (header 'Authorization: Token <key>'), which is written to --token-file (mode 600) "
        "so that it never appears on screen or in a log; --show-token prints it instead."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="account name, e.g. generator-bot")
        parser.add_argument("--role", choices=sorted(ROLE_NAMES), required=True, help="what the account may do")
        output = parser.add_mutually_exclusive_group(required=True)
        output.add_argument(
            "--token-file", type=Path, help="write the token to this file, readable by you only (recommended)"
        )
        output.add_argument(
            "--show-token", action="store_true", help="print the token instead (it ends up in your terminal history)"
        )
        parser.add_argument("--rotate", action="store_true", help="replace an existing token with a new one")

    def handle(
        self, *args, username: str, role: str, token_file: Path | None, show_token: bool, rotate: bool, **options
    ) -> None:
        if token_file is not None:
            _check_token_file(token_file, username)
        try:
            # One transaction with the file write: a file that cannot be written leaves no account.
            with transaction.atomic():
                account = api_account_ensure(username=username, role=role, rotate=rotate)
                if token_file is not None:
                    _write_private(token_file, account.token)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        except OSError as exc:
            raise CommandError(
                f"--token-file {token_file}: cannot write it ({exc.strerror}); nothing was created or changed."
            ) from exc
        verb = "created" if account.created else "updated"
        if token_file is not None:
            self.stdout.write(f"Account {username!r} {verb} with role {role}; token written to {token_file}.")
        else:
            state = "new" if account.token_created else "existing"
            self.stdout.write(f"Account {username!r} {verb} with role {role}. API token ({state}): {account.token}")


def _check_token_file(path: Path, username: str) -> None:
    """Refuse a path that cannot take the token, or a file holding another account's live token."""
    if path.is_dir():
        raise CommandError(
            f"--token-file {path} is a directory; give a file name in it, e.g. {path / (username + '.token')}"
        )
    if not path.parent.is_dir():
        raise CommandError(f"--token-file {path}: the directory {path.parent} does not exist; create it first")
    if path.is_file():
        try:
            held = path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return  # not readable as a token: it will be replaced (or the write will say why not)
        owner = api_token_owner(key=held)
        if owner is not None and owner != username:
            raise CommandError(
                f"--token-file {path} holds the live token of account {owner!r}; "
                "overwriting it would lock that program out. Choose another file."
            )


def _write_private(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode above applies to a new file only; an existing one keeps its own
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
