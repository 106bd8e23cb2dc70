"""Analytics over HTTP (DESIGN.md §4, ``rmos/ai/analytics/*``): parse, call one selector, answer.

The numbers are defined in analytics.metrics (and docs/analytics.md)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ailog.filters import FORMAT_PARAM
from analytics import filters, selectors, services
from engine.prediction import (
    DEFAULT_MIN_SCORE,
    DEFAULT_SAMPLES_PER_CONTEXT,
    MAX_SAMPLES_PER_CONTEXT,
    MIN_SAMPLES_PER_CONTEXT,
)
from engine.profile import CONTROL_CHARACTERS_MESSAGE, control_characters
from rmos_site.api import (
    StrictCharField,
    StrictQueryInteger,
    StrictSerializer,
    permission_for_writes,
    single_query_params,
)
from rmos_site.errors import ValidationFailed

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
    avg_selected_score = serializers.FloatField(allow_null=True, help_text="over the successful runs")
    avg_failed_best_score = serializers.FloatField(
        allow_null=True, help_text="the failed runs' best candidate, apart (over those that scored one)"
    )
    outcomes = serializers.DictField(child=serializers.IntegerField(), help_text="runs per reason")
    attempts = serializers.IntegerField()
    risk = serializers.DictField(help_text="GREEN / YELLOW / RED: {count, share} over attempts (search cost)")
    red_share = serializers.FloatField(
        allow_null=True, help_text="each run's RED share of its attempts, averaged over runs"
    )
    red_share_ci = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="95% interval of red_share over runs"
    )
    red_share_runs = serializers.IntegerField(help_text="the runs with attempts red_share averages over")
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


_COMPARISON = inline_serializer(
    "VersionComparison",
    {
        "against": serializers.IntegerField(help_text="version A (the comparison is A -> this version)"),
        "kind": serializers.ChoiceField(choices=["previous", "restored", "requested"]),
        "method": serializers.CharField(help_text="mantel-haenszel"),
        "strata": serializers.IntegerField(help_text="contexts both versions saw"),
        "runs": serializers.ListField(child=serializers.IntegerField(), help_text="[A, B] runs in those contexts"),
        "difference": serializers.FloatField(allow_null=True, help_text="MH pooled difference of success rates B - A"),
        "ci95": serializers.ListField(child=serializers.FloatField(), allow_null=True),
        "p_value": serializers.FloatField(allow_null=True, help_text="Cochran-Mantel-Haenszel test"),
        "crude_difference": serializers.FloatField(allow_null=True, help_text="over all runs, not stratified"),
        "verdict": serializers.ChoiceField(choices=["better", "worse", "no_change_detected", "not_comparable"]),
        "runs_needed": serializers.ListField(
            child=serializers.IntegerField(), allow_null=True, help_text="[A, B] more runs to detect 5 points"
        ),
        "note": serializers.CharField(allow_null=True),
    },
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
                    help_text="newest version first: journal entry (time, user, note, type, changes), the stats, "
                    "comparisons (each like GET compare), the prediction stored when it was saved, and what was observed",
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


class OverviewApi(APIView):
    @extend_schema(
        operation_id="analytics_overview",
        description="The dashboard's overview strip for the same filters (usually only since / until).",
        parameters=_FILTERS,
        responses=inline_serializer(
            "Overview",
            {
                "since": serializers.DateTimeField(allow_null=True),
                "until": serializers.DateTimeField(allow_null=True),
                **{name: _Stats().get_fields()[name] for name in selectors.overview_fields()},
                "open_alerts": serializers.IntegerField(help_text="regression alerts open now (whatever the range)"),
                "open_change_requests": serializers.IntegerField(
                    help_text="change requests awaiting review now (state open; approved ones wait to be published)"
                ),
            },
        ),
    )
    def get(self, request):
        query = filters.overview_query_parse(_api_query(request))
        services.alerts_refresh()
        return Response(selectors.overview(filters=query))


class ProfileTrafficApi(APIView):
    """A profile's blast radius: the contexts whose runs named it in the last ``days`` days."""

    class QuerySerializer(StrictSerializer):
        format = serializers.ChoiceField(choices=["json"], required=False)
        profile = StrictCharField(max_length=64)
        days = StrictQueryInteger(
            required=False, min_value=1, max_value=selectors.traffic.BLAST_RADIUS_MAX_DAYS, default=30
        )

    @extend_schema(
        operation_id="analytics_profile_traffic",
        parameters=[
            OpenApiParameter("profile", str, required=True),
            OpenApiParameter(
                "days",
                int,
                description=f"1-{selectors.traffic.BLAST_RADIUS_MAX_DAYS} UTC days, today included (default 30)",
            ),
        ],
        responses=inline_serializer(
            "ProfileTraffic",
            {
                "profile": serializers.CharField(),
                "days": serializers.IntegerField(),
                "since": serializers.DateField(),
                "runs": serializers.IntegerField(),
                "contexts": serializers.ListField(
                    child=serializers.DictField(), help_text="[{tool_id, …, runs, share}], most runs first"
                ),
            },
        ),
    )
    def get(self, request):
        query = self.QuerySerializer(data=single_query_params(request))
        query.is_valid(raise_exception=True)
        data = query.validated_data
        if control_characters(data["profile"]):  # PostgreSQL refuses a NUL in a query
            raise ValidationFailed.single("profile", "characters", CONTROL_CHARACTERS_MESSAGE)
        return Response(selectors.profile_blast_radius(profile=data["profile"], days=data["days"]))


