"""The run page, ``/rmos/runs/<run_id>/``: one search run and every one of its attempts.

Reads :func:`ailog.selectors.run_get` (the run and its attempts, at most 200, as ``GET
/api/rmos/logs/ai/runs/<run_id>`` does), and the profile and rule it names through
``profiles.selectors``. An unknown or malformed run id is a 404 that says which; so is a run
whose attempts arrived but whose summary has not yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ailog import selectors as log_selectors
from ailog.records import SOURCE_INTERNAL
from dashboard import charts
from dashboard.panels.log_viewer import ANCHOR as LOG_ANCHOR
from dashboard.panels.log_viewer import context_filter, row_selection
from dashboard.panels.snapshots import CONTEXT_LABELS
from dashboard.url_state import INSPECTOR_ANCHOR, DashboardState
from profiles import selectors as profile_selectors
from rmos_site import present, roles
from rmos_site.errors import NotFound

CONTEXT_FIELDS = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")


@dataclass(frozen=True)
class AttemptLine:
    index: int
    anchor: str
    when: present.When | None
    offset: str  # seconds after the first attempt, "+1.20 s"
    score: str
    bucket: str
    acceptable: bool
    rings: str
    width: str
    warnings: tuple[str, ...]
    selected: bool
    ring_text: str  # the candidate's rings, inner to outer, when it was recorded


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    href: str = ""
    note: str = ""
    bucket: str = ""  # shown as a risk badge
    nowrap: bool = False  # a number that must not break between its digits (the seed)


@dataclass(frozen=True)
class RunView:
    run_id: str
    success: bool
    reason: str
    when: present.When | None
    context: tuple[Fact, ...]
    profile: tuple[Fact, ...]
    budget: tuple[Fact, ...]
    outcome: tuple[Fact, ...]
    warnings: tuple[str, ...]
    rosette: charts.Rosette
    rosette_caption: str
    scores: charts.ScoreChart
    attempts: tuple[AttemptLine, ...]
    missing_attempts: int  # the run reports more attempts than were recorded
    select_url: str
    log_url: str
    context_log_url: str
    api_url: str


def _yes_no(value: bool | None) -> str:
    return present.DASH if value is None else ("yes" if value else "no")


def _ring_text(candidate: Mapping[str, Any] | None) -> str:
    rings = (candidate or {}).get("rings") or []
    return "; ".join(
        f"{float(r.get('width_mm', 0)):.2f} mm {r.get('pattern', 'solid')} {r.get('material_key') or ''}".strip()
        for r in rings
    )


def _attempt_line(a: Mapping[str, Any], *, first: Any, selected: int | None) -> AttemptLine:
    offset = (a["timestamp"] - first).total_seconds() if first is not None else 0.0
    return AttemptLine(
        index=a["attempt_index"],
        anchor=f"attempt-{a['attempt_index']}",
        when=present.when(a["timestamp"]),
        offset=f"+{offset:.2f} s",
        score=present.number(a["score"]),
        bucket=a["risk_bucket"],
        acceptable=a["is_acceptable"],
        rings=present.whole(a["ring_count"]),
        width=present.number(a["total_width_mm"], 2),
        warnings=tuple(str(w) for w in a["warnings"] or ()),
        selected=a["attempt_index"] == selected,
        ring_text=_ring_text(a["candidate"]),
    )


def run_view(
    detail: log_selectors.RunDetail, *, rule_name: str = "", rule_url: str = "", profile_url: str = ""
) -> RunView:
    run, attempts = detail.run, detail.attempts
    selected = run["selected_attempt_index"]
    first = attempts[0]["timestamp"] if attempts else None
    candidate = run["selected_candidate"] or next(
        (a["candidate"] for a in attempts if a["attempt_index"] == selected), None
    )
    chosen = row_selection(run)
    version = run["profile_version"]
    if run["fallback_used"]:
        resolution = Fact("Resolved by", "fallback", note="no rule matched, so the profile named default was used")
    elif run["rule_id"] is not None:
        resolution = Fact(
            "Resolved by",
            f"rule #{run['rule_id']}" + (f" {rule_name}" if rule_name else " (since deleted)"),
            href=rule_url,
        )
    elif run["source"] == SOURCE_INTERNAL:
        # This server's search records the rule or the fallback unless a profile was named.
        resolution = Fact(
            "Resolved by",
            "named explicitly",
            note="the profile was named when the search was started, not chosen by a rule",
        )
    else:
        resolution = Fact("Resolved by", present.DASH, note="the run did not report how its profile was chosen")
    elapsed = run["elapsed_seconds"]
    return RunView(
        run_id=str(run["run_id"]),
        success=run["success"],
        reason=present.reason_label(run["reason"]),
        when=present.when(run["timestamp"]),
        context=tuple(Fact(CONTEXT_LABELS[f], run[f] or present.DASH) for f in CONTEXT_FIELDS),
        profile=(
            Fact(
                "Profile",
                (run["profile_name"] or present.DASH) + (f" v{version}" if version else ""),
                href=profile_url + (f"#version-{version}" if profile_url and version else ""),
                note="" if profile_url or not run["profile_name"] else "not a profile on this server",
            ),
            resolution,
            Fact("Catalog revision", run["catalog_revision"] or present.DASH),
            Fact("Source", run["source"]),
        ),
        budget=(
            Fact("Max attempts", present.whole(run["max_attempts"])),
            Fact(
                "Time limit",
                f"{run['time_limit_seconds']:g} s" if run["time_limit_seconds"] is not None else present.DASH,
            ),
            Fact("Min acceptable score", present.number(run["min_feasibility_score"])),
            Fact("Stop on first GREEN", _yes_no(run["stop_on_first_green"])),
            Fact("Seed", str(run["seed"]) if run["seed"] is not None else present.DASH, nowrap=True),
        ),
        outcome=(
            Fact("Outcome", present.reason_label(run["reason"])),
            Fact(
                "Attempts",
                present.whole(run["attempts"]),
                note=f"{len(attempts)} recorded" if len(attempts) != run["attempts"] else "",
            ),
            Fact("Selected score", present.number(run["selected_score"])),
            Fact(
                "Selected risk", run["selected_risk_bucket"] or present.DASH, bucket=run["selected_risk_bucket"] or ""
            ),
            Fact(
                "Selected attempt",
                f"#{selected}" if selected else present.DASH,
                href=f"#attempt-{selected}" if selected else "",
            ),
            Fact("Elapsed", f"{elapsed:.2f} s" if elapsed is not None else present.DASH),
        ),
        warnings=tuple(str(w) for w in run["warnings"] or ()),
        rosette=charts.rosette(candidate or {}, size=200, empty_message="No candidate recorded"),
        rosette_caption=f"Selected: attempt {selected}" if selected else "Selected candidate",
        scores=charts.attempt_score_chart(
            [(a["attempt_index"], a["score"], a["risk_bucket"]) for a in attempts],
            selected=selected,
            threshold=run["min_feasibility_score"],
            width=1080,
        ),
        attempts=tuple(_attempt_line(a, first=first, selected=selected) for a in attempts),
        missing_attempts=max(0, run["attempts"] - len(attempts)),
        select_url=DashboardState().select(**chosen).url(fragment=INSPECTOR_ANCHOR),
        log_url=DashboardState().with_log(query={"run_id": str(run["run_id"])}).url(fragment=LOG_ANCHOR),
        context_log_url=DashboardState().with_log(tab="runs", query=context_filter(chosen)).url(fragment=LOG_ANCHOR),
        api_url=reverse("ai-run-detail", args=[str(run["run_id"])]),
    )


def _rule(rule_id: int | None, user) -> tuple[str, str]:
    """The rule's name, and its admin page for staff who may open it."""
    if rule_id is None:
        return "", ""
    rule = profile_selectors.rule_find(rule_id=rule_id)
    if rule is None:
        return "", ""
    url = reverse("admin:profiles_resolutionrule_change", args=[rule.id]) if roles.can_open_rule_admin(user) else ""
    return rule.name, url


@login_required
@require_GET
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    try:
        detail = log_selectors.run_get(run_id=run_id)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    run = detail.run
    rule_name, rule_url = _rule(run["rule_id"], request.user)
    profile_url = ""
    if run["profile_name"]:
        try:
            profile_url = reverse("profile-detail", args=[profile_selectors.profile_get(name=run["profile_name"]).name])
        except NotFound:
            profile_url = ""
    view = run_view(detail, rule_name=rule_name, rule_url=rule_url, profile_url=profile_url)
    return render(request, "runs/detail.html", {"nav": "dashboard", "run": view})
