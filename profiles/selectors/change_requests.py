"""Reads of change requests: the list with its filters, one request, what awaits someone, its diff.

The list's filters are one definition (:class:`RequestFilter`, parsed by :func:`request_filter_parse`)
that the API and the page share. "Awaiting me" means: for a reviewer, open requests of others
whose current revision they have not yet approved or rejected; for an author, their own requests
that wait on them (approved: to publish; rejected or stale: to revise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from engine.diff import diff_summary, semantic_diff
from engine.profile import CONSTRAINT_FIELDS, CONTROL_CHARACTERS_MESSAGE, NAME_RE, control_characters
from profiles import journal
from profiles.models import ChangeRequest, ChangeRequestReview, RequestState, ReviewDecision
from profiles.selectors.current import profile_values
from profiles.selectors.history import profile_values_at_version
from rmos_site.errors import FieldError, NotFound, ValidationFailed
from rmos_site.present import utc_iso

STATES: tuple[str, ...] = tuple(RequestState.values)
PER_PAGE_MAX = 100
REVIEW_PERMISSION = "profiles.review_changerequest"


@dataclass(frozen=True)
class RequestFilter:
    states: tuple[str, ...] = ()
    profile: str = ""
    author: str = ""
    awaiting: bool = False  # awaiting the user the list is read for

    @property
    def is_empty(self) -> bool:
        return not (self.states or self.profile or self.author or self.awaiting)


def request_filter_parse(params: Mapping[str, Any]) -> RequestFilter:
    """``state`` (one or several, comma-separated), ``profile``, ``author`` (a username), and
    ``awaiting=me``. Every problem names its parameter."""
    errors: list[FieldError] = []
    states: tuple[str, ...] = ()
    raw_state = (params.get("state") or "").strip()
    if raw_state:
        states = tuple(dict.fromkeys(s.strip() for s in raw_state.split(",") if s.strip()))
        unknown = [s for s in states if s not in STATES]
        if unknown:
            errors.append(
                FieldError("state", "choice", f"must be one or more of {', '.join(STATES)}; got {unknown[0]!r}")
            )
    profile = (params.get("profile") or "").strip()
    if profile and not NAME_RE.fullmatch(profile):
        errors.append(FieldError("profile", "slug", "must be a profile name (lowercase letters, digits, '-', '_')"))
    author = (params.get("author") or "").strip()
    if len(author) > 150:
        errors.append(FieldError("author", "max_length", "must be at most 150 characters"))
    elif control_characters(author):
        errors.append(FieldError("author", "characters", CONTROL_CHARACTERS_MESSAGE))
    awaiting = (params.get("awaiting") or "").strip()
    if awaiting not in ("", "me"):
        errors.append(FieldError("awaiting", "choice", "the only value is 'me' (requests waiting on you)"))
    if errors:
        raise ValidationFailed(errors=errors)
    return RequestFilter(states=states, profile=profile, author=author, awaiting=awaiting == "me")


def _decided_current_revision(user) -> Exists:
    return Exists(
        ChangeRequestReview.objects.filter(
            request=OuterRef("pk"),
            revision=OuterRef("revision"),
            reviewer=user,
            decision__in=[ReviewDecision.APPROVE, ReviewDecision.REQUEST_CHANGES],
        )
    )


def awaiting_q(user) -> Q:
    """The requests waiting on ``user`` (see the module docstring)."""
    mine = Q(author=user, state__in=[RequestState.APPROVED, RequestState.REJECTED, RequestState.STALE])
    if user.has_perm(REVIEW_PERMISSION):
        return mine | (Q(state=RequestState.OPEN) & ~Q(author=user) & ~_decided_current_revision(user))
    return mine


def _with_approvals(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(
        approvals=Count(
            "reviews__reviewer",
            filter=Q(reviews__decision=ReviewDecision.APPROVE, reviews__revision=F("revision")),
            distinct=True,
        )
    )


def change_requests_filtered(*, filters: RequestFilter, user) -> QuerySet[ChangeRequest]:
    queryset = ChangeRequest.objects.select_related("profile", "author")
    if filters.states:
        queryset = queryset.filter(state__in=filters.states)
    if filters.profile:
        queryset = queryset.filter(profile__name=filters.profile)
    if filters.author:
        queryset = queryset.filter(author__username=filters.author)
    if filters.awaiting:
        queryset = queryset.filter(awaiting_q(user))
    return _with_approvals(queryset).order_by("-id")


@dataclass(frozen=True)
class RequestPage:
    requests: list[ChangeRequest]
    page: int
    pages: int
    per_page: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def change_request_list(*, filters: RequestFilter, user, page: int = 1, per_page: int = 20) -> RequestPage:
    """One page (from 1; past the last page gives the last) of the requests matching ``filters``, newest first."""
    per_page = max(1, min(per_page, PER_PAGE_MAX))
    queryset = change_requests_filtered(filters=filters, user=user)
    total = queryset.count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    chunk = list(queryset[(page - 1) * per_page : page * per_page]) if total else []
    return RequestPage(requests=chunk, page=page, pages=pages, per_page=per_page, total=total)


def change_request_awaiting_count(*, user) -> int:
    if not (user and user.is_authenticated):
        return 0
    return ChangeRequest.objects.filter(awaiting_q(user)).count()


def change_request_get(*, request_id: Any) -> ChangeRequest:
    request = None
    if isinstance(request_id, int) and not isinstance(request_id, bool) and 0 < request_id < 2**63:
        request = (
            _with_approvals(ChangeRequest.objects.select_related("profile", "author", "published_by"))
            .filter(pk=request_id)
            .first()
        )
    if request is None:
        raise NotFound(f"No change request #{request_id}.", extra={"field": "id"})
    return request


def approvers(request: ChangeRequest) -> list[str]:
    """Who approved the request's current revision, in the order they did."""
    reviews = request.reviews.filter(revision=request.revision, decision=ReviewDecision.APPROVE).select_related(
        "reviewer"
    )
    return list(dict.fromkeys(review.reviewer.get_username() for review in reviews.order_by("id")))