class CompareApi(APIView):
    """Version ``a`` -> ``b`` of a profile, stratified by context, with the per-context table."""

    @extend_schema(
        operation_id="analytics_compare",
        parameters=[
            OpenApiParameter("profile", str, required=True),
            OpenApiParameter("a", int, required=True, description="the version compared against"),
            OpenApiParameter("b", int, required=True, description="the version judged"),
        ]
        + [p for p in _FILTERS if p.name != "profile"],
        responses=_COMPARISON,
    )
    def get(self, request):
        query = filters.compare_query_parse(_api_query(request))
        return Response(
            selectors.version_comparison(profile=query.profile, a=query.a, b=query.b, filters=query.filters)
        )


class AlertsApi(APIView):
    @extend_schema(
        operation_id="analytics_alerts",
        parameters=[
            OpenApiParameter("state", str, description="open | acknowledged | cleared | superseded (default: all)"),
            OpenApiParameter("profile", str),
            OpenApiParameter("limit", int, description=f"1-{filters.ALERTS_LIMIT_MAX}, default 50"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        query = filters.alerts_query_parse(_api_query(request))
        services.alerts_refresh()
        return Response(selectors.alert_list(state=query.state, profile=query.profile, limit=query.limit))


class AlertAcknowledgeApi(APIView):
    permission_classes = [permission_for_writes("profiles.change_constraintprofile")]

    class InputSerializer(StrictSerializer):
        note = serializers.CharField(max_length=2000, help_text="what you did about it, or why nothing")

    @extend_schema(operation_id="analytics_alert_acknowledge", request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, alert_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = services.alert_acknowledge(alert_id=alert_id, note=data.validated_data["note"], user=request.user)
        return Response(selectors.alert_dict(alert))


class PredictApi(APIView):
    """Predicted acceptable and GREEN shares of the saved values and of ``changes`` on the
    profile's traffic of the last 30 days (DESIGN §9). Writes nothing."""

    class InputSerializer(StrictSerializer):
        changes = serializers.DictField(help_text="proposed values of any constraint fields")
        samples_per_context = serializers.JSONField(
            required=False,
            help_text=f"{MIN_SAMPLES_PER_CONTEXT}-{MAX_SAMPLES_PER_CONTEXT:,}, default {DEFAULT_SAMPLES_PER_CONTEXT}",
        )
        seed = serializers.JSONField(required=False, help_text="for a repeatable answer; drawn and reported if absent")
        min_feasibility_score = serializers.JSONField(
            required=False, help_text=f"what a search accepts (default {DEFAULT_MIN_SCORE:g})"
        )

    @extend_schema(operation_id="profile_predict", request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, name: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        return Response(
            selectors.profile_prediction(
                name=name,
                changes=values["changes"],
                samples_per_context=values.get("samples_per_context", DEFAULT_SAMPLES_PER_CONTEXT),
                seed=values.get("seed"),
                min_feasibility_score=values.get("min_feasibility_score", DEFAULT_MIN_SCORE),
            )
        )
