"""The AI log over HTTP (DESIGN.md §4, ``rmos/logs/ai/*``). Views parse, call one service or
selector, and shape the answer; the rules live in services, selectors and ailog.filters."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ailog import search, selectors, services
from ailog.filters import (
    ATTEMPT_FILTERS,
    FORMAT_PARAM,
    LIMIT_MAX,
    PAGE_PARAMS,
    RUN_FILTERS,
    log_filter_parse,
    page_parse,
)
from ailog.models import Source
from ailog.records import EVENT_TYPES
from engine.context import CONTEXT_FIELDS, WORKFLOW_MODES
from profiles import selectors as profile_selectors
from rmos_site.api import (
    IngestRateThrottle,
    StrictBooleanField,
    StrictCharField,
    StrictDecimalField,
    StrictIntegerField,
    StrictSerializer,
    permission_for_writes,
)
from rmos_site.api_views import NoQueryParamsApi
from rmos_site.errors import PayloadTooLarge
from rmos_site.present import utc_iso

ADD_RUN = "ailog.add_airun"
RUN_SEARCH = "ailog.run_search"


# ---------------------------------------------------------------------------------------------
# Shared pieces


class CSVRenderer(BaseRenderer):
    """Lets ``?format=csv`` (and ``Accept: text/csv``) select the CSV answer; the view streams it."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover - views stream instead
        raise NotImplementedError("list views stream CSV themselves")


class _Echo:
    def write(self, value: str) -> str:
        return value


class ListApi(APIView):
    """A log list: JSON pages, or the same rows streamed as CSV."""

    renderer_classes = [JSONRenderer, CSVRenderer]
    kind = ""
    filters: tuple[str, ...] = ()
    csv_columns: tuple[str, ...] = ()

    def finalize_response(self, request, response, *args, **kwargs):
        # Only the streamed row lists are CSV: errors and anything else DRF answers itself (an
        # OPTIONS description, say) are JSON, even when ?format=csv was asked for.
        if isinstance(response, Response) and (response.status_code >= 400 or self.wants_csv(request)):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def wants_csv(self, request) -> bool:
        return getattr(request, "accepted_renderer", None) is not None and request.accepted_renderer.format == "csv"

    def parse(self, request):
        query = request.query_params
        filters = log_filter_parse(query, allowed=self.filters, extra=PAGE_PARAMS + (FORMAT_PARAM,))
        return filters, page_parse(query, kind=self.kind)

    def next_url(self, request, page) -> str | None:
        """This request's URL with the cursor of the page after ``page`` (None on the last page)."""
        if not page.next_cursor:
            return None
        params = request.query_params.copy()
        params["cursor"] = page.next_cursor
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

    def page_response(self, request, page, rows: list[dict[str, Any]]) -> Response:
        next_url = self.next_url(request, page)
        return Response(
            {
                "count": len(rows),
                "limit": page.limit,
                "next_cursor": page.next_cursor,
                "next": next_url,
                "results": rows,
            }
        )

    def csv_page_response(self, request, page, rows: Iterable[dict[str, Any]], filename: str) -> StreamingHttpResponse:
        """A CSV of one page (``limit`` given): the next page's URL in a ``Link: <…>; rel="next"``
        header, as a CSV has no room for it."""
        response = self.csv_response(rows, filename)
        next_url = self.next_url(request, page)
        if next_url:
            response["Link"] = f'<{next_url}>; rel="next"'
        return response

    def csv_response(self, rows: Iterable[dict[str, Any]], filename: str) -> StreamingHttpResponse:
        columns = self.csv_columns
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield writer.writerow(columns)
            for row in rows:
                yield writer.writerow([_csv_cell(row[c]) for c in columns])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


#: A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # Integrators choose these texts (tool ids, engines, profile names): a leading quote makes
        # a spreadsheet show them as text instead of running them.
        return "'" + value
    return value


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
class PassThroughItems(serializers.Field):
    """A list of items, decoded JSON handed on unchanged: the service checks the list and every
    item itself, much faster than DRF fields would for 50,000 attempts."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


def _refuse_oversized(request) -> None:
    """413 from the Content-Length header alone, before a byte of the body is read."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge.body_over(limit, length, advice="Split the batch.")


