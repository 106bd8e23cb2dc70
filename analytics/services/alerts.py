"""The regression watch (DESIGN §9): a version judged ``worse`` than the one it replaced raises an
alert; someone who may edit profiles acknowledges it with a note, journaled.

:func:`alerts_refresh` keeps the alerts current from the all-time aggregates: for each profile's
current version with at least :data:`ALERT_MIN_RUNS` runs, the stratified comparison with the
version it replaced (the nearest earlier version with runs, as in ``profile-versions``). Two
queries of the aggregates whatever the log's size, then one comparison per profile. The alerts
API, the dashboard and the profile page refresh before they read (a refresh is idempotent, so
concurrent ones agree), the dashboard's live overview at most once a minute; the page header only
counts the open alerts.

An alert's states: ``open`` (raised), ``acknowledged`` (someone looked; it stays so),
``cleared`` (with the runs since, the version is no longer worse; reopens if it becomes worse
again), ``superseded`` (a newer version was saved while it was open). Every change of state is a
history record (django-simple-history), with the acting user and note for an acknowledgement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from analytics.models import ContextTotal, RegressionAlert
from analytics.selectors.aggregates import _summed
from analytics.selectors.comparisons import PREVIOUS, STRATUM, comparison_dict
from profiles import selectors as profile_selectors
from rmos_site.errors import Conflict, NotFound, ValidationFailed

#: Each version needs this many runs in the contexts both saw before a ``worse`` raises an alert:
#: the interval is a large-sample one, and an operator should not be paged on a handful of runs.
ALERT_MIN_RUNS = 30
NOTE_MAX = 2000


def watched_pairs(current: dict[str, int]) -> dict[str, tuple[int, int]]:
    """For each profile (name → current version): ``(against, version)`` - its current version
    and the nearest earlier version with runs - when the current one has runs."""
    if not current:
        return {}
    runs = _summed(
        ContextTotal, Q(profile_name__in=list(current), runs__gt=0), ("profile_name", "profile_version"), ("runs",)
    )
    by_profile: dict[str, dict[int, int]] = {}
    for (name, version), values in runs.items():
        by_profile.setdefault(name, {})[version] = values[0]
    pairs = {}
    for name, version in current.items():
        seen = by_profile.get(name, {})
        earlier = [v for v in seen if 0 < v < version]
        if seen.get(version) and earlier:
            pairs[name] = (max(earlier), version)
    return pairs


def current_comparisons(*, current: dict[str, int] | None = None) -> dict[str, dict[str, Any]]:
    """The comparison of each profile's current version (``current``: name → version, default
    every profile's) with the version it replaced."""
    if current is None:
        current = _current_versions()
    pairs = watched_pairs(current)
    if not pairs:
        return {}
    wanted = Q()
    for name, (against, version) in pairs.items():
        wanted |= Q(profile_name=name, profile_version__in=(against, version))
    rows = _summed(
        ContextTotal,
        wanted & Q(runs__gt=0),
        ("profile_name", "profile_version", *STRATUM),
        ("runs", "green_found", "acceptable_found"),
    )
    tables: dict[str, dict[int, dict[tuple, tuple[int, int]]]] = {}
    for key, (runs, green, acceptable) in ((k, v[:3]) for k, v in rows.items()):
        tables.setdefault(key[0], {}).setdefault(key[1], {})[key[2:]] = (green + acceptable, runs)
    out = {}
    for name, (against, version) in pairs.items():
        out[name] = {"version": version, **comparison_dict(tables.get(name, {}), against, version, kind=PREVIOUS)}
    return out


def _current_versions() -> dict[str, int]:
    return {profile.name: profile.version for profile in profile_selectors.profile_list()}


def _raises(comparison: dict[str, Any]) -> bool:
    return comparison["verdict"] == "worse" and min(comparison["runs"]) >= ALERT_MIN_RUNS


REFRESH_EVERY_SECONDS = 60


def alerts_refresh_due() -> bool:
    """:func:`alerts_refresh`, at most once a minute across every process (the shared cache holds
    the mark): the dashboard's live overview asks on each of its refreshes, so an alert raised by
    new runs reaches an open dashboard without a reload. True when it refreshed."""
    if not cache.add("rmos:alerts-refreshed", True, REFRESH_EVERY_SECONDS):
        return False
    alerts_refresh()
    return True


