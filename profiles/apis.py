"""Profile API: read endpoints (always on) and the profile-admin router (seed paths, behind a flag)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.context import CONTEXT_FIELDS, WORKFLOW_MODES, Context
from engine.profile import (
    DESCRIPTION_MAX,
    MAX_RING_WIDTH_LIMIT,
    MAX_RINGS_LIMIT,
    MAX_TOTAL_WIDTH_LIMIT,
    PALETTE_KEY_MAX,
)
from profiles import selectors, services
from rmos_site.api import (
    StrictBooleanField,
    StrictCharField,
    StrictDecimalField,
    StrictIntegerField,
    StrictQueryInteger,
    StrictSerializer,
    permission_for_writes,
    single_query_params,
)
from rmos_site.api_views import NoQueryParamsApi
from rmos_site.errors import ValidationFailed

CHANGE_PROFILE = "profiles.change_constraintprofile"


class ProfileOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    min_rings = serializers.IntegerField()
    max_rings = serializers.IntegerField()
    min_ring_width_mm = serializers.FloatField()
    max_ring_width_mm = serializers.FloatField()
    min_total_width_mm = serializers.FloatField()
    max_total_width_mm = serializers.FloatField()
    allow_mosaic = serializers.BooleanField()
    allow_segmented = serializers.BooleanField()
    palette_key = serializers.CharField()
    bias_simple = serializers.BooleanField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField(allow_null=True)


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class ProfileChangeOutputSerializer(serializers.Serializer):
    profile = ProfileOutputSerializer()
    changed = serializers.BooleanField(help_text="false when the values were already these: no new version")
    changes = ChangeSerializer(many=True)
    history_id = serializers.IntegerField(allow_null=True)


class HistoryEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    type = serializers.ChoiceField(choices=["created", "changed", "rollback", "import", "deleted"])
    user = serializers.CharField(allow_null=True)
    operator = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    time = serializers.DateTimeField()
    rollback_of = serializers.IntegerField(allow_null=True)
    changes = ChangeSerializer(many=True)


def _change_body(change: services.ProfileChange) -> dict:
    return {
        "profile": selectors.profile_to_dict(change.profile),
        "changed": change.changed,
        "changes": change.changes,
        "history_id": change.history_id,
    }


class ProfileListApi(NoQueryParamsApi):
    @extend_schema(
        operation_id="profiles_list",
        responses=inline_serializer(
            "ProfileList", {"count": serializers.IntegerField(), "results": ProfileOutputSerializer(many=True)}
        ),
    )
    def get(self, request):
        results = [selectors.profile_to_dict(p) for p in selectors.profile_list()]
        return Response({"count": len(results), "results": results})


class ProfileDetailApi(NoQueryParamsApi):
    @extend_schema(operation_id="profiles_get", responses=ProfileOutputSerializer)
    def get(self, request, name: str):
        return Response(selectors.profile_to_dict(selectors.profile_get(name=name)))


class RuleListApi(NoQueryParamsApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        match = serializers.DictField(child=serializers.CharField(allow_blank=True))
        profile = serializers.CharField()
        priority = serializers.IntegerField()
        enabled = serializers.BooleanField()
        note = serializers.CharField(allow_blank=True)
        version = serializers.IntegerField()

    @extend_schema(
        operation_id="rules_list",
        responses=inline_serializer(
            "RuleList", {"count": serializers.IntegerField(), "results": OutputSerializer(many=True)}
        ),
    )
    def get(self, request):
        results = [selectors.rule_to_dict(r) for r in selectors.rule_list()]
        return Response({"count": len(results), "results": results})


# ---------------------------------------------------------------------------------------------
# profile-admin (exists only when ENABLE_RMOS_PROFILE_ADMIN=true; see profiles/urls.py)


class ProfileValuesInputSerializer(StrictSerializer):
    """Any subset of a profile's values, as JSON types only ("3" is not a number): a PUT's
    changes and a preview's proposed values are read alike."""

    description = StrictCharField(required=False, allow_blank=True, max_length=DESCRIPTION_MAX, trim_whitespace=False)
    min_rings = StrictIntegerField(required=False, min_value=1, max_value=MAX_RINGS_LIMIT)
    max_rings = StrictIntegerField(required=False, min_value=1, max_value=MAX_RINGS_LIMIT)
    min_ring_width_mm = StrictDecimalField(
        required=False, max_digits=5, decimal_places=2, above=0, max_value=MAX_RING_WIDTH_LIMIT
    )
    max_ring_width_mm = StrictDecimalField(
        required=False, max_digits=5, decimal_places=2, above=0, max_value=MAX_RING_WIDTH_LIMIT
    )
    min_total_width_mm = StrictDecimalField(
        required=False, max_digits=5, decimal_places=2, above=0, max_value=MAX_TOTAL_WIDTH_LIMIT
    )
    max_total_width_mm = StrictDecimalField(
        required=False, max_digits=5, decimal_places=2, above=0, max_value=MAX_TOTAL_WIDTH_LIMIT
    )
    allow_mosaic = StrictBooleanField(required=False)
    allow_segmented = StrictBooleanField(required=False)
    palette_key = StrictCharField(required=False, allow_blank=True, max_length=PALETTE_KEY_MAX)
    bias_simple = StrictBooleanField(required=False)


