"""API tokens in Django admin: listed by prefix (never the digest), revoked by deleting them.
They are made by ``create_api_user`` (which hands the key over once), not here."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from knox.models import AuthToken

from rmos_site.models import ApiToken

admin.site.unregister(AuthToken)  # knox's own admin lists digests


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created", "expiry", "live")
    list_select_related = ("user",)
    search_fields = ("token_key", "user__username")
    ordering = ("-created",)
    fields = ("prefix", "user", "created", "expiry")
    readonly_fields = fields
    actions = ["delete_selected"]

    @admin.display(description="prefix", ordering="token_key")
    def prefix(self, token: ApiToken) -> str:
        return f"{token.token_key}…"

    @admin.display(boolean=True)
    def live(self, token: ApiToken) -> bool:
        return token.expiry is None or token.expiry > timezone.now()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
