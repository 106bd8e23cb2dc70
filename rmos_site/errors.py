"""One error vocabulary for the whole product, and one JSON shape for it.

Services raise :class:`ApplicationError` subclasses carrying :class:`FieldError` items. The DRF
exception handler below turns those, DRF's own exceptions and Django's ``ValidationError`` into

    {"status": 400, "code": "validation_error", "detail": "<one line>",
     "errors": [{"field": "max_rings", "rule": "min_le_max", "message": "…", "index": 3}]}

``index`` appears only for batch items; ``errors`` is never empty (field ``""`` when the request
as a whole is refused, with ``code`` as the rule). Extra keys (e.g. ``current`` on a 409) may be added.
Dashboard views attach the same ``FieldError`` items to their forms.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger("rmos.errors")


@dataclass(frozen=True)
class FieldError:
    field: str
    rule: str
    message: str
    index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "rule": self.rule, "message": self.message}
        if self.index is not None:
            data["index"] = self.index
        return data

    def __str__(self) -> str:
        where = f"[{self.index}] " if self.index is not None else ""
        message = self.message.removesuffix(".")  # parts are joined with "; " into one sentence
        return f"{where}{self.field}: {message}" if self.field else f"{where}{message}"


class ApplicationError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400
    code = "invalid"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Iterable[FieldError] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.errors = list(errors)
        if detail is None:
            detail = "; ".join(str(e) for e in self.errors[:3]) or self.code
            if len(self.errors) > 3:
                detail += f"; and {len(self.errors) - 3} more"
        self.detail = detail
        self.extra = extra or {}
        super().__init__(detail)

    def as_dict(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.detail, self.errors, self.extra)


class ValidationFailed(ApplicationError):
    status = 400
    code = "validation_error"

    @classmethod
    def single(cls, field: str, rule: str, message: str) -> ValidationFailed:
        return cls(errors=[FieldError(field, rule, message)])


class Forbidden(ApplicationError):
    """The account may not do this (a role's missing permission, or a rule such as "no one
    approves their own change request")."""

    status = 403
    code = "permission_denied"


class NotFound(ApplicationError):
    """``extra={"field": …}`` names the parameter that found nothing; it is also listed in
    ``errors`` (rule ``not_found``), so every 4xx body has the same shape."""

    status = 404
    code = "not_found"

    def __init__(
        self, detail: str | None = None, *, errors: Iterable[FieldError] = (), extra: dict[str, Any] | None = None
    ) -> None:
        errors = list(errors)
        field = (extra or {}).get("field")
        if field and not errors and detail:
            errors = [FieldError(field, "not_found", detail)]
        super().__init__(detail, errors=errors, extra=extra)


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApplicationError):
    status = 413
    code = "payload_too_large"

    @classmethod
    def body_over(cls, limit: int, length: int | None = None, *, advice: str = "") -> PayloadTooLarge:
        """A request body over ``limit`` bytes (``length``: what its Content-Length said)."""
        size = f"is {length:,} bytes" if length is not None else "is too large"
        return cls(
            f"The request body {size}; the limit is {limit:,} bytes.{' ' + advice if advice else ''}",
            errors=[FieldError("", "max_body_size", f"at most {limit:,} bytes per request")],
        )


def error_body(
    status: int, code: str, detail: str, errors: Iterable[FieldError] = (), extra: dict | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": code, "detail": detail}
    # Never empty: a refusal of the request as a whole (401, 405, 415, 429, a body that is not
    # JSON, no such endpoint…) is one item with field "" and the code as its rule.
    body["errors"] = [e.as_dict() for e in errors] or [{"field": "", "rule": code, "message": detail}]
    if extra:
        body.update(extra)
    return body


def field_errors_from_drf(detail: Any, prefix: str = "") -> list[FieldError]:
    """Flatten DRF's nested ``ValidationError.detail`` into field errors with dotted paths."""
    out: list[FieldError] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            out.extend(field_errors_from_drf(value, path))
    elif isinstance(detail, list):
        if detail and all(isinstance(item, (dict, list)) for item in detail):
            for i, item in enumerate(detail):
                out.extend(field_errors_from_drf(item, f"{prefix}[{i}]" if prefix else f"[{i}]"))
        else:
            for item in detail:
                out.extend(field_errors_from_drf(item, prefix))
    else:
        rule = getattr(detail, "code", None) or "invalid"
        out.append(FieldError(prefix, str(rule), str(detail)))
    return out


def field_errors_from_django(exc: DjangoValidationError) -> list[FieldError]:
    out: list[FieldError] = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            name = "" if field == "__all__" else field
            for error in errors:
                message = error.message % error.params if error.params else error.message
                out.append(FieldError(name, error.code or "invalid", str(message)))
    else:
        for error in exc.error_list:
            message = error.message % error.params if error.params else error.message
            out.append(FieldError("", error.code or "invalid", str(message)))
    return out


_DRF_CODES = {
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
    drf_exceptions.ParseError: "parse_error",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every API error leaves in the shape described above."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):  # DRF reading a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(context["request"].META.get("CONTENT_LENGTH") or "")
        except (KeyError, ValueError):
            length = None
        too_large = PayloadTooLarge.body_over(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, length)
        return Response(too_large.as_dict(), status=too_large.status)
    if isinstance(exc, DjangoValidationError):
        errors = field_errors_from_django(exc)
        return Response(ValidationFailed(errors=errors).as_dict(), status=400)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = field_errors_from_drf(exc.detail)
        return Response(ValidationFailed(errors=errors).as_dict(), status=400)
    if isinstance(exc, drf_exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = next((c for k, c in _DRF_CODES.items() if isinstance(exc, k)), "error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(error_body(exc.status_code, code, str(detail)), status=exc.status_code, headers=headers)
    return None


def json_error_response(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(error_body(status, code, detail), status=status)
