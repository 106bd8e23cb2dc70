"""The log's endpoints: lists, one run, and the two ingestion forms."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ailog import selectors, services
from ailog.apis.common import (
    ADD_RUN,
    IngestJSONParser,
    ListApi,
    PassThroughItems,
    filter_parameters,
    refuse_oversized,
)
from ailog.apis.shapes import (
    ATTEMPT_COLUMNS,
    RUN_COLUMNS,
    AttemptOutputSerializer,
    IngestOutputSerializer,
    RunOutputSerializer,
    attempt_json,
    ingest_response,
    page_schema,
    run_json,
)
from ailog.filters import (
    ATTEMPT_FILTERS,
    RUN_FILTERS,
)
from ailog.records import EVENT_TYPES
from rmos_site.api import (
    IngestRateThrottle,
    StrictSerializer,
    permission_for_writes,
)
from rmos_site.api_views import NoQueryParamsApi


class AttemptListApi(ListApi):
    kind = selectors.ATTEMPTS
    filters = ATTEMPT_FILTERS
    csv_columns = ATTEMPT_COLUMNS

    @extend_schema(
        operation_id="ai_attempts_list",
        parameters=filter_parameters(ATTEMPT_FILTERS),
        responses=page_schema("AttemptPage", AttemptOutputSerializer),
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
        parameters=filter_parameters(RUN_FILTERS),
        responses=page_schema("RunPage", RunOutputSerializer),
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
    parser_classes = [IngestJSONParser]

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
        refuse_oversized(request)
        with services.paused_gc():  # decoding too: see ailog.services.ingest.paused_gc
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return ingest_response(services.runs_ingest(runs=serializer.validated_data["runs"]))


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
    parser_classes = [IngestJSONParser]

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
        refuse_oversized(request)
        with services.paused_gc():
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return ingest_response(services.events_ingest(events=serializer.validated_data["events"]))
