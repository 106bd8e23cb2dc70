"""Constraint search: run the engine's search loop for a context and record it like any run."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ailog import search, selectors
from ailog.apis.common import RUN_SEARCH
from ailog.apis.shapes import attempt_json, run_json
from ailog.models import Source
from engine.context import CONTEXT_FIELDS, WORKFLOW_MODES
from profiles import selectors as profile_selectors
from rmos_site.api import (
    StrictBooleanField,
    StrictCharField,
    StrictDecimalField,
    StrictIntegerField,
    StrictSerializer,
    permission_for_writes,
)


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
