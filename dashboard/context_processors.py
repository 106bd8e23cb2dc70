"""What every page's header shows: how many change requests wait on the signed-in user."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from profiles import selectors


def change_requests_awaiting(request: HttpRequest) -> dict:
    # Lazy: counted only on pages whose header renders it (one indexed query), never on the API.
    user = getattr(request, "user", None)
    return {"awaiting_count": SimpleLazyObject(lambda: selectors.change_request_awaiting_count(user=user))}