class ProfileAdminListApi(ProfileListApi):
    @extend_schema(
        operation_id="profile_admin_list",
        responses=inline_serializer(
            "ProfileAdminList", {"count": serializers.IntegerField(), "results": ProfileOutputSerializer(many=True)}
        ),
    )
    def get(self, request):
        return super().get(request)


class ProfileAdminDetailApi(NoQueryParamsApi):
    permission_classes = [permission_for_writes(CHANGE_PROFILE)]

    class InputSerializer(ProfileValuesInputSerializer):
        note = StrictCharField(help_text="why you make this change (required; journaled)", max_length=services.NOTE_MAX)
        operator = StrictCharField(required=False, allow_blank=True, max_length=services.OPERATOR_MAX)
        version = StrictIntegerField(
            required=False, min_value=1, help_text="the version you edited; a stale one gets 409"
        )

    @extend_schema(operation_id="profile_admin_get", responses=ProfileOutputSerializer)
    def get(self, request, name: str):
        return Response(selectors.profile_to_dict(selectors.profile_get(name=name)))

    @extend_schema(
        operation_id="profile_admin_update", request=InputSerializer, responses=ProfileChangeOutputSerializer
    )
    def put(self, request, name: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        note = data.pop("note")
        operator = data.pop("operator", "")
        version = data.pop("version", None)
        change = services.profile_update(
            name=name, changes=data, note=note, version=version, user=request.user, operator=operator
        )
        return Response(_change_body(change))


class QuerySerializer(StrictSerializer):
    """Query parameters; ``format`` belongs to DRF's content negotiation and is let through."""

    format = serializers.ChoiceField(choices=["json"], required=False)


class ProfileAdminHistoryApi(APIView):
    class QuerySerializer(QuerySerializer):  # noqa: F811 - extends the module's, which takes ?format=json
        limit = StrictQueryInteger(required=False, min_value=1, max_value=selectors.PROFILE_HISTORY_MAX, default=50)

    @extend_schema(
        operation_id="profile_admin_history",
        parameters=[OpenApiParameter("limit", int, description=f"1-{selectors.PROFILE_HISTORY_MAX}, default 50")],
        responses=inline_serializer(
            "ProfileHistory",
            {
                "profile": serializers.CharField(),
                "count": serializers.IntegerField(),
                "results": HistoryEntrySerializer(many=True),
            },
        ),
    )
    def get(self, request, name: str):
        query = self.QuerySerializer(data=single_query_params(request))
        query.is_valid(raise_exception=True)
        results = selectors.profile_history(name=name, limit=query.validated_data["limit"])
        return Response({"profile": name, "count": len(results), "results": results})


class ProfileAdminRollbackApi(APIView):
    permission_classes = [permission_for_writes(CHANGE_PROFILE)]

    class InputSerializer(StrictSerializer):
        id = StrictIntegerField(
            required=False,
            min_value=1,
            help_text="the history record to restore: the `id` of an entry of {name}/history (not its version); "
            "give this or to_version",
        )
        to_version = StrictIntegerField(
            required=False,
            min_value=1,
            help_text="the profile version to restore (the `version` of an entry of {name}/history); give this or id",
        )
        note = StrictCharField(max_length=services.NOTE_MAX)
        operator = StrictCharField(required=False, allow_blank=True, max_length=services.OPERATOR_MAX)
        version = StrictIntegerField(
            required=False,
            min_value=1,
            help_text="the current version you are rolling back (optional): if someone saved since, 409 and nothing is written",
        )

        def validate(self, attrs):
            if ("id" in attrs) == ("to_version" in attrs):
                raise serializers.ValidationError(
                    {
                        "id": "give either id (a history record id) or to_version (a profile version), not both or neither"
                    }
                )
            return attrs

    @extend_schema(
        operation_id="profile_admin_rollback", request=InputSerializer, responses=ProfileChangeOutputSerializer
    )
    def post(self, request, name: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        history_id = data.get("id")
        if history_id is None:
            selectors.profile_get(name=name)  # 404 for a profile that does not exist
            history_id = selectors.ProfileVersionLookup([name]).history_id_of(name, data["to_version"])
            if history_id is None:
                raise ValidationFailed.single(
                    "to_version", "unknown_version", f"profile {name!r} has no version {data['to_version']} to restore"
                )
        change = services.profile_rollback(
            name=name,
            history_id=history_id,
            note=data["note"],
            user=request.user,
            operator=data.get("operator", ""),
            version=data.get("version"),
        )
        return Response(_change_body(change))


# ---------------------------------------------------------------------------------------------
# Generator: catalog, resolution, snapshots and the what-if preview


class ContextFields(serializers.Serializer):
    tool_id = StrictCharField(max_length=128, help_text="catalog tool id, e.g. saw:slitting-0.5")
    material_id = StrictCharField(max_length=128, help_text="catalog material id, e.g. wood:maple-hard")
    machine_id = StrictCharField(max_length=128, help_text="catalog machine id, e.g. prod:vmc-3axis")
    workflow_mode = serializers.ChoiceField(choices=WORKFLOW_MODES, required=False, default="constraint_first")
    geometry_engine = StrictCharField(max_length=128, required=False, allow_blank=True, default="")


def _context_from(data) -> Context:
    return selectors.context_parse({f: data.get(f) for f in CONTEXT_FIELDS})


class CatalogApi(NoQueryParamsApi):
    @extend_schema(operation_id="catalog_get", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(selectors.catalog_get().to_dict())


class ResolveApi(APIView):
    class QuerySerializer(QuerySerializer, ContextFields):
        pass

    @extend_schema(operation_id="resolve", parameters=[QuerySerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.QuerySerializer(data=single_query_params(request))
        query.is_valid(raise_exception=True)
        resolved = selectors.context_resolve(context=_context_from(query.validated_data))
        return Response(resolved.summary())


class SnapshotApi(APIView):
    class QuerySerializer(QuerySerializer, ContextFields):
        n_samples = StrictQueryInteger(
            required=False,
            default=50,
            min_value=5,
            max_value=10_000,
            help_text="default 50 here, for a quick look; the dashboard's inspector samples 500",
        )
        seed = StrictQueryInteger(
            required=False,
            min_value=0,
            max_value=2**63 - 1,
            help_text="without it every call draws a new random sample; the dashboard uses seed 1 so one address "
            "shows one picture",
        )
        profile = serializers.CharField(
            required=False, max_length=64, help_text="sample this profile instead of the resolved one"
        )

    @extend_schema(operation_id="snapshot", parameters=[QuerySerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.QuerySerializer(data=single_query_params(request))
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = selectors.snapshot_sample(
            context=_context_from(data),
            n_samples=data["n_samples"],
            seed=data.get("seed"),
            profile_name=data.get("profile"),
        )
        return Response(result)


class SnapshotPreviewApi(APIView):
    class InputSerializer(StrictSerializer, ContextFields):
        profile = StrictCharField(required=False, max_length=64)
        n_samples = StrictIntegerField(required=False, default=500, min_value=5, max_value=10_000)
        seed = StrictIntegerField(required=False, min_value=0, max_value=2**63 - 1)
        changes = ProfileValuesInputSerializer(
            help_text="proposed, unsaved profile values (any subset of the profile fields)"
        )

    @extend_schema(operation_id="snapshot_preview", request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = selectors.snapshot_preview(
            context=_context_from(data),
            changes=data["changes"],
            n_samples=data["n_samples"],
            seed=data.get("seed"),
            profile_name=data.get("profile"),
        )
        return Response(result)
