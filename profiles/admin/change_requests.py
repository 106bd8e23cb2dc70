"""Change requests in Django admin: read-only, with their history. Requests are opened, reviewed
and published on the pages and the API, where the state machine's rules hold
(``profiles.services.change_requests``); the admin is for looking back."""

from __future__ import annotations

from django.contrib import admin

from profiles.admin.journaled import JournaledAdmin
from profiles.models import ChangeRequest, ChangeRequestReview


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReviewInline(ReadOnly, admin.TabularInline):
    model = ChangeRequestReview
    fields = ("revision", "decision", "reviewer", "note", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnly, JournaledAdmin):
    list_display = ("id", "profile", "state", "revision", "base_version", "author", "published_version", "updated_at")
    list_filter = ("state", "profile")
    search_fields = ("note", "author__username", "profile__name")
    list_select_related = ("profile", "author")
    readonly_fields = (
        "profile",
        "state",
        "revision",
        "base_version",
        "changes",
        "note",
        "author",
        "published_version",
        "published_history_id",
        "published_by",
        "published_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = [ReviewInline]
    history_list_display = ("state", "revision")

    def revert_disabled(self, request, obj=None):
        return True


@admin.register(ChangeRequestReview)
class ChangeRequestReviewAdmin(ReadOnly, JournaledAdmin):
    list_display = ("id", "request", "revision", "decision", "reviewer", "created_at")
    list_filter = ("decision",)
    list_select_related = ("request__profile", "reviewer")
    readonly_fields = ("request", "revision", "decision", "reviewer", "note", "created_at")
    fields = readonly_fields

    def revert_disabled(self, request, obj=None):
        return True
