"""What every API answer shares, whichever view (or none) produced it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from rmos_site.errors import json_error_response


def api_responses(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Under /api/: answers are per caller, so no shared cache keeps them (``private, no-store``,
    ``Vary: Authorization``); and a chunked body without Content-Length is a 411 that says so.
    WSGI hands Django no such body, so the view saw an empty request and named a missing field."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return get_response(request)
        chunked = (
            request.method in ("POST", "PUT", "PATCH")
            and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        )
        if chunked and request.META.get("CONTENT_LENGTH") in (None, "", "0"):
            response: HttpResponse = json_error_response(
                411,
                "length_required",
                "Send the body with a Content-Length header: chunked request bodies are not read here.",
            )
        else:
            response = get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-store"
        patch_vary_headers(response, ["Authorization"])
        return response

    return middleware


#: Scripts only from this site's own files (no inline script, no eval, no other origin), so injected
#: markup cannot run code. Styles may be inline: the admin and the server-drawn charts write some,
#: and a style cannot run code. ``data:`` images: the API docs' icons.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Every answer carries :data:`CONTENT_SECURITY_POLICY` (one static header: no nonces needed)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return middleware