def request_base_values(request: ChangeRequest) -> dict[str, Any]:
    """The profile's values at the request's base version (the current ones if none is journaled)."""
    base = profile_values_at_version(profile=request.profile, version=request.base_version)
    return base if base is not None else profile_values(request.profile)


def request_diff(request: ChangeRequest) -> list[dict[str, Any]]:
    """The proposal's semantic diff against its base version."""
    return semantic_diff(request_base_values(request), request.changes)


def request_proposed_values(request: ChangeRequest) -> dict[str, Any]:
    """The full set of values the profile would have once the request is published."""
    base = request_base_values(request)
    return {field: request.changes.get(field, base[field]) for field in CONSTRAINT_FIELDS}


def moved_meanwhile(request: ChangeRequest) -> list[dict[str, Any]]:
    """What the profile's versions after the request's base changed (a semantic diff); empty when
    the profile is still at the base version or the request is published."""
    profile = request.profile
    if profile.version == request.base_version or request.state == RequestState.PUBLISHED:
        return []
    base = profile_values_at_version(profile=profile, version=request.base_version)
    if base is None:
        return []
    return semantic_diff(base, profile_values(profile))


def request_reviews(request: ChangeRequest) -> list[ChangeRequestReview]:
    return list(request.reviews.select_related("reviewer").order_by("id"))


def review_to_dict(review: ChangeRequestReview, *, current_revision: int) -> dict[str, Any]:
    return {
        "id": review.pk,
        "revision": review.revision,
        "decision": review.decision,
        "note": review.note,
        "reviewer": review.reviewer.get_username(),
        "time": utc_iso(review.created_at),
        "counts": review.decision != ReviewDecision.APPROVE or review.revision == current_revision,
    }


def change_request_to_dict(request: ChangeRequest, *, detail: bool = False) -> dict[str, Any]:
    """JSON-ready; ``detail`` adds the diff, what moved meanwhile, the reviews and the values to be."""
    diff = request_diff(request) if detail else None
    data: dict[str, Any] = {
        "id": request.pk,
        "profile": request.profile.name,
        "state": request.state,
        "revision": request.revision,
        "base_version": request.base_version,
        "changes": request.changes,
        "note": request.note,
        "author": request.author.get_username(),
        "approvals": getattr(request, "approvals", None),
        "required_approvals": request.profile.required_approvals,
        "created_at": utc_iso(request.created_at),
        "updated_at": utc_iso(request.updated_at),
        "published_version": request.published_version,
        "published_history_id": request.published_history_id,
        "published_at": utc_iso(request.published_at) if request.published_at else None,
    }
    if data["approvals"] is None:
        data["approvals"] = len(approvers(request))
    if detail:
        data["diff"] = diff
        data["summary"] = diff_summary(diff or [])
        data["moved_meanwhile"] = moved_meanwhile(request)
        data["approved_by"] = approvers(request)
        data["published_by"] = request.published_by.get_username() if request.published_by else None
        data["profile_version"] = request.profile.version
        data["proposed_values"] = {k: journal.plain(v) for k, v in request_proposed_values(request).items()}
        data["reviews"] = [review_to_dict(r, current_revision=request.revision) for r in request_reviews(request)]
    return data
