"""Read-only admin for the AI log. Records are written by ailog.services only, so nothing here
adds, changes or deletes. Built for tables of tens of millions of rows: exact-match search (it
uses the indexes), filters on fixed choices and recent time spans only (no DISTINCT scan), and a
paginator that counts no further than it can show. Runs have Django's date hierarchy as well; the
attempts list has not, because it computes a DISTINCT over every row (12 s at a million
attempts on SQLite), and offers the recent-time filter instead."""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import cached_property

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ailog import selectors
from ailog.models import AiAttempt, AiRun

COUNT_CAP = 10_000
NOT_ADDED_HERE = (
    "Runs and attempts are recorded through the log API by the generators that make them, never added by hand."
)
NOT_DELETED_HERE = (
    "Runs and attempts are never deleted one by one: the analytics aggregates count each of them. Old ones are removed "
    "by date with 'manage.py prune_logs --before <date>', which takes them out of the aggregates in the same transaction."
)


class CappedCountPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows: an exact count of millions is a full scan, and the
    admin cannot page through that many anyway (filter or pick a date instead)."""

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_CAP + 1].count()


class RecentFilter(admin.SimpleListFilter):
    """Rows of the last hour, day, week, month or quarter: one index range each."""

    title = "time"
    parameter_name = "recent"
    SPANS = {
        "1h": ("last hour", timedelta(hours=1)),
        "24h": ("last 24 hours", timedelta(days=1)),
        "7d": ("last 7 days", timedelta(days=7)),
        "30d": ("last 30 days", timedelta(days=30)),
        "90d": ("last 90 days", timedelta(days=90)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.SPANS.items()]

    def queryset(self, request, queryset):
        span = self.SPANS.get(self.value() or "")
        return queryset if span is None else queryset.filter(timestamp__gte=timezone.now() - span[1])


class ReadOnlyAdmin(admin.ModelAdmin):
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    ordering = ("-timestamp", "-id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    # Django's own refusals are a bare 403, which left the page to guess why (it guessed a role).
    def add_view(self, request, form_url="", extra_context=None):
        raise PermissionDenied(NOT_ADDED_HERE)

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied(NOT_DELETED_HERE)

    def get_search_results(self, request, queryset, search_term):
        """A run id finds that run's rows; anything else is an exact id of the search fields."""
        term = search_term.strip()
        try:
            run_id = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, term)
        if queryset.model is AiAttempt:  # found by the run's internal key, which the attempts index
            return queryset.filter(run_key__in=selectors.run_keys(Q(run_id=run_id))), False
        return queryset.filter(run_id=run_id), False


class _AttemptsOfRun(BaseInlineFormSet):
    """A run's attempts found by its internal key, which the attempts index (not by run_id)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.queryset = AiAttempt.objects.filter(run_key=self.instance.run_key).order_by("attempt_index")


class AttemptInline(admin.TabularInline):
    """A run's attempts; a run has at most 200 (the largest budget), so all are shown."""

    model = AiAttempt
    formset = _AttemptsOfRun
    fk_name = "run"
    fields = (
        "attempt_index",
        "timestamp",
        "score",
        "risk_bucket",
        "is_acceptable",
        "ring_count",
        "total_width_mm",
        "candidate",
        "warnings",
    )
    readonly_fields = fields
    ordering = ("attempt_index",)
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AiRun)
class AiRunAdmin(ReadOnlyAdmin):
    list_display = (
        "timestamp",
        "run_id",
        "tool_id",
        "material_id",
        "machine_id",
        "workflow_mode",
        "profile_name",
        "profile_version",
        "attempts",
        "success",
        "reason",
        "selected_score",
        "selected_risk_bucket",
        "source",
    )
    date_hierarchy = "timestamp"
    list_filter = (
        RecentFilter,
        "success",
        "reason",
        "selected_risk_bucket",
        "workflow_mode",
        "source",
        "fallback_used",
    )
    search_fields = ("=tool_id", "=material_id", "=machine_id", "=profile_name", "=geometry_engine")
    search_help_text = "Exact tool, material, machine, profile or geometry engine id, or a run id."
    inlines = [AttemptInline]
    fieldsets = (
        (None, {"fields": ("run_id", "timestamp", "started_at", "elapsed_seconds", "recorded_at", "source")}),
        ("Context", {"fields": ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")}),
        (
            "Profile",
            {
                "fields": (
                    "profile_name",
                    "profile_version",
                    "profile_history_id",
                    "rule_id",
                    "fallback_used",
                    "catalog_revision",
                )
            },
        ),
        (
            "Budget",
            {"fields": ("max_attempts", "time_limit_seconds", "min_feasibility_score", "stop_on_first_green", "seed")},
        ),
        (
            "Outcome",
            {
                "fields": (
                    "attempts",
                    "success",
                    "reason",
                    "selected_score",
                    "selected_risk_bucket",
                    "selected_attempt_index",
                    "selected_candidate",
                    "warnings",
                )
            },
        ),
    )


@admin.register(AiAttempt)
class AiAttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "timestamp",
        "run_link",
        "attempt_index",
        "tool_id",
        "material_id",
        "machine_id",
        "workflow_mode",
        "profile_name",
        "score",
        "risk_bucket",
        "is_acceptable",
    )
    list_filter = (RecentFilter, "risk_bucket", "is_acceptable", "workflow_mode")
    search_fields = ("=tool_id", "=material_id", "=machine_id", "=profile_name", "=geometry_engine")
    search_help_text = "Exact tool, material, machine, profile or geometry engine id, or a run id."
    readonly_fields = ("run_link",)
    exclude = ("run", "run_key")

    @admin.display(description="run", ordering="run_id")
    def run_link(self, obj: AiAttempt):
        # The run may not have arrived yet (attempt events come first), so no join: link by id.
        url = reverse("admin:ailog_airun_changelist") + f"?q={obj.run_id}"
        return format_html('<a href="{}">{}</a>', url, obj.run_id)
