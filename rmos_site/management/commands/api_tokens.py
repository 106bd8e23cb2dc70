from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from rmos_site.errors import ApplicationError
from rmos_site.present import utc_iso
from rmos_site.tokens import TokenInfo, api_token_list, api_token_revoke


def _row(info: TokenInfo) -> str:
    created = utc_iso(info.created, timespec="seconds")
    expiry = "never" if info.expiry is None else utc_iso(info.expiry, timespec="seconds")
    state = "expired" if info.expired else "live"
    return f"{info.prefix}…  {info.username:<24} created {created}  expires {expiry}  {state}"


class Command(BaseCommand):
    help = (
        "List API tokens by prefix (only a hash of each token is stored, so no token can be shown again) "
        "or revoke them: 'api_tokens list [--user NAME]', 'api_tokens revoke PREFIX', "
        "'api_tokens revoke --user NAME' (every token of that account). New tokens come from create_api_user."
    )

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="every token: prefix, account, created, expiry")
        listing.add_argument("--user", help="only this account's tokens")
        revoke = actions.add_parser("revoke", help="delete tokens: they stop working at once")
        revoke.add_argument("prefix", nargs="?", help="the token's first characters, e.g. rmos_1a2b3c")
        revoke.add_argument("--user", help="the account whose tokens to revoke (all of them, without a prefix)")

    def handle(self, *args, action: str, user: str | None, prefix: str | None = None, **options) -> None:
        if action == "list":
            tokens = api_token_list(username=user)
            for info in tokens:
                self.stdout.write(_row(info))
            self.stdout.write(f"{len(tokens)} token(s).")
            return
        try:
            revoked = api_token_revoke(prefix=prefix, username=user)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        if not revoked:
            raise CommandError("No token matches; nothing was revoked. 'api_tokens list' shows the prefixes.")
        for info in revoked:
            self.stdout.write(f"revoked {_row(info)}")
        self.stdout.write(f"{len(revoked)} token(s) revoked.")
