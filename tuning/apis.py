"""Tuning jobs over HTTP (DESIGN §11): ``/api/rmos/ai/tuning-jobs``. Reads need a signed-in
account; starting a job needs ``tuning.add_tuningjob`` and cancelling one
``tuning.change_tuningjob`` (operators and reviewers)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.context import CONTEXT_FIELDS
from engine.tuning import MAX_TRIALS, MIN_TRIALS, SEED_LIMIT
from rmos_site.api import (
    StrictCharField,
    StrictIntegerField,
    StrictQueryInteger,
    StrictSerializer,
    permission_for_writes,
    single_query_params,
)
from rmos_site.api_views import NoQueryParamsApi
from rmos_site.schema import paged_list
from tuning import selectors, services


class TuningJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    profile = serializers.CharField()
    profile_version = serializers.IntegerField(help_text="the version whose values are tuned")
    context = serializers.DictField(
        child=serializers.CharField(), allow_null=True, help_text="the focus context, or null (all the traffic)"
    )
    trials = serializers.IntegerField()
    seed = serializers.IntegerField()
    samples_per_context = serializers.IntegerField()
    state = serializers.CharField(help_text="queued, running, done, failed or cancelled")
    progress = inline_serializer(
        "TuningProgress", {"done": serializers.IntegerField(), "total": serializers.IntegerField()}
    )
    cancel_requested = serializers.BooleanField()
    stalled = serializers.BooleanField(help_text="running, but its worker gave no sign of life for 5 minutes")
    error = serializers.CharField(allow_blank=True, help_text="why the job failed")
    started_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class TuningJobDetailSerializer(TuningJobSerializer):
    traffic = serializers.ListField(
        child=serializers.DictField(), help_text="the contexts searched with their runs (the weights)"
    )
    saved = serializers.DictField(allow_null=True, help_text="the saved values and their predicted shares")
    proposals = serializers.ListField(
        child=serializers.DictField(),
        help_text="the best three distinct proposals: values, changes, diff (semantic), distinct_designs, "
        "prediction per context and overall against the saved values",
    )
    history = serializers.ListField(
        child=serializers.DictField(), help_text="every trial: objective, best_so_far, feasible, distinct_designs"
    )
    importances = serializers.DictField(child=serializers.FloatField(), help_text="the parameters' importances")
    search_space = serializers.DictField(allow_null=True)


class TuningJobListApi(APIView):
    permission_classes = [permission_for_writes(services.START_PERMISSION)]

    class QuerySerializer(StrictSerializer):
        format = serializers.ChoiceField(choices=["json"], required=False)
        profile = StrictCharField(required=False, max_length=64)
        page = StrictQueryInteger(required=False, min_value=1, default=1)
        limit = StrictQueryInteger(required=False, min_value=1, max_value=selectors.PER_PAGE_MAX, default=20)

    class InputSerializer(StrictSerializer):
        profile = StrictCharField(max_length=64)
        context = serializers.DictField(
            child=serializers.CharField(allow_blank=True, max_length=128),
            required=False,
            allow_null=True,
            help_text=f"one context of the profile's traffic to focus on ({', '.join(CONTEXT_FIELDS)})",
        )
        trials = StrictIntegerField(min_value=MIN_TRIALS, max_value=MAX_TRIALS)
        seed = StrictIntegerField(
            required=False, allow_null=True, min_value=0, max_value=SEED_LIMIT - 1, help_text="drawn when absent"
        )

    @extend_schema(
        operation_id="tuning_jobs_list",
        parameters=[
            OpenApiParameter("profile", str),
            OpenApiParameter("page", int, description="from 1"),
            OpenApiParameter("limit", int, description=f"1-{selectors.PER_PAGE_MAX}, default 20"),
        ],
        responses=paged_list("TuningJobList", TuningJobSerializer),
    )
    def get(self, request):
        query = self.QuerySerializer(data=single_query_params(request))
        query.is_valid(raise_exception=True)
        data = query.validated_data
        page = selectors.tuning_job_list(profile=data.get("profile"), page=data["page"], per_page=data["limit"])
        return Response(
            {
                "count": page.total,
                "page": page.page,
                "pages": page.pages,
                "limit": page.per_page,
                "results": [selectors.tuning_job_to_dict(job, detail=False) for job in page.jobs],
            }
        )

    @extend_schema(
        operation_id="tuning_jobs_create", request=InputSerializer, responses={201: TuningJobDetailSerializer}
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = services.tuning_job_create(
            profile=data["profile"],
            context=data.get("context"),
            trials=data["trials"],
            seed=data.get("seed"),
            user=request.user,
        )
        return Response(selectors.tuning_job_to_dict(job), status=201)


class TuningJobDetailApi(NoQueryParamsApi):
    @extend_schema(operation_id="tuning_jobs_get", responses=TuningJobDetailSerializer)
    def get(self, request, job_id: int):
        return Response(selectors.tuning_job_to_dict(selectors.tuning_job_get(job_id=job_id)))


class TuningJobCancelApi(APIView):
    permission_classes = [permission_for_writes(services.CANCEL_PERMISSION)]

    @extend_schema(operation_id="tuning_jobs_cancel", request=None, responses=TuningJobDetailSerializer)
    def post(self, request, job_id: int):
        job = services.tuning_job_cancel(job_id=job_id, user=request.user)
        return Response(selectors.tuning_job_to_dict(selectors.tuning_job_get(job_id=job.pk)))
