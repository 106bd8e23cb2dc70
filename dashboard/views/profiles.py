"""Profile pages: the list, one profile (editor, history, outcomes per version) and the rollback
confirmation.

Pages call ``profiles.selectors`` and ``profiles.services`` only. Reading needs a signed-in
account; every write (and the rollback confirmation, which is an edit control) needs
``profiles.change_constraintprofile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from analytics import selectors as analytics_selectors
from analytics import services as analytics_services
from dashboard.forms import ProfileForm, RollbackForm, change_message
from dashboard.panels.inspector import PreviewContext, preview_context
from dashboard.panels.outcomes import DAYS_CHOICES, parse_days, profile_outcomes
from dashboard.panels.snapshots import ComparisonView, comparison_view
from dashboard.url_state import DashboardState
from profiles import selectors, services
from profiles.presentation import FIELD_SPECS, change_rows, display_value, history_rows
from rmos_site.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from rmos_site.roles import permission_refusal
from tuning import selectors as tuning_selectors

if TYPE_CHECKING:  # the model instances profiles.selectors returns
    from profiles.models import ConstraintProfile

CHANGE_PERMISSION = "profiles.change_constraintprofile"
HISTORY_PER_PAGE = 20
# Checked by the service and thrown away: a preview never writes, but the service wants a note.
_PREVIEW_NOTE = "(preview)"

#: The tag of a message about a save or a rollback: pages with the profile's panel (the
#: dashboard's editor, the profile page's history) show it there, where the redirect lands,
#: instead of at the top of the page (``messages_in_panel`` in their context).
PANEL_MESSAGE = "panel"


def can_edit_profiles(user) -> bool:
    return user.is_authenticated and user.has_perm(CHANGE_PERMISSION)


def profile_or_404(name: str) -> ConstraintProfile:
    try:
        return selectors.profile_get(name=name)
    except NotFound as exc:
        raise Http404(exc.detail) from None


def profile_values_table(profile: ConstraintProfile) -> list[tuple[str, str, str]]:
    """(label, value, limits) rows for the read-only view of a profile."""
    values = selectors.profile_values(profile)
    return [(spec.label, display_value(name, values[name]), spec.limits) for name, spec in FIELD_SPECS.items()]


def profile_form(profile: ConstraintProfile, data=None) -> ProfileForm:
    """The editor of ``profile``; a protected profile's proposes a change request instead of saving."""
    return ProfileForm(data, profile=profile, palette_keys=selectors.palette_keys(), propose=profile.protected)


def editor_form(request: HttpRequest, profile: ConstraintProfile) -> ProfileForm | None:
    """The editor for a GET, or None when the user may not edit (or, for a protected profile,
    may not propose a change). ``?tuning_job=&proposal=`` fills it with a tuning proposal."""
    if not can_edit_profiles(request.user) or (profile.protected and not services.may_open(request.user)):
        return None
    from dashboard.views.tuning import proposal_initial

    values = proposal_initial(request, profile)
    return ProfileForm(profile=profile, palette_keys=selectors.palette_keys(), values=values, propose=profile.protected)


def save_from_request(request: HttpRequest, profile: ConstraintProfile) -> tuple[ProfileForm, bool]:
    """Handle an editor POST. Returns the form and whether it was saved (a message is queued);
    when not saved, the form carries the problems or the stale-edit details to show."""
    if not can_edit_profiles(request.user):
        raise PermissionDenied(permission_refusal(action="Editing profiles", perm=CHANGE_PERMISSION))
    form = profile_form(profile, request.POST)
    previous_version = profile.version
    change = form.save(user=request.user)
    if change is None:
        return form, False
    level = messages.SUCCESS if change.changed else messages.INFO
    messages.add_message(
        request, level, change_message(change, previous_version=previous_version), extra_tags=PANEL_MESSAGE
    )
    return form, True


@dataclass(frozen=True)
class WhatIf:
    """A what-if preview: the form's unsaved values and the saved profile, sampled alike."""

    sample: PreviewContext
    result: dict[str, Any]  # profiles.selectors.snapshot_preview's answer
    comparison: ComparisonView
    edited_version: int | None  # the version the form was opened on
    compared_version: int  # the saved version it was compared with
    traffic: dict[str, Any] | None = None  # analytics.selectors.profile_prediction's answer
    traffic_error: str = ""

    @property
    def compared_newer(self) -> bool:
        """Someone saved since the form was opened: "saved" is their version, not the one edited."""
        return self.edited_version is not None and self.edited_version != self.compared_version


def what_if_from_request(
    request: HttpRequest, profile: ConstraintProfile, sample: PreviewContext
) -> tuple[ProfileForm, WhatIf | None]:
    """Handle the editor's "Preview what-if": nothing is saved, everything typed is kept."""
    if not can_edit_profiles(request.user):
        raise PermissionDenied(
            permission_refusal(action="The what-if preview, part of editing profiles,", perm=CHANGE_PERMISSION)
        )
    form = profile_form(profile, request.POST)
    result = form.what_if(context=sample.context, n_samples=sample.n_samples, seed=sample.seed)
    if result is None:
        return form, None
    # The same values on the profile's real traffic of the last 30 days (DESIGN §9).
    traffic, traffic_error = None, ""
    try:
        traffic = analytics_selectors.profile_prediction(name=profile.name, changes=form.changes(), seed=sample.seed)
    except ApplicationError as exc:
        traffic_error = "; ".join(e.message for e in exc.errors) or exc.detail
    return form, WhatIf(
        sample=sample,
        result=result,
        comparison=comparison_view(result),
        edited_version=form.cleaned_data.get("version"),
        compared_version=result["profile"]["version"],
        traffic=traffic,
        traffic_error=traffic_error,
    )


