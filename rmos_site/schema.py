"""OpenAPI post-processing: every operation documents the one error shape it may answer with."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object

ERROR_SCHEMA = {
    "type": "object",
    "required": ["status", "code", "detail", "errors"],
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "rule", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "rule": {"type": "string"},
                    "message": {"type": "string"},
                    "index": {"type": "integer"},
                },
            },
        },
    },
    "additionalProperties": True,
}
ERRORS = {
    "400": "Invalid input: each error names the field and the rule it breaks",
    "401": "No or bad credentials (session or 'Authorization: Token <key>')",
    "403": "Signed in, but without the permission this operation needs",
    "404": "No such object (or the profile-admin router is switched off)",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "409": "Conflict: a stale version, or a different payload under an existing id",
    "413": "Request body too large",
    "415": "Unsupported media type: send application/json",
    "429": "Too many requests; retry after the Retry-After header's seconds",
}


def add_error_responses(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result


class AutoSchema(SpectacularAutoSchema):
    """Names nested serializers after their view (``HotspotsApi.OutputSerializer`` becomes
    ``HotspotsApiOutput``), so the one-serializer-pair-per-view style never collides; documents
    the exclusive lower bound of a :class:`~rmos_site.api.StrictDecimalField` given ``above``."""

    def _insert_min_max(self, field, content):
        super()._insert_min_max(field, content)
        above = getattr(field, "above", None)
        if above is not None and field.min_value is None:
            content.update(minimum=above, exclusiveMinimum=True)

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            return qualname.replace(".", "")
        return super().get_serializer_name(serializer, direction)


class TokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Token <key>`` (drf-spectacular's knox extension matches knox's class only)."""

    target_class = "rmos_site.api.ThrottledTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")


def paged_list(name: str, item_serializer) -> object:
    """The schema of a page of a numbered list (``count``, ``page``, ``pages``, ``limit``,
    ``results``), as the change-request and tuning-job lists answer."""
    from drf_spectacular.utils import inline_serializer
    from rest_framework import serializers

    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "page": serializers.IntegerField(),
            "pages": serializers.IntegerField(),
            "limit": serializers.IntegerField(),
            "results": item_serializer(many=True),
        },
    )
