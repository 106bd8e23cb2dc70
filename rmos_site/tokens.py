"""API tokens: stored as a hash only (django-rest-knox), shown once when made, listed by prefix.

A token reads ``rmos_`` and 64 hex digits; the database keeps its SHA-512 and its first 15
characters (``rmos_`` and ten digits): the prefix by which people, commands and the admin tell
tokens apart. A token expires after ``RMOS_API_TOKEN_DAYS`` days (0: never) unless made with a
lifetime of its own, and is revoked by deleting it (``api_tokens revoke``, or the admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from hmac import compare_digest

from django.db import transaction
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings

from rmos_site.errors import ValidationFailed
from rmos_site.models import ApiToken

#: A revocation by prefix names at least this many characters ("rmos_" and three digits), so a
#: slip ("r") cannot revoke every token.
MIN_REVOKE_PREFIX = 8


@dataclass(frozen=True)
class TokenInfo:
    prefix: str
    username: str
    created: datetime
    expiry: datetime | None

    @property
    def expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()


def _info(token: ApiToken) -> TokenInfo:
    return TokenInfo(token.token_key, token.user.get_username(), token.created, token.expiry)


def default_lifetime() -> timedelta | None:
    """``RMOS_API_TOKEN_DAYS`` as a lifetime; None when tokens do not expire."""
    return knox_settings.TOKEN_TTL


def api_token_create(*, user, lifetime: timedelta | None = None, forever: bool = False) -> tuple[ApiToken, str]:
    """A new token for ``user``: the key is returned here and never again. It expires after
    ``lifetime`` (default: ``RMOS_API_TOKEN_DAYS``), or never when ``forever``."""
    expiry = None if forever else (lifetime or default_lifetime())
    return ApiToken.objects.create(user=user, expiry=expiry)


def api_token_user(*, key: str):
    """The user whose live (unexpired) token ``key`` is, or None."""
    digest = hash_token(key)
    now = timezone.now()
    for token in ApiToken.objects.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related("user"):
        if compare_digest(digest, token.digest) and (token.expiry is None or token.expiry > now):
            return token.user
    return None


def api_token_owner(*, key: str) -> str | None:
    """The username whose live API token ``key`` is, if any."""
    user = api_token_user(key=key)
    return None if user is None else user.get_username()


def api_token_list(*, username: str | None = None) -> list[TokenInfo]:
    """Stored tokens, newest first; an expired one stays listed until it is used or revoked."""
    tokens = ApiToken.objects.select_related("user").order_by("-created")
    if username is not None:
        tokens = tokens.filter(user__username=username)
    return [_info(token) for token in tokens]


def api_token_live(*, user) -> list[TokenInfo]:
    return [info for info in api_token_list(username=user.get_username()) if not info.expired]


@transaction.atomic
def api_token_revoke(*, prefix: str | None = None, username: str | None = None) -> list[TokenInfo]:
    """Delete the tokens whose key starts with ``prefix``, or every token of ``username`` (both:
    that account's tokens with that prefix); return what was revoked."""
    if prefix is None and username is None:
        raise ValidationFailed.single("prefix", "required", "name a token prefix or an account")
    tokens = ApiToken.objects.select_related("user")
    if prefix is not None:
        if len(prefix) < MIN_REVOKE_PREFIX:
            raise ValidationFailed.single(
                "prefix", "min_length", f"give at least {MIN_REVOKE_PREFIX} characters of the token, e.g. rmos_1a2"
            )
        tokens = tokens.filter(token_key__startswith=prefix[: CONSTANTS.TOKEN_KEY_LENGTH])
    if username is not None:
        tokens = tokens.filter(user__username=username)
    revoked = [_info(token) for token in tokens]
    ApiToken.objects.filter(digest__in=[token.digest for token in tokens]).delete()
    return revoked
