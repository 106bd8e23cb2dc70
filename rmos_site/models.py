"""The kernel's one model: the API token, as django-rest-knox stores it (see rmos_site.tokens)."""

from __future__ import annotations

from knox.models import AuthToken


class ApiToken(AuthToken):
    """knox's token under its name here. Its text is the prefix, never the digest: the admin
    writes it into delete confirmations and its change log."""

    class Meta:
        proxy = True
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.token_key}… of {self.user.get_username()}"
