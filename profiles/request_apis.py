"""Change requests over HTTP (DESIGN §10): ``/api/rmos/ai/change-requests``; and the rules' preview.

Each view parses its input, calls one service or selector, and shapes the answer. Reads need a
signed-in account; writes need the operator's or the reviewer's role (opening a request, or
reviewing one); the finer rules (who revises, approves, publishes) are the service's.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from profiles import selectors, services
from profiles.apis import ProfileValuesInputSerializer
from profiles.services.rule_preview import DEFAULT_DAYS, MAX_DAYS, rule_preview
from rmos_site.api import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictQueryInteger,
    StrictSerializer,
    single_query_params,
)
from rmos_site.api_views import NoQueryParamsApi
from rmos_site.schema import paged_list


class MayTakePart(BasePermission):
    """Reads: any signed-in account. Writes: an account that may open or review requests."""

    message = (
        "Change requests are opened by operators and reviewed by reviewers; viewers and integrators only read them."
    )

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or services.may_open(user) or services.may_review(user)


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    revision = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=["approve", "request_changes", "comment"])
    note = serializers.CharField(allow_blank=True)
    reviewer = serializers.CharField()
    time = serializers.DateTimeField()
    counts = serializers.BooleanField(help_text="false for an approval of an earlier revision (it no longer counts)")


class RequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    profile = serializers.CharField()
    state = serializers.ChoiceField(choices=list(selectors.change_requests.STATES))
    revision = serializers.IntegerField()
    base_version = serializers.IntegerField()
    changes = serializers.DictField(help_text="only the fields the proposal changes, with their new values")
    note = serializers.CharField()
    author = serializers.CharField()
    approvals = serializers.IntegerField(help_text="approvals of the current revision")
    required_approvals = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    published_version = serializers.IntegerField(allow_null=True)
    published_history_id = serializers.IntegerField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)


class RequestDetailSerializer(RequestSerializer):
    diff = serializers.ListField(
        child=serializers.DictField(), help_text="[{field, before, after, kind, mark, words}] against the base version"
    )
    summary = serializers.CharField()
    moved_meanwhile = serializers.ListField(
        child=serializers.DictField(), help_text="what versions after the base changed (a stale request)"
    )
    approved_by = serializers.ListField(child=serializers.CharField())
    published_by = serializers.CharField(allow_null=True)
    profile_version = serializers.IntegerField(help_text="the profile's version now")
    proposed_values = serializers.DictField(help_text="every value the profile would have once published")
    reviews = ReviewSerializer(many=True)


def _detail(request_id: int) -> dict:
    return selectors.change_request_to_dict(selectors.change_request_get(request_id=request_id), detail=True)


class ChangeRequestListApi(APIView):
    permission_classes = [MayTakePart]

    class QuerySerializer(StrictSerializer):
        format = serializers.ChoiceField(choices=["json"], required=False)
        state = serializers.CharField(required=False, help_text="one or more states, comma-separated")
        profile = serializers.CharField(required=False)
        author = serializers.CharField(required=False, help_text="the author's username")
        awaiting = serializers.CharField(required=False, help_text="'me': the requests waiting on you")
        page = StrictQueryInteger(required=False, min_value=1, default=1)
        limit = StrictQueryInteger(
            required=False, min_value=1, max_value=selectors.change_requests.PER_PAGE_MAX, default=20
        )

    class InputSerializer(StrictSerializer):
        profile = StrictCharField(max_length=64)
        base_version = StrictIntegerField(min_value=1, help_text="the profile version the proposal starts from")
        changes = ProfileValuesInputSerializer(help_text="the fields to change (any subset)")
        note = StrictCharField(max_length=services.NOTE_MAX, help_text="why (required)")

    @extend_schema(
        operation_id="change_requests_list",
        parameters=[
            OpenApiParameter(
                "state", str, description="open, approved, published, rejected, withdrawn, stale (comma-separated)"
            ),
            OpenApiParameter("profile", str),
            OpenApiParameter("author", str),
            OpenApiParameter("awaiting", str, description="me"),
            OpenApiParameter("page", int, description="from 1"),
            OpenApiParameter("limit", int, description=f"1-{selectors.change_requests.PER_PAGE_MAX}, default 20"),
        ],
        responses=paged_list("ChangeRequestList", RequestSerializer),
    )
    def get(self, request):
        params = single_query_params(request)
        query = self.QuerySerializer(data=params)
        query.is_valid(raise_exception=True)
        filters = selectors.request_filter_parse(params)
        page = selectors.change_request_list(
            filters=filters,
            user=request.user,
            page=query.validated_data["page"],
            per_page=query.validated_data["limit"],
        )
        return Response(
            {
                "count": page.total,
                "page": page.page,
                "pages": page.pages,
                "limit": page.per_page,
                "results": [selectors.change_request_to_dict(r) for r in page.requests],
            }
        )

    @extend_schema(
        operation_id="change_requests_create", request=InputSerializer, responses={201: RequestDetailSerializer}
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = services.change_request_create(
            profile_name=data["profile"],
            base_version=data["base_version"],
            changes=data["changes"],
            note=data["note"],
            user=request.user,
        )
        return Response(_detail(created.pk), status=201)


class ChangeRequestDetailApi(NoQueryParamsApi):
    permission_classes = [MayTakePart]

    @extend_schema(operation_id="change_requests_get", responses=RequestDetailSerializer)
    def get(self, request, request_id: int):
        return Response(_detail(request_id))


class ChangeRequestReviseApi(APIView):
    permission_classes = [MayTakePart]

    class InputSerializer(StrictSerializer):
        base_version = StrictIntegerField(min_value=1, help_text="the profile's current version")
        changes = ProfileValuesInputSerializer()
        note = StrictCharField(max_length=services.NOTE_MAX)

    @extend_schema(operation_id="change_requests_revise", request=InputSerializer, responses=RequestDetailSerializer)
    def post(self, request, request_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.change_request_revise(
            request_id=request_id,
            base_version=data["base_version"],
            changes=data["changes"],
            note=data["note"],
            user=request.user,
        )
        return Response(_detail(request_id))


class ChangeRequestReviewApi(APIView):
    permission_classes = [MayTakePart]

    class InputSerializer(StrictSerializer):
        decision = serializers.ChoiceField(choices=["approve", "request_changes", "comment"])
        note = StrictCharField(
            required=False, allow_blank=True, max_length=services.NOTE_MAX, help_text="required unless approving"
        )
        revision = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text="the revision you reviewed: if the author revised the request since, 409 (rule revision_changed) "
            "and nothing is recorded",
        )

    @extend_schema(
        operation_id="change_requests_review", request=InputSerializer, responses={201: RequestDetailSerializer}
    )
    def post(self, request, request_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.change_request_review(
            request_id=request_id,
            decision=data["decision"],
            note=data.get("note", ""),
            user=request.user,
            revision=data.get("revision"),
        )
        return Response(_detail(request_id), status=201)


class ChangeRequestPublishApi(APIView):
    permission_classes = [MayTakePart]

    class InputSerializer(StrictSerializer):
        pass

    @extend_schema(operation_id="change_requests_publish", request=InputSerializer, responses=RequestDetailSerializer)
    def post(self, request, request_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_request_publish(request_id=request_id, user=request.user)
        return Response(_detail(request_id))


class ChangeRequestWithdrawApi(APIView):
    permission_classes = [MayTakePart]

    class InputSerializer(StrictSerializer):
        note = StrictCharField(required=False, allow_blank=True, max_length=services.NOTE_MAX)

    @extend_schema(operation_id="change_requests_withdraw", request=InputSerializer, responses=RequestDetailSerializer)
    def post(self, request, request_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_request_withdraw(
            request_id=request_id, note=serializer.validated_data.get("note", ""), user=request.user
        )
        return Response(_detail(request_id))


class RulePreviewApi(APIView):
    """The rules' ``preview``: which contexts a rule change would send to another profile. Saves nothing."""

    class InputSerializer(StrictSerializer):
        rule = StrictCharField(
            required=False, max_length=64, help_text="the rule to change or delete; leave out for a new rule"
        )
        values = serializers.DictField(
            required=False,
            help_text="the rule's fields in the canonical shape (name, match{tool_id, …}, profile, priority, enabled, note); "
            "for an existing rule only those that change",
        )
        delete = StrictBooleanField(required=False, default=False)
        days = StrictIntegerField(required=False, default=DEFAULT_DAYS, min_value=1, max_value=MAX_DAYS)

    @extend_schema(operation_id="rules_preview", request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = rule_preview(
            name=data.get("rule"), values=data.get("values"), delete=data["delete"], days=data["days"]
        )
        return Response(result)
