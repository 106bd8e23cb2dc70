"""The shapes of the log's answers: serializers for the schema, and the fast functions that produce
them from the selectors' rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from ailog import services
from rmos_site.present import utc_iso


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


def page_schema(name: str, item: type[serializers.Serializer]):
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(
                help_text="rows on this page (len(results), at most limit), not a total: follow next_cursor "
                "until it is null; totals over a range come from GET /api/rmos/ai/analytics/overview"
            ),
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


def ingest_response(result: services.IngestResult) -> Response:
    body = {
        "status": "created" if result.created else "unchanged",
        "runs": {"created": result.runs_created, "unchanged": result.runs_unchanged},
        "attempts": {"created": result.attempts_created, "unchanged": result.attempts_unchanged},
        "unchanged_run_ids": result.unchanged_run_ids,
        "warnings": [w.as_dict() for w in result.warnings],
    }
    return Response(IngestOutputSerializer(body).data, status=201 if result.created else 200)
