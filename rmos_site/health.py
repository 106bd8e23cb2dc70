"""``GET /healthz``: for load balancers and process supervisors. No login, no HTTPS redirect."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when this process can reach its database, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    # Nothing about the stack: the probe needs no login, so anyone may read the answer.
    return JsonResponse({"status": "ok"})