def form_status(form: ProfileForm | None) -> int:
    """409 for a stale edit, 400 for other problems: the same codes the API answers with."""
    if form is None or not form.is_bound or not (form.errors or form.stale):
        return 200
    return 409 if form.stale or form.protected_refusal else 400


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@login_required
@require_GET
def profile_list(request: HttpRequest) -> HttpResponse:
    profiles = list(selectors.profile_list())
    return render(request, "profiles/list.html", {"profiles": profiles, "nav": "profiles"})


@login_required
@require_http_methods(["GET", "POST"])
def profile_detail(request: HttpRequest, name: str) -> HttpResponse:
    profile = profile_or_404(name)
    page_url = reverse("profile-detail", args=[profile.name])
    what_if = sample = None
    if request.method == "POST" and request.POST.get("action") == "what-if":
        sample = preview_context(profile_name=profile.name)
        form, what_if = what_if_from_request(request, profile, sample)
    elif request.method == "POST":
        form, saved = save_from_request(request, profile)
        if saved:
            return redirect(page_url + "#history")
    else:
        form = editor_form(request, profile)
    if form is not None and sample is None:
        sample = preview_context(profile_name=profile.name)
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    history = selectors.profile_history_page(name=profile.name, page=page, per_page=HISTORY_PER_PAGE)
    raw_days = request.GET.get("days")
    days = parse_days(raw_days)
    analytics_services.alerts_refresh()
    outcomes = profile_outcomes(profile=profile.name, current_version=profile.version, days=days)
    days_notice = (
        f"days={raw_days} is not one of {', '.join(map(str, DAYS_CHOICES))}; showing the last {days} days."
        if raw_days and raw_days != str(days)
        else ""
    )
    context = {
        "nav": "profiles",
        "messages_in_panel": True,
        "profile": profile,
        "form": form,
        "can_edit": can_edit_profiles(request.user),
        "values_table": profile_values_table(profile),
        "history": history,
        "history_rows": history_rows(history.entries, current_version=profile.version),
        "outcomes": outcomes,
        "days_notice": days_notice,
        "form_action": page_url,
        "what_if_action": page_url + "#what-if",
        "what_if": what_if,
        "what_if_sample": sample,
        "dashboard_url": DashboardState(profile=profile.name).url(fragment="profile-editor"),
        "open_requests": selectors.change_request_list(
            filters=selectors.RequestFilter(states=("open", "approved", "rejected", "stale"), profile=profile.name),
            user=request.user,
            per_page=5,
        ),
        "alerts": [a for v in outcomes.versions for a in v.alerts if a["state"] == "open"],
        "next_url": request.get_full_path(),
        "tuning_jobs": tuning_selectors.tuning_jobs_recent(profile=profile.name),
    }
    return render(request, "profiles/detail.html", context, status=form_status(form))


@login_required
@require_http_methods(["GET", "POST"])
def profile_rollback(request: HttpRequest, name: str, history_id: int) -> HttpResponse:
    """GET: what the rollback would change, and a form asking why. POST: do it."""
    if not can_edit_profiles(request.user):
        raise PermissionDenied(permission_refusal(action="Rolling back a profile", perm=CHANGE_PERMISSION))
    profile = profile_or_404(name)
    try:
        record = selectors.profile_history_record(profile=profile, history_id=history_id)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    default_next = reverse("profile-detail", args=[profile.name]) + "#history"
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"), default_next)
    if profile.protected:
        # Refused whatever the method (the service would refuse the POST too): say how instead.
        context = {"nav": "profiles", "profile": profile, "record": record, "cancel_url": next_url}
        return render(request, "profiles/rollback_protected.html", context, status=409)
    status = 200
    if request.method == "POST":
        form = RollbackForm(request.POST)
        if form.is_valid():
            try:
                change = services.profile_rollback(
                    name=profile.name,
                    history_id=history_id,
                    note=form.cleaned_data["note"],
                    version=form.cleaned_data["version"],
                    user=request.user,
                )
            except Conflict as exc:
                profile = profile_or_404(name)
                messages.warning(
                    request,
                    f"Someone saved version {exc.extra.get('current_version')} of {profile.name} while you were "
                    "deciding. Below is what the rollback would change now; confirm again to go ahead.",
                )
                form = RollbackForm(
                    initial={"note": form.cleaned_data["note"], "version": profile.version, "next": next_url}
                )
                status = 409
            except ValidationFailed as exc:
                form.attach(exc)
                status = 400
            else:
                if change.changed:
                    messages.success(
                        request,
                        f"Rolled {profile.name} back to the values of version {record.version}: "
                        f"now version {change.profile.version}.",
                        extra_tags=PANEL_MESSAGE,
                    )
                else:
                    messages.info(
                        request,
                        f"Nothing changed: {profile.name} already had the values of version {record.version}.",
                        extra_tags=PANEL_MESSAGE,
                    )
                return redirect(next_url)
        else:
            status = 400
    else:
        # An alert's link prefills the note with why (analytics.selectors.rollback_url).
        note = (request.GET.get("note") or "")[: services.NOTE_MAX]
        form = RollbackForm(initial={"version": profile.version, "next": next_url, "note": note})

    preview_error = ""
    changes: list = []
    try:
        preview = services.profile_rollback(
            name=profile.name, history_id=history_id, note=_PREVIEW_NOTE, version=profile.version, dry_run=True
        )
        changes = change_rows(preview.changes)
    except ValidationFailed as exc:
        preview_error = exc.detail
    context = {
        "nav": "profiles",
        "messages_in_panel": True,
        "profile": profile,
        "record": record,
        "form": form,
        "changes": changes,
        "preview_error": preview_error,
        "cancel_url": next_url,
    }
    return render(request, "profiles/rollback.html", context, status=status)
