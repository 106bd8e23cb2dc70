"""Reads of the regression watch's alerts (raised by :mod:`analytics.services.alerts`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from analytics.models import RegressionAlert
from rmos_site.errors import ValidationFailed
from rmos_site.present import utc_iso

STATES = tuple(RegressionAlert.State.values)
LIST_LIMIT_MAX = 200


def rollback_url(alert: RegressionAlert) -> str | None:
    """The rollback page of the version before, with a note that says why (the form shows it)."""
    if alert.against_history_id is None:
        return None
    path = reverse("profile-rollback", args=[alert.profile_name, alert.against_history_id])
    note = (
        f"Roll back v{alert.version} of {alert.profile_name}: judged worse than v{alert.against_version} "
        f"(alert {alert.pk})"
    )
    return f"{path}?{urlencode({'note': note})}"


def alert_dict(alert: RegressionAlert) -> dict[str, Any]:
    comparison = alert.comparison or {}
    return {
        "id": alert.pk,
        "profile": alert.profile_name,
        "version": alert.version,
        "against_version": alert.against_version,
        "state": alert.state,
        "raised_at": utc_iso(alert.raised_at),
        "checked_at": utc_iso(alert.checked_at),
        "comparison": comparison,
        "summary": alert_summary(alert),
        "rollback_url": rollback_url(alert),
        "profile_url": reverse("profile-detail", args=[alert.profile_name]) + f"#version-{alert.version}",
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by else None,
        "acknowledged_at": utc_iso(alert.acknowledged_at) if alert.acknowledged_at else None,
        "note": alert.note or None,
    }


def alert_summary(alert: RegressionAlert) -> str:
    """One sentence: "thin_saw v3 is worse than v2: -12.0 points (95% interval -18.1 to -5.9)"."""
    c = alert.comparison or {}
    text = f"{alert.profile_name} v{alert.version} is worse than v{alert.against_version}"
    if c.get("difference") is not None and c.get("ci95"):
        low, high = c["ci95"]
        text += (
            f": {c['difference'] * 100:+.1f} points of success within contexts "
            f"(95% interval {low * 100:+.1f} to {high * 100:+.1f})"
        )
    return text


def alert_list(*, state: str | None = None, profile: str | None = None, limit: int = 50) -> dict[str, Any]:
    """Alerts, newest raised first; ``state`` one of :data:`STATES` (default: all)."""
    if state is not None and state not in STATES:
        raise ValidationFailed.single("state", "choice", f"must be one of {', '.join(STATES)}")
    queryset = RegressionAlert.objects.select_related("acknowledged_by").order_by("-raised_at", "-id")
    if state is not None:
        queryset = queryset.filter(state=state)
    if profile is not None:
        queryset = queryset.filter(profile_name=profile)
    rows = list(queryset[: limit + 1])
    return {
        "count": queryset.count() if len(rows) > limit else len(rows),
        "limit": limit,
        "results": [alert_dict(alert) for alert in rows[:limit]],
    }


def alerts_open() -> list[dict[str, Any]]:
    """The open alerts, newest first (the header, the dashboard and the profile page show them)."""
    return alert_list(state=RegressionAlert.State.OPEN, limit=LIST_LIMIT_MAX)["results"]


def alerts_open_count() -> int:
    return RegressionAlert.objects.filter(state=RegressionAlert.State.OPEN).count()


def profile_alerts(*, profile: str) -> dict[int, list[dict[str, Any]]]:
    """Every alert of ``profile`` (any state), per version: the version's history shows them."""
    out: dict[int, list[dict[str, Any]]] = {}
    for alert in RegressionAlert.objects.filter(profile_name=profile).select_related("acknowledged_by").order_by("id"):
        out.setdefault(alert.version, []).append(alert_dict(alert))
    return out
