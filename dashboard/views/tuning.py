"""Tuning pages (DESIGN §11): start a job ("Tune" on a profile page or a hotspot row), one job's
page (progress while it runs; then its proposals, their predicted effect, their semantic diff,
the trials and the importances), cancel it, and a proposal's way into review: a prefilled change
request for a protected profile, the prefilled editor for another.

The pages call ``tuning.services`` / ``tuning.selectors``; every rule is the service's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.charts.trials import importance_chart, trial_history_chart
from dashboard.views.change_requests import diff_rows
from dashboard.views.profiles import safe_next
from engine.tuning import DEFAULT_TRIALS, MAX_TRIALS, MIN_TRIALS, SEED_LIMIT
from profiles import selectors as profile_selectors
from profiles.presentation import display_value, field_label
from rmos_site.errors import ApplicationError, NotFound
from rmos_site.roles import permission_refusal
from tuning import selectors, services

#: Seconds between reloads of a job's page while it is queued or running.
REFRESH_SECONDS = 2


class TuneForm(forms.Form):
    profile = forms.CharField(required=False, max_length=64)
    tool_id = forms.CharField(required=False, max_length=128)
    material_id = forms.CharField(required=False, max_length=128)
    machine_id = forms.CharField(required=False, max_length=128)
    workflow_mode = forms.CharField(required=False, max_length=32)
    geometry_engine = forms.CharField(required=False, max_length=64)
    trials = forms.IntegerField(required=False, min_value=MIN_TRIALS, max_value=MAX_TRIALS)
    seed = forms.IntegerField(required=False, min_value=0, max_value=SEED_LIMIT - 1)
    next = forms.CharField(required=False)


def _start_arguments(data: dict[str, Any]) -> tuple[str, dict[str, str] | None]:
    """The profile and focus for a start: a hotspot names only its context (the profile is the one
    whose traffic has it), a profile page names only the profile."""
    picked = {f: data[f] for f in ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")}
    if not any(picked[f] for f in ("tool_id", "material_id", "machine_id")):
        return data["profile"], None
    found = selectors.tuning_focus_find(profile=data["profile"] or None, **picked)
    if found is None:
        raise NotFound(
            "No profile has this context in its traffic of the last 30 days: there is nothing to tune it on.",
            extra={"field": "context"},
        )
    return found


@login_required
@require_POST
def tuning_start(request: HttpRequest) -> HttpResponse:
    if not services.may_start(request.user):
        raise PermissionDenied(permission_refusal(action="Starting a tuning job", perm=services.START_PERMISSION))
    form = TuneForm(request.POST)
    back = safe_next(request, request.POST.get("next"), reverse("dashboard"))
    if not form.is_valid():
        messages.error(request, "Tuning: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect(back)
    data = form.cleaned_data
    try:
        profile, focus = _start_arguments(data)
        job = services.tuning_job_create(
            profile=profile,
            context=focus,
            trials=data["trials"] or DEFAULT_TRIALS,
            seed=data["seed"],
            user=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, "Tuning was not started: " + ("; ".join(str(e) for e in exc.errors) or exc.detail))
        return redirect(back)
    return redirect("tuning-job", job.pk)


@login_required
@require_POST
def tuning_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    if not request.user.has_perm(services.CANCEL_PERMISSION):
        raise PermissionDenied(permission_refusal(action="Cancelling a tuning job", perm=services.CANCEL_PERMISSION))
    try:
        services.tuning_job_cancel(job_id=job_id, user=request.user)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    except ApplicationError as exc:
        messages.warning(request, exc.detail)
    return redirect("tuning-job", job_id)


def propose_url(job, rank: int, *, protected: bool, stale: bool = False) -> str:
    """Where "Propose this change" goes: a prefilled change request, or the prefilled editor
    (scrolled to it, unless the profile moved on since the job: then the top of the page says so)."""
    query = urlencode({"tuning_job": job.pk, "proposal": rank})
    if protected:
        return reverse("change-request-new") + f"?profile={job.profile_name}&{query}"
    return reverse("profile-detail", args=[job.profile_name]) + f"?{query}" + ("" if stale else "#edit-heading")


def proposal_initial(request: HttpRequest, profile) -> dict[str, Any] | None:
    """Editor values from ``?tuning_job=&proposal=``: the proposal's changes on top of the profile's
    current values (only the fields it changes, so a save made since is not undone), and a note."""
    raw_job, raw_rank = request.GET.get("tuning_job", ""), request.GET.get("proposal", "")
    if not (raw_job.isdigit() and raw_rank.isdigit()):
        return None
    try:
        job = selectors.tuning_job_get(job_id=int(raw_job))
        proposal = selectors.tuning_job_proposal(job=job, rank=int(raw_rank))
    except NotFound as exc:
        raise Http404(exc.detail) from None
    if job.profile_name != profile.name:
        raise Http404(f"Tuning job #{job.pk} tuned {job.profile_name}, not {profile.name}.")
    if job.profile_version != profile.version:
        messages.warning(request, _moved_on(job, proposal, profile))
    overall = proposal["prediction"]["overall"]
    note = (
        f"Tuning job #{job.pk}, proposal {proposal['rank']}: predicted acceptable share "
        f"{overall['saved']['acceptable_share']:.1%} -> {overall['proposed']['acceptable_share']:.1%} "
        f"on the traffic of v{job.profile_version}."
    )
    return {**{c["field"]: c["after"] for c in proposal["changes"]}, "note": note}


def _moved_on(job, proposal: dict[str, Any], profile) -> str:
    """What to tell about a proposal of a job that searched an older version of the profile,
    naming each field saving it would set back (tuning.selectors.proposal_set_back)."""
    clashes = [
        f"{field_label(c['field'])} (v{job.profile_version} {display_value(c['field'], c['then'])}, "
        f"now {display_value(c['field'], c['now'])}, proposed {display_value(c['field'], c['proposed'])})"
        for c in selectors.proposal_set_back(job=job, proposal=proposal, profile=profile)
    ]
    text = (
        f"Tuning job #{job.pk} searched {profile.name} v{job.profile_version}; it is now at v{profile.version}. "
        "The proposal's changes are filled in over the current values, and its prediction does not know "
        "what changed since."
    )
    if clashes:
        return (
            text + f" It also changes what v{profile.version} changed since, and would undo it: {'; '.join(clashes)}."
        )
    return text + " Check the values and preview the what-if, or tune again."


def _context_label(context: dict[str, str]) -> str:
    return " · ".join(v for v in (context.get(f) for f in ("tool_id", "material_id", "machine_id")) if v)


def _proposal_view(job, proposal: dict[str, Any], *, protected: bool, stale: bool) -> dict[str, Any]:
    overall = proposal["prediction"]["overall"]
    return {
        "rank": proposal["rank"],
        "trial": proposal["trial"],
        "objective": proposal["objective"],
        "distinct_designs": proposal["distinct_designs"],
        "overall": overall,
        "contexts": [
            {**row, "label": _context_label(row["context"]), "mode": row["context"]["workflow_mode"]}
            for row in proposal["prediction"]["contexts"]
        ],
        "diff": diff_rows(proposal["diff"]),
        "propose_url": propose_url(job, proposal["rank"], protected=protected, stale=stale),
    }


@login_required
@require_GET
def tuning_job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job = selectors.tuning_job_get(job_id=job_id)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    try:
        profile = profile_selectors.profile_get(name=job.profile_name)
    except NotFound:
        profile = None
    result = job.result or {}
    saved = result.get("saved") or {}
    protected = bool(profile and profile.protected)
    # The same permissions as the pages the button opens (proposing a change, or editing).
    permission = "profiles.add_changerequest" if protected else "profiles.change_constraintprofile"
    can_propose = profile is not None and request.user.has_perm(permission)
    context = {
        "nav": "profiles",
        "job": job,
        "profile": profile,
        "running": not job.finished,
        "refresh_seconds": REFRESH_SECONDS,
        "percent": round(100 * job.trials_done / job.trials) if job.trials else 0,
        "focus_label": _context_label(job.focus) if job.focus else "",
        "saved": saved,
        "proposals": [
            _proposal_view(job, p, protected=protected, stale=bool(profile and profile.version != job.profile_version))
            for p in result.get("proposals", [])
        ],
        "history_chart": trial_history_chart(result.get("history", []), saved=saved.get("objective")),
        "importance_chart": importance_chart(result.get("importances", {})),
        "can_cancel": not job.finished and request.user.has_perm(services.CANCEL_PERMISSION),
        "can_propose": can_propose,
        "protected": protected,
        "api_url": reverse("tuning-job-api", args=[job.pk]),
    }
    return render(request, "tuning/job.html", context)