def _filter_parameters(names: Iterable[str]) -> list[OpenApiParameter]:
    descriptions = {
        "run_id": "one run (UUID)",
        "since": "inclusive; ISO date (UTC day) or date-time with timezone",
        "until": "exclusive; a bare date includes that whole day",
        "risk_bucket": "GREEN, YELLOW or RED (on runs: the selected candidate's bucket)",
        "profile": "profile name",
        "success": "true or false",
    }
    params = [OpenApiParameter(name, str, description=descriptions.get(name, "")) for name in names]
    params += [
        OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
        OpenApiParameter("limit", int, description=f"1-{LIMIT_MAX}, default 100 (CSV: no default limit)"),
        OpenApiParameter("format", str, enum=["json", "csv"], description="csv streams every matching row"),
    ]
    return params


# ---------------------------------------------------------------------------------------------
# Output shapes


class AttemptOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    run_id = serializers.UUIDField()
    attempt_index = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    tool_id = serializers.CharField()
    material_id = serializers.CharField()
    machine_id = serializers.CharField()
    workflow_mode = serializers.CharField()
    geometry_engine = serializers.CharField()
    profile = serializers.CharField(
        source="profile_name", help_text="the run's profile; empty until its summary arrives"
    )
    profile_version = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField()
    risk_bucket = serializers.CharField()
    is_acceptable = serializers.BooleanField()
    ring_count = serializers.IntegerField(allow_null=True)
    total_width_mm = serializers.FloatField(allow_null=True)
    candidate = serializers.JSONField(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())


class RunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    run_id = serializers.UUIDField()
    timestamp = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    elapsed_seconds = serializers.FloatField(allow_null=True)
    recorded_at = serializers.DateTimeField()
    source = serializers.CharField()
    tool_id = serializers.CharField()
    material_id = serializers.CharField()
    machine_id = serializers.CharField()
    workflow_mode = serializers.CharField()
    geometry_engine = serializers.CharField()
    profile = serializers.CharField(source="profile_name")
    profile_version = serializers.IntegerField(allow_null=True)
    profile_history_id = serializers.IntegerField(allow_null=True)
    rule_id = serializers.IntegerField(allow_null=True)
    fallback_used = serializers.BooleanField(allow_null=True)
    catalog_revision = serializers.CharField()
    max_attempts = serializers.IntegerField(allow_null=True)
    time_limit_seconds = serializers.FloatField(allow_null=True)
    min_feasibility_score = serializers.FloatField(allow_null=True)
    stop_on_first_green = serializers.BooleanField(allow_null=True)
    seed = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    success = serializers.BooleanField()
    reason = serializers.CharField()
    selected_score = serializers.FloatField(allow_null=True)
    selected_risk_bucket = serializers.CharField(allow_null=True)
    selected_attempt_index = serializers.IntegerField(allow_null=True)
    selected_candidate = serializers.JSONField(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())


ATTEMPT_COLUMNS = tuple(AttemptOutputSerializer().fields)
RUN_COLUMNS = tuple(RunOutputSerializer().fields)


# The serializers above document the shapes (OpenAPI); these functions produce them from the
# selectors' row dicts. A page is 100-1000 rows, and DRF's field-by-field machinery would be
# half of its time.
# tests/ailog/test_apis.py checks that both give the same output.


def _moment(value):
    return None if value is None else utc_iso(value)


def attempt_json(a: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": a["id"],
        "run_id": str(a["run_id"]),
        "attempt_index": a["attempt_index"],
        "timestamp": _moment(a["timestamp"]),
        "tool_id": a["tool_id"],
        "material_id": a["material_id"],
        "machine_id": a["machine_id"],
        "workflow_mode": a["workflow_mode"],
        "geometry_engine": a["geometry_engine"],
        "profile": a["profile_name"],
        "profile_version": a["profile_version"],
        "score": a["score"],
        "risk_bucket": a["risk_bucket"],
        "is_acceptable": a["is_acceptable"],
        "ring_count": a["ring_count"],
        "total_width_mm": a["total_width_mm"],
        "candidate": a["candidate"],
        "warnings": a["warnings"],
    }


