"""Analytics over HTTP (DESIGN.md §4, ``rmos/ai/analytics/*``): parse, call one selector, answer.

The numbers are defined in analytics.metrics (and docs/analytics.md)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ailog.filters import FORMAT_PARAM
from analytics import filters, selectors

_FILTERS = [
    OpenApiParameter(name, str, description=description)
    for name, description in (
        ("tool_id", ""),
        ("material_id", ""),
        ("machine_id", ""),
        ("workflow_mode", ""),
        ("geometry_engine", ""),
        ("profile", "profile name"),
        ("since", "inclusive; ISO date (UTC day) or date-time with timezone"),
        ("until", "exclusive; a bare date includes that whole day"),
        ("run_id", "one run"),
    )
]
_WINDOWS = [
    OpenApiParameter(
        "max_runs", int, description=f"run numbers from the most recent N matching runs only (1-{filters.WINDOW_MAX:,})"
    ),
    OpenApiParameter(
        "max_attempts",
        int,
        description=f"risk numbers from the most recent N matching attempts only (1-{filters.WINDOW_MAX:,})",
    ),
]


class _Stats(serializers.Serializer):
    runs = serializers.IntegerField()
    successes = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)
    success_rate_ci = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="95% Wilson interval"
    )
    avg_attempts = serializers.FloatField(allow_null=True)
    avg_selected_score = serializers.FloatField(allow_null=True)
    outcomes = serializers.DictField(child=serializers.IntegerField(), help_text="runs per reason")
    attempts = serializers.IntegerField()
    risk = serializers.DictField(help_text="GREEN / YELLOW / RED: {count, share} over attempts")
    red_share_ci = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    last_run = serializers.DateTimeField(allow_null=True)


def _api_query(request):
    """The query without ``format``: DRF's content negotiation reads it (json, the only format
    analytics answers in, passes; others are refused there), the filters never see it."""
    query = request.query_params.copy()
    query.pop(FORMAT_PARAM, None)
    return query


class ProfileStatsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField(help_text="contexts matching, in all")
        limit = serializers.IntegerField()
        window = serializers.DictField()
        results = inline_serializer(
            "ContextStats",
            {
                "tool_id": serializers.CharField(),
                "material_id": serializers.CharField(),
                "machine_id": serializers.CharField(),
                "geometry_engine": serializers.CharField(),
                # The numbers sit beside the context in each result (metrics.Counts.summary).
                **_Stats().get_fields(),
                "profiles": serializers.ListField(
                    child=serializers.DictField(), help_text="[{profile, version, runs}]"
                ),
            },
            many=True,
        )

    @extend_schema(
        operation_id="analytics_profile_stats",
        parameters=_FILTERS
        + _WINDOWS
        + [OpenApiParameter("limit", int, description="1-1000 contexts, default 100; most runs first")],
        responses=OutputSerializer,
    )
    def get(self, request):
        query = filters.stats_query_parse(_api_query(request))
        return Response(selectors.profile_stats(filters=query.filters, window=query.window, limit=query.limit))


class HotspotsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        considered = serializers.IntegerField(help_text="contexts with at least min_runs runs")
        min_runs = serializers.IntegerField()
        limit = serializers.IntegerField()
        window = serializers.DictField()
        results = inline_serializer(
            "Hotspot",
            {
                "tool_id": serializers.CharField(),
                "material_id": serializers.CharField(),
                "machine_id": serializers.CharField(),
                "geometry_engine": serializers.CharField(),
                "score": serializers.FloatField(
                    help_text="100 x the larger 95% Wilson lower bound of failure rate and RED share"
                ),
                "reasons": serializers.ListField(child=serializers.CharField()),
            },
            many=True,
        )

    @extend_schema(
        operation_id="analytics_hotspots",
        parameters=_FILTERS
        + _WINDOWS
        + [
            OpenApiParameter("limit", int, description="1-100, default 10"),
            OpenApiParameter("min_runs", int, description="only contexts with at least this many runs (default 5)"),
        ],
        responses=OutputSerializer,
    )
    def get(self, request):
        query = filters.hotspots_query_parse(_api_query(request))
        return Response(
            selectors.hotspots(filters=query.filters, window=query.window, limit=query.limit, min_runs=query.min_runs)
        )


class ProfileVersionsApi(APIView):
    @extend_schema(
        operation_id="analytics_profile_versions",
        parameters=[OpenApiParameter("profile", str, required=True)] + [p for p in _FILTERS if p.name != "profile"],
        responses=inline_serializer(
            "ProfileVersions",
            {
                "profile": serializers.CharField(),
                "exists": serializers.BooleanField(),
                "results": serializers.ListField(
                    child=serializers.DictField(),
                    help_text="newest version first: journal entry (time, user, note, type, changes), the stats, and delta against the previous version",
                ),
                "unknown_version": serializers.DictField(allow_null=True),
            },
        ),
    )
    def get(self, request):
        query = filters.versions_query_parse(_api_query(request))
        return Response(selectors.profile_versions(profile=query.profile, filters=query.filters))


class TimeseriesApi(APIView):
    @extend_schema(
        operation_id="analytics_timeseries",
        parameters=_FILTERS,
        responses=inline_serializer(
            "Timeseries",
            {
                "since": serializers.DateTimeField(),
                "until": serializers.DateTimeField(),
                "days": serializers.ListField(child=serializers.DictField()),
                "markers": serializers.ListField(
                    child=serializers.DictField(), help_text="journaled changes of the profiles in the series"
                ),
            },
        ),
    )
    def get(self, request):
        query = filters.timeseries_query_parse(_api_query(request))
        return Response(selectors.timeseries(filters=query.filters))
