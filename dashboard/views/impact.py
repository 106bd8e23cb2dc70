"""Did my edit help? The compare view of two versions, and acknowledging a regression alert.

The compare view shows what ``GET /api/rmos/ai/analytics/compare`` answers: the pooled verdict
with its interval drawn, and the per-context table behind it. Acknowledging needs the profile
change permission, as the API does.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ailog.filters import LogFilter
from analytics import filters as analytics_filters
from analytics import selectors as analytics_selectors
from analytics import services as analytics_services
from dashboard.panels.outcomes import comparison_view
from dashboard.views.profiles import CHANGE_PERMISSION, can_edit_profiles, profile_or_404, safe_next
from rmos_site import present
from rmos_site.errors import ApplicationError, ValidationFailed
from rmos_site.roles import permission_refusal


def _default_pair(name: str) -> tuple[int, int] | None:
    """The current version and the one it replaced (as profile-versions compares them)."""
    results = analytics_selectors.profile_versions(profile=name, filters=LogFilter(profile=name))["results"]
    for result in results:
        if result["comparisons"]:
            return result["comparisons"][0]["against"], result["version"]
    return None


@login_required
@require_GET
def profile_compare(request: HttpRequest, name: str) -> HttpResponse:
    profile = profile_or_404(name)
    versions = sorted(
        analytics_selectors.profile_versions(profile=profile.name, filters=LogFilter(profile=profile.name))["results"],
        key=lambda r: r["version"],
    )
    query = {"profile": profile.name, "a": request.GET.get("a", ""), "b": request.GET.get("b", "")}
    errors: list[str] = []
    answer = None
    status = 200
    if not query["a"] and not query["b"]:
        pair = _default_pair(profile.name)
        if pair is not None:
            query["a"], query["b"] = str(pair[0]), str(pair[1])
    if query["a"] or query["b"]:
        try:
            parsed = analytics_filters.compare_query_parse(query)
            answer = analytics_selectors.version_comparison(profile=profile.name, a=parsed.a, b=parsed.b)
        except ValidationFailed as exc:
            errors = [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail]
            status = 400
    rows = []
    if answer is not None:
        for row in answer["contexts"]:
            rows.append(
                {
                    **row,
                    "a_rate": present.percent(row["a"]["success_rate"], 1),
                    "b_rate": present.percent(row["b"]["success_rate"], 1),
                    "difference_text": present.points(row["difference"]),
                    "weight_text": present.percent(row["weight"], 1),
                }
            )
    context = {
        "nav": "profiles",
        "profile": profile,
        "versions": [r["version"] for r in versions],
        "a": query["a"],
        "b": query["b"],
        "errors": errors,
        "answer": answer,
        "view": comparison_view(profile.name, answer["version"], answer) if answer else None,
        "rows": rows,
        "api_url": f"{reverse('analytics-compare')}?{urlencode(query)}" if answer else "",
    }
    return render(request, "profiles/compare.html", context, status=status)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    if not can_edit_profiles(request.user):
        raise PermissionDenied(permission_refusal(action="Acknowledging an alert", perm=CHANGE_PERMISSION))
    next_url = safe_next(request, request.POST.get("next"), reverse("dashboard") + "#alerts")
    try:
        alert = analytics_services.alert_acknowledge(
            alert_id=alert_id, note=request.POST.get("note", ""), user=request.user
        )
    except ApplicationError as exc:
        messages.error(
            request, f"The alert was not acknowledged: {'; '.join(e.message for e in exc.errors) or exc.detail}"
        )
    else:
        messages.success(request, f"Acknowledged: {analytics_selectors.alert_dict(alert)['summary']}.")
    return redirect(next_url)