def run_json(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "run_id": str(r["run_id"]),
        "timestamp": _moment(r["timestamp"]),
        "started_at": _moment(r["started_at"]),
        "elapsed_seconds": r["elapsed_seconds"],
        "recorded_at": _moment(r["recorded_at"]),
        "source": r["source"],
        "tool_id": r["tool_id"],
        "material_id": r["material_id"],
        "machine_id": r["machine_id"],
        "workflow_mode": r["workflow_mode"],
        "geometry_engine": r["geometry_engine"],
        "profile": r["profile_name"],
        "profile_version": r["profile_version"],
        "profile_history_id": r["profile_history_id"],
        "rule_id": r["rule_id"],
        "fallback_used": r["fallback_used"],
        "catalog_revision": r["catalog_revision"],
        "max_attempts": r["max_attempts"],
        "time_limit_seconds": r["time_limit_seconds"],
        "min_feasibility_score": r["min_feasibility_score"],
        "stop_on_first_green": r["stop_on_first_green"],
        "seed": r["seed"],
        "attempts": r["attempts"],
        "success": r["success"],
        "reason": r["reason"],
        "selected_score": r["selected_score"],
        "selected_risk_bucket": r["selected_risk_bucket"],
        "selected_attempt_index": r["selected_attempt_index"],
        "selected_candidate": r["selected_candidate"],
        "warnings": r["warnings"],
    }


def _page_schema(name: str, item: type[serializers.Serializer]):
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(help_text="rows on this page"),
            "limit": serializers.IntegerField(),
            "next_cursor": serializers.CharField(allow_null=True),
            "next": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


class IngestOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["created", "unchanged"], help_text="unchanged: a retry that stored nothing new"
    )
    runs = serializers.DictField(child=serializers.IntegerField(), help_text="{created, unchanged}")
    attempts = serializers.DictField(child=serializers.IntegerField(), help_text="{created, unchanged}")
    unchanged_run_ids = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(
        child=serializers.DictField(), help_text="[{index, field, rule, message}], e.g. an unknown profile"
    )


def _ingest_response(result: services.IngestResult) -> Response:
    body = {
        "status": "created" if result.created else "unchanged",
        "runs": {"created": result.runs_created, "unchanged": result.runs_unchanged},
        "attempts": {"created": result.attempts_created, "unchanged": result.attempts_unchanged},
        "unchanged_run_ids": result.unchanged_run_ids,
        "warnings": [w.as_dict() for w in result.warnings],
    }
    return Response(IngestOutputSerializer(body).data, status=201 if result.created else 200)


# ---------------------------------------------------------------------------------------------
# Views


class AttemptListApi(ListApi):
    kind = selectors.ATTEMPTS
    filters = ATTEMPT_FILTERS
    csv_columns = ATTEMPT_COLUMNS

    @extend_schema(
        operation_id="ai_attempts_list",
        parameters=_filter_parameters(ATTEMPT_FILTERS),
        responses=_page_schema("AttemptPage", AttemptOutputSerializer),
    )
    def get(self, request):
        filters, page_request = self.parse(request)
        if self.wants_csv(request):
            if page_request.limit_given:
                page = selectors.attempt_list(filters=filters, cursor=page_request.cursor, limit=page_request.limit)
                return self.csv_page_response(request, page, map(attempt_json, page.items), "attempts.csv")
            rows = selectors.attempt_stream(filters=filters, cursor=page_request.cursor)
            return self.csv_response(map(attempt_json, rows), "attempts.csv")
        page = selectors.attempt_list(filters=filters, cursor=page_request.cursor, limit=page_request.limit)
        return self.page_response(request, page, [attempt_json(a) for a in page.items])


class RunListApi(ListApi):
    kind = selectors.RUNS
    filters = RUN_FILTERS
    csv_columns = RUN_COLUMNS

    @extend_schema(
        operation_id="ai_runs_list",
        parameters=_filter_parameters(RUN_FILTERS),
        responses=_page_schema("RunPage", RunOutputSerializer),
    )
    def get(self, request):
        filters, page_request = self.parse(request)
        if self.wants_csv(request):
            if page_request.limit_given:
                page = selectors.run_list(filters=filters, cursor=page_request.cursor, limit=page_request.limit)
                return self.csv_page_response(request, page, map(run_json, page.items), "runs.csv")
            rows = selectors.run_stream(filters=filters, cursor=page_request.cursor)
            return self.csv_response(map(run_json, rows), "runs.csv")
        page = selectors.run_list(filters=filters, cursor=page_request.cursor, limit=page_request.limit)
        return self.page_response(request, page, [run_json(r) for r in page.items])