def alerts_refresh(*, now: datetime | None = None) -> None:
    """Raise, update, clear or supersede alerts from the aggregates (see the module docstring)."""
    now = now or timezone.now()
    current = _current_versions()
    comparisons = current_comparisons(current=current)
    for name, comparison in comparisons.items():
        version, against = comparison["version"], comparison["against"]
        raising = _raises(comparison)
        snapshot = {key: value for key, value in comparison.items() if key != "version"}
        alert = RegressionAlert.objects.filter(profile_name=name, version=version, against_version=against).first()
        if alert is None:
            if raising:
                _raise(name, version, against, snapshot, now)
            continue
        _transition(alert.pk, snapshot, now, worse=raising)
    # Alerts left open on versions that are no longer current: a newer version replaced them.
    for alert in RegressionAlert.objects.filter(state=RegressionAlert.State.OPEN).only("profile_name", "version"):
        if current.get(alert.profile_name) != alert.version:
            _set_state(alert.pk, RegressionAlert.State.SUPERSEDED, reason="a newer version was saved")


def _raise(name: str, version: int, against: int, comparison: dict[str, Any], now: datetime) -> None:
    record = profile_selectors.ProfileVersionLookup([name]).history_id_of(name, against)
    alert = RegressionAlert(
        profile_name=name,
        version=version,
        against_version=against,
        against_history_id=record,
        comparison=comparison,
        raised_at=now,
        checked_at=now,
    )
    alert._change_reason = f"v{version} is worse than v{against}"
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        pass  # another process raised it first


@transaction.atomic
def _transition(pk: int, comparison: dict[str, Any], now: datetime, *, worse: bool) -> None:
    alert = RegressionAlert.objects.select_for_update().get(pk=pk)
    alert.comparison = comparison
    alert.checked_at = now
    state = alert.state
    if worse and state == RegressionAlert.State.CLEARED:
        alert.state = RegressionAlert.State.OPEN
        alert._change_reason = "worse again with the runs since"
    elif not worse and state == RegressionAlert.State.OPEN:
        alert.state = RegressionAlert.State.CLEARED
        alert._change_reason = "no longer worse with the runs since"
    if alert.state == state:
        # Only the latest numbers changed: no journal record for that.
        RegressionAlert.objects.filter(pk=pk).update(comparison=comparison, checked_at=now)
        return
    alert.save()


@transaction.atomic
def _set_state(pk: int, state: str, *, reason: str) -> None:
    alert = RegressionAlert.objects.select_for_update().get(pk=pk)
    if alert.state != RegressionAlert.State.OPEN:
        return
    alert.state = state
    alert._change_reason = reason
    alert.save()


def alert_acknowledge(*, alert_id: Any, note: Any, user) -> RegressionAlert:
    """Acknowledge an alert with a note: journaled with the user. An alert already acknowledged
    is a 409 naming who did it (acknowledging twice would hide the first note)."""
    if isinstance(note, str):
        note = note.strip()
    if not isinstance(note, str) or not note:
        raise ValidationFailed.single("note", "required", "say what you did about it (e.g. rolled back, or why not)")
    if len(note) > NOTE_MAX:
        raise ValidationFailed.single("note", "max_length", f"must be at most {NOTE_MAX} characters, got {len(note)}")
    with transaction.atomic():
        alert = RegressionAlert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise NotFound(f"No alert {alert_id}.", extra={"field": "id"})
        if alert.state == RegressionAlert.State.ACKNOWLEDGED:
            who = alert.acknowledged_by.get_username() if alert.acknowledged_by else "someone"
            raise Conflict(
                f"Alert {alert.pk} was already acknowledged by {who}.",
                extra={"acknowledged_by": who, "note": alert.note},
            )
        alert.state = RegressionAlert.State.ACKNOWLEDGED
        alert.acknowledged_by = user if user is not None and user.is_authenticated else None
        alert.acknowledged_at = timezone.now()
        alert.note = note
        alert._history_user = alert.acknowledged_by
        alert._change_reason = note
        alert.save()
    return alert
