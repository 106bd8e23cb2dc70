"""Change request pages (DESIGN §10): the list, proposing a change, one request, revising it.

The pages call ``profiles.selectors`` / ``profiles.services`` for the request and its state
machine, and ``analytics`` selectors for what it would touch (the blast radius). Every rule (who
may review, publish, revise) is the service's; a refusal shows its message with the status the
API would answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ailog.filters import LogFilter
from analytics import selectors as analytics_selectors
from dashboard.forms import STAND_IN_NOTE, ProfileForm, ReviewForm
from dashboard.panels.outcomes import VERDICT_LABELS
from dashboard.views.profiles import profile_or_404
from profiles import selectors, services
from profiles.presentation import display_value, field_label
from rmos_site.errors import ApplicationError, NotFound, ValidationFailed

PER_PAGE = 20
DECISION_LABELS = {"approve": "approved", "request_changes": "changes requested", "comment": "comment"}
STATE_LABELS = {
    "open": "open",
    "approved": "approved",
    "published": "published",
    "rejected": "changes requested",
    "withdrawn": "withdrawn",
    "stale": "stale",
}


def _request_or_404(request_id: int):
    try:
        return selectors.change_request_get(request_id=request_id)
    except NotFound as exc:
        raise Http404(exc.detail) from None


def prediction_view(change_request) -> dict[str, Any] | None:
    """The prediction of DESIGN §9 for an unpublished request: its base values against the proposal,
    on the profile's traffic of the last 30 days (analytics), seeded by the request so that the page
    shows the same numbers on every visit. None once published (the outcome answers then)."""
    if change_request.state == "published":
        return None
    try:
        return analytics_selectors.profile_prediction(
            name=change_request.profile.name,
            changes=change_request.changes,
            saved=selectors.request_base_values(change_request),
            seed=change_request.pk,
        )
    except ApplicationError as exc:  # e.g. the base values' palette has left the catalog
        return {"error": exc.detail, "contexts": [], "overall": None}


def outcome_view(change_request) -> dict[str, Any] | None:
    """After publishing: the version's stored prediction, what its runs observed, and its verdict
    against the version it replaced (analytics' profile-versions)."""
    if change_request.state != "published" or change_request.published_version is None:
        return None
    name = change_request.profile.name
    versions = analytics_selectors.profile_versions(profile=name, filters=LogFilter(profile=name))
    row = next((r for r in versions["results"] if r["version"] == change_request.published_version), None)
    if row is None:
        return None
    previous = next((c for c in row["comparisons"] if c["kind"] == "previous"), None)
    return {
        "version": row["version"],
        "runs": row["runs"],
        "prediction": row["prediction"],
        "observed": row["observed"],
        "comparison": previous,
        "verdict_label": VERDICT_LABELS.get(previous["verdict"], previous["verdict"]) if previous else None,
    }


def diff_rows(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A semantic diff (engine.diff) as a person reads it."""
    return [
        {
            "field": item["field"],
            "label": field_label(item["field"]),
            "before": display_value(item["field"], item["before"]),
            "after": display_value(item["field"], item["after"]),
            "kind": item["kind"],
            "mark": item["mark"],
            "words": item["words"],
        }
        for item in items
    ]


@login_required
@require_GET
def change_request_list(request: HttpRequest) -> HttpResponse:
    status = 200
    problems: list[str] = []
    try:
        filters = selectors.request_filter_parse(request.GET)
    except ValidationFailed as exc:
        filters, status = selectors.RequestFilter(), 400
        problems = [str(error) for error in exc.errors]
    try:
        page_number = int(request.GET.get("page", "1"))
    except ValueError:
        page_number = 1
    page = selectors.change_request_list(filters=filters, user=request.user, page=page_number, per_page=PER_PAGE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "nav": "change_requests",
        "page": page,
        "filters": filters,
        "problems": problems,
        "states": STATE_LABELS,
        "profiles": [p.name for p in selectors.profile_list()],
        "values": {key: request.GET.get(key, "") for key in ("state", "profile", "author", "awaiting")},
        "query": query.urlencode(),
        "can_propose": services.may_open(request.user),
    }
    return render(request, "change_requests/list.html", context, status=status)


def _proposal_initial(request: HttpRequest, profile) -> dict[str, Any] | None:
    """Values to start a proposal from: a history record's (``restore``: a rollback proposed), or
    a tuning job's proposal (``tuning_job`` and ``proposal``)."""
    if "tuning_job" in request.GET:
        from dashboard.views.tuning import proposal_initial

        return proposal_initial(request, profile)
    raw = request.GET.get("restore", "")
    if not raw.isdigit():
        return None
    try:
        record = selectors.profile_history_record(profile=profile, history_id=int(raw))
    except NotFound as exc:
        raise Http404(exc.detail) from None
    return {field: getattr(record, field) for field in selectors.profile_values(profile)}


def _save_proposal(form: ProfileForm, save: Callable[..., Any]) -> tuple[Any, int]:
    """Call ``save(base_version=, changes=, note=)`` with the form's values: (its result, 200)
    when stored, else (None, the status) with every error on the form. The service also checks
    what the form could not (so all errors show at once), but with errors in the form nothing
    may be stored, so its write is rolled back then."""
    problems_already = not form.is_valid()
    with transaction.atomic():
        try:
            result = save(
                base_version=form.cleaned_data.get("version"),
                changes=form.changes(),
                # The service checks the note first: a stand-in lets it name every other problem too.
                note=STAND_IN_NOTE if problems_already else form.cleaned_data.get("note", ""),
            )
        except ApplicationError as exc:
            form.attach(exc)
            return None, exc.status
        if form.errors:
            transaction.set_rollback(True)
            return None, 400
    return result, 200


@login_required
@require_http_methods(["GET", "POST"])
def change_request_new(request: HttpRequest) -> HttpResponse:
    """Propose a change to a profile (``?profile=``): the profile editor, whose save opens a request."""
    if not services.may_open(request.user):
        raise PermissionDenied("Proposing a change needs the operator or reviewer role (rmos-operator, rmos-reviewer).")
    name = request.GET.get("profile", "")
    if not name:
        raise Http404("Name the profile to change: ?profile=<name>.")
    profile = profile_or_404(name)

    def opened(created) -> HttpResponse:
        messages.success(request, f"Change request #{created.pk} opened: reviewers will see it.")
        return redirect("change-request-detail", created.pk)

    return _proposal_page(
        request,
        profile,
        save=lambda **fields: services.change_request_create(profile_name=profile.name, user=request.user, **fields),
        saved=opened,
        initial=lambda: (_proposal_initial(request, profile), ""),
        what_if_action=reverse("profile-detail", args=[profile.name]) + "#what-if",
        heading=f"Propose a change to {profile.name}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def change_request_revise(request: HttpRequest, request_id: int) -> HttpResponse:
    """A new revision of the proposal, on the profile's current version (its author only)."""
    change_request = _request_or_404(request_id)
    if change_request.author_id != request.user.pk:
        raise PermissionDenied(f"Only the author of request #{change_request.pk} ({change_request.author}) revises it.")
    profile = change_request.profile

    def revised(_) -> HttpResponse:
        messages.success(request, f"Request #{change_request.pk} revised: earlier approvals no longer count.")
        return redirect("change-request-detail", change_request.pk)

    return _proposal_page(
        request,
        profile,
        save=lambda **fields: services.change_request_revise(request_id=change_request.pk, user=request.user, **fields),
        saved=revised,
        # The profile as it is now with the request's changes on top: a base that moved since
        # keeps its moves (the request's old base values would quietly undo them).
        initial=lambda: ({**selectors.profile_values(profile), **change_request.changes}, change_request.note),
        what_if_action=None,  # a what-if answers on the profile page, whose form proposes anew
        heading=f"Revise request #{change_request.pk} on {profile.name} v{profile.version}",
        change_request=change_request,
    )


def _proposal_page(
    request: HttpRequest,
    profile,
    *,
    save: Callable[..., Any],
    saved: Callable[[Any], HttpResponse],
    initial: Callable[[], tuple[dict[str, Any], str]],
    **context: Any,
) -> HttpResponse:
    """The proposal editor of a new request or a revision. POST: ``save`` the form's values
    (:func:`_save_proposal`) and answer ``saved(result)``, or the form again with its errors.
    GET: the form filled with ``initial()``, (values, note)."""
    status = 200
    if request.method == "POST":
        form = ProfileForm(request.POST, profile=profile, palette_keys=selectors.palette_keys(), propose=True)
        result, status = _save_proposal(form, save)
        if result is not None:
            return saved(result)
    else:
        values, note = initial()
        form = ProfileForm(profile=profile, palette_keys=selectors.palette_keys(), values=values, propose=True)
        if note:
            form.initial["note"] = note
    context = {"nav": "change_requests", "profile": profile, "form": form, "action": request.get_full_path(), **context}
    return render(request, "change_requests/propose.html", context, status=status)


def _act(request: HttpRequest, change_request, review_form: ReviewForm) -> tuple[bool, int]:
    """Handle a POST on the detail page. Returns (done, status)."""
    action = request.POST.get("action")
    user = request.user
    try:
        if action == "review":
            if not review_form.is_valid():
                return False, 400
            services.change_request_review(
                request_id=change_request.pk,
                decision=review_form.cleaned_data["decision"],
                note=review_form.cleaned_data["note"],
                user=user,
                revision=review_form.cleaned_data["revision"],
            )
            messages.success(request, f"Your review of request #{change_request.pk} is recorded.")
        elif action == "publish":
            published = services.change_request_publish(request_id=change_request.pk, user=user)
            messages.success(
                request, f"Published: {published.profile.name} is now at version {published.published_version}."
            )
        elif action == "withdraw":
            services.change_request_withdraw(request_id=change_request.pk, note=request.POST.get("note", ""), user=user)
            messages.info(request, f"Request #{change_request.pk} withdrawn.")
        else:
            messages.error(request, "Unknown action.")
            return False, 400
    except ApplicationError as exc:
        if action == "review":
            review_form.attach(exc)
        else:
            messages.error(request, exc.detail)
        return False, exc.status
    return True, 200


@login_required
@require_http_methods(["GET", "POST"])
def change_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    change_request = _request_or_404(request_id)
    status = 200
    review_form = ReviewForm(request.POST if request.POST.get("action") == "review" else None)
    if request.method == "POST":
        done, status = _act(request, change_request, review_form)
        if done:
            return redirect("change-request-detail", change_request.pk)
        change_request = _request_or_404(request_id)
    data = selectors.change_request_to_dict(change_request, detail=True)
    user = request.user
    is_author = change_request.author_id == user.pk
    state = change_request.state
    context = {
        "nav": "change_requests",
        "cr": change_request,
        "data": data,
        "state_label": STATE_LABELS[state],
        "diff": diff_rows(data["diff"]),
        "moved": diff_rows(data["moved_meanwhile"]),
        "reviews": [
            {**r, "time": datetime.fromisoformat(r["time"]), "label": DECISION_LABELS[r["decision"]]}
            for r in data["reviews"]
        ],
        "blast": analytics_selectors.profile_blast_radius(profile=change_request.profile.name),
        "prediction": prediction_view(change_request),
        "outcome": outcome_view(change_request),
        "review_form": review_form,
        "is_author": is_author,
        "can_review": not is_author and services.may_review(user) and state in ("open", "approved"),
        "can_comment": is_author or services.may_review(user),
        "can_publish": state == "approved" and (is_author or services.may_review(user)),
        "can_revise": is_author and state in ("open", "approved", "rejected", "stale"),
        "can_withdraw": (is_author or services.may_govern(user) and user.is_authenticated)
        and state in ("open", "approved", "rejected", "stale"),
    }
    return render(request, "change_requests/detail.html", context, status=status)