class RunIngestApi(APIView):
    permission_classes = [permission_for_writes(ADD_RUN)]
    throttle_classes = [IngestRateThrottle]

    class InputSerializer(StrictSerializer):
        runs = PassThroughItems(
            help_text=(
                f"up to {services.MAX_RUNS_PER_REQUEST:,} runs and {services.MAX_ATTEMPTS_PER_REQUEST:,} attempts in all; "
                "each run as in GET runs/{run_id} without the fields only the server sets, its attempts in attempt_records"
            )
        )

    @extend_schema(
        operation_id="ai_runs_ingest",
        request=InputSerializer,
        responses={200: IngestOutputSerializer, 201: IngestOutputSerializer},
    )
    def post(self, request):
        _refuse_oversized(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _ingest_response(services.runs_ingest(runs=serializer.validated_data["runs"]))


class RunsApi(RunListApi, RunIngestApi):
    """``GET`` lists runs, ``POST`` ingests a batch: two operations that share one path."""

    permission_classes = [permission_for_writes(ADD_RUN)]


class RunDetailApi(NoQueryParamsApi):
    class OutputSerializer(RunOutputSerializer):
        attempt_records = AttemptOutputSerializer(many=True)

    @extend_schema(operation_id="ai_runs_get", responses=OutputSerializer)
    def get(self, request, run_id: str):
        detail = selectors.run_get(run_id=run_id)
        data = run_json(detail.run)
        data["attempt_records"] = [attempt_json(a) for a in detail.attempts]
        return Response(data)


class EventIngestApi(APIView):
    permission_classes = [permission_for_writes(ADD_RUN)]
    throttle_classes = [IngestRateThrottle]

    class InputSerializer(StrictSerializer):
        events = PassThroughItems(
            help_text=(
                f"up to {services.MAX_EVENTS_PER_REQUEST:,} events, each with event_type {' or '.join(EVENT_TYPES)} "
                "and the seed's fields; attempts may come before their run summary"
            )
        )

    @extend_schema(
        operation_id="ai_events_ingest",
        request=InputSerializer,
        responses={200: IngestOutputSerializer, 201: IngestOutputSerializer},
    )
    def post(self, request):
        _refuse_oversized(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _ingest_response(services.events_ingest(events=serializer.validated_data["events"]))


# ---------------------------------------------------------------------------------------------
# Constraint search: run the engine's search loop for a context and record it like any run


class ConstraintSearchApi(APIView):
    permission_classes = [permission_for_writes(RUN_SEARCH)]

    class InputSerializer(StrictSerializer):
        tool_id = StrictCharField(max_length=128, help_text="catalog tool id, e.g. saw:slitting-0.5")
        material_id = StrictCharField(max_length=128, help_text="catalog material id, e.g. wood:ebony")
        machine_id = StrictCharField(max_length=128, help_text="catalog machine id, e.g. prod:vmc-3axis")
        workflow_mode = serializers.ChoiceField(choices=WORKFLOW_MODES, required=False, default="constraint_first")
        geometry_engine = StrictCharField(max_length=128, required=False, allow_blank=True, default="")
        profile = StrictCharField(
            required=False, max_length=64, help_text="search under this profile instead of the resolved one"
        )
        max_attempts = StrictIntegerField(required=False, min_value=1, max_value=200, help_text="1-200, default 50")
        time_limit_seconds = StrictDecimalField(
            required=False,
            max_digits=6,
            decimal_places=3,
            min_value=Decimal("0.1"),
            max_value=60,
            help_text="0.1-60, default 30",
        )
        min_feasibility_score = StrictDecimalField(
            required=False, max_digits=6, decimal_places=2, min_value=0, max_value=100, help_text="0-100, default 80"
        )
        stop_on_first_green = StrictBooleanField(required=False, help_text="default true")
        seed = StrictIntegerField(required=False, min_value=0, max_value=2**63 - 1)

    @extend_schema(operation_id="constraint_search", request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        context = profile_selectors.context_parse({f: data.pop(f, None) for f in CONTEXT_FIELDS})
        profile_name = data.pop("profile", None)
        budget = search.budget_parse(data)
        run, outcome = search.search_run_execute(
            context=context, budget=budget, profile_name=profile_name, source=Source.INTERNAL
        )
        detail = selectors.run_get(run_id=str(run.run_id))
        body = run_json(detail.run)
        body["attempt_records"] = [attempt_json(a) for a in detail.attempts]
        body["duplicates_skipped"] = outcome.duplicates_skipped
        return Response(body, status=201)
