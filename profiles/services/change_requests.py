"""Change requests: the state machine of four eyes on a profile (DESIGN §10).

::

    open ──approve (enough approvals)──▶ approved ──publish──▶ published
     │  ▲                                  │
     │  └──────────── revise ◀─────────────┤ (author; a new revision withdraws approvals)
     ├──request_changes──▶ rejected ──revise──▶ open
     ├── the profile moves past the base ──▶ stale ──revise on the new base──▶ open
     └──withdraw (author)──▶ withdrawn        (from open, approved, rejected or stale)

Rules, each enforced here whatever the door: opening and revising need ``profiles.add_changerequest``
(operators and reviewers); approving and requesting changes need ``profiles.review_changerequest``
(reviewers) and are never the author's; approvals count for the current revision only, one per
reviewer; the author or a reviewer publishes an approved request, through
:func:`~profiles.services.edits.apply_change` (the core of every edit) as one new version whose
journal names the request, its author and approvers. Locks are taken profile first, then request,
as every profile edit does (it marks requests stale), so two writers never wait on each other in
a circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from profiles.models import ChangeRequest, ChangeRequestReview, ChangeType, RequestState, ReviewDecision
from profiles.selectors.change_requests import approvers, moved_meanwhile
from profiles.services.edits import GOVERNANCE_FIELDS, apply_change
from profiles.services.journaling import check_version, clean_note, locked_profile
from rmos_site.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed

OPEN_PERMISSION = "profiles.add_changerequest"
REVIEW_PERMISSION = "profiles.review_changerequest"
#: States a request can still be revised or withdrawn from.
REVISABLE = (RequestState.OPEN, RequestState.APPROVED, RequestState.REJECTED, RequestState.STALE)
#: States in which reviewers approve or request changes.
REVIEWABLE = (RequestState.OPEN, RequestState.APPROVED)


def may_open(user) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(OPEN_PERMISSION)


def may_review(user) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(REVIEW_PERMISSION)


def _forbidden(rule: str, message: str, field: str = "") -> Forbidden:
    return Forbidden(message, errors=[FieldError(field, rule, message)])


def _state_refusal(request: ChangeRequest, action: str) -> Conflict:
    message = f"request #{request.pk} is {request.state}: it cannot be {action}"
    if request.state == RequestState.PUBLISHED:
        message += f" (it was published as version {request.published_version})"
    elif request.state == RequestState.STALE:
        message += "; its author revises it on the profile's current version first"
    elif request.state == RequestState.REJECTED:
        message += "; a reviewer asked for changes, so its author revises it first"
    return Conflict(message[:1].upper() + message[1:] + ".", errors=[FieldError("state", "state", message)])


def _stamp(obj, *, user, reason: str) -> None:
    obj._history_user = user if (user is not None and user.is_authenticated) else None
    obj._change_reason = reason


def _request_or_404(request_id: Any) -> ChangeRequest:
    request = None
    if isinstance(request_id, int) and not isinstance(request_id, bool) and request_id > 0:
        request = ChangeRequest.objects.select_related("profile", "author").filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"No change request #{request_id}.", extra={"field": "id"})
    return request


def _locked(request_id: Any) -> tuple[Any, ChangeRequest]:
    """The request's profile and the request, both locked, in that order (see the module doc)."""
    profile_name = _request_or_404(request_id).profile.name
    profile = locked_profile(profile_name)
    request = ChangeRequest.objects.select_for_update().select_related("author").get(pk=request_id)
    request.profile = profile
    return profile, request


def _proposal(profile, changes: Any) -> dict[str, Any]:
    """The fields ``changes`` really changes, JSON-ready, validated exactly as an edit is."""
    if not isinstance(changes, Mapping):
        raise ValidationFailed.single("changes", "type", "must be an object of profile fields and their new values")
    refused = [key for key in changes if key in GOVERNANCE_FIELDS or key == "name"]
    if refused:
        raise ValidationFailed(
            errors=[
                FieldError(f"changes.{key}", "not_proposable", "protection and the name are not changed by a request")
                for key in refused
            ]
        )
    try:
        change = apply_change(
            profile, changes=changes, note="(proposal)", user=None, operator="", change_type="", dry_run=True
        )
    except ValidationFailed as exc:
        raise ValidationFailed(
            errors=[FieldError(f"changes.{e.field}" if e.field else "changes", e.rule, e.message) for e in exc.errors]
        ) from None
    if not change.changes:
        raise ValidationFailed.single(
            "changes", "no_change", f"these values are already those of version {profile.version}: nothing to propose"
        )
    return {item["field"]: item["after"] for item in change.changes}


def _base_version(profile, base_version: Any) -> None:
    if base_version is None:
        raise ValidationFailed.single("base_version", "required", "name the profile version your proposal starts from")
    try:
        check_version(profile, base_version)
    except (Conflict, ValidationFailed) as exc:
        extra = dict(getattr(exc, "extra", {}))
        raise type(exc)(
            exc.detail,
            errors=[FieldError("base_version", e.rule, e.message) for e in exc.errors],
            extra=extra,
        ) from None


@transaction.atomic
def change_request_create(*, profile_name: str, base_version: Any, changes: Any, note: Any, user) -> ChangeRequest:
    """Open a request to change ``profile_name`` from ``base_version`` (its current version)."""
    if not may_open(user):
        raise _forbidden("permission_denied", "Opening a change request needs the operator or reviewer role.")
    note = clean_note(note)
    profile = locked_profile(profile_name)
    _base_version(profile, base_version)
    proposal = _proposal(profile, changes)
    request = ChangeRequest(
        profile=profile, base_version=profile.version, changes=proposal, note=note, author=user, revision=1
    )
    _stamp(request, user=user, reason="opened")
    request.save()
    return request


@transaction.atomic
def change_request_revise(*, request_id: Any, base_version: Any, changes: Any, note: Any, user) -> ChangeRequest:
    """A new revision of the proposal (its author only), on the profile's current version. Earlier
    approvals were given to the earlier revision and no longer count."""
    note = clean_note(note)
    profile, request = _locked(request_id)
    if request.author_id != getattr(user, "pk", None):
        raise _forbidden("author_only", f"Only the author of request #{request.pk} ({request.author}) revises it.")
    if not may_open(user):  # the author may have lost the role since opening it
        raise _forbidden("permission_denied", "Revising a change request needs the operator or reviewer role.")
    if request.state not in REVISABLE:
        raise _state_refusal(request, "revised")
    _base_version(profile, base_version)
    request.changes = _proposal(profile, changes)
    request.base_version = profile.version
    request.note = note
    request.revision += 1
    request.state = RequestState.OPEN
    _stamp(request, user=user, reason=f"revision {request.revision}")
    request.save()
    return request


@transaction.atomic
def change_request_review(
    *, request_id: Any, decision: Any, note: Any, user, revision: Any = None
) -> ChangeRequestReview:
    """Approve, request changes or comment. Enough approvals of the current revision approve the request.

    ``revision`` is the revision the reviewer read (the pages always send it; the API takes it
    optionally): if the author revised the request since, nothing is recorded and a 409 says so,
    so an approval never lands on a proposal its reviewer did not see."""
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or revision < 1):
        raise ValidationFailed.single("revision", "type", "must be a whole number from 1: the revision you reviewed")
    if decision not in ReviewDecision.values:
        raise ValidationFailed.single("decision", "choice", f"must be one of {', '.join(ReviewDecision.values)}")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise ValidationFailed.single("note", "type", "must be text")
    if decision != ReviewDecision.APPROVE or note.strip():
        note = clean_note(note)
    profile, request = _locked(request_id)
    if revision is not None and revision != request.revision:
        message = f"request #{request.pk} is at revision {request.revision}, not {revision}: read it again first"
        raise Conflict(
            message[:1].upper() + message[1:] + ".",
            errors=[FieldError("revision", "revision_changed", message)],
            extra={"current_revision": request.revision},
        )
    is_author = request.author_id == getattr(user, "pk", None)
    if decision == ReviewDecision.COMMENT:
        if not (is_author or may_review(user)):
            raise _forbidden("permission_denied", "Commenting on a change request needs the reviewer role.")
    else:
        if is_author:
            raise _forbidden(
                "self_review",
                "The author never approves or rejects their own request: another reviewer must.",
                field="decision",
            )
        if not may_review(user):
            raise _forbidden("permission_denied", "Reviewing a change request needs the reviewer role.")
        if request.state not in REVIEWABLE:
            raise _state_refusal(request, "reviewed")
        if decision == ReviewDecision.APPROVE and user.get_username() in approvers(request):
            raise Conflict(
                f"You already approved revision {request.revision} of request #{request.pk}.",
                errors=[FieldError("decision", "already_approved", f"already approved revision {request.revision}")],
            )
    review = ChangeRequestReview(
        request=request, revision=request.revision, decision=decision, note=note.strip(), reviewer=user
    )
    review._history_user = user
    review.save()
    if decision == ReviewDecision.APPROVE and len(approvers(request)) >= profile.required_approvals:
        if request.state != RequestState.APPROVED:
            request.state = RequestState.APPROVED
            _stamp(request, user=user, reason=f"approved ({len(approvers(request))} of {profile.required_approvals})")
            request.save()
    elif decision == ReviewDecision.REQUEST_CHANGES:
        request.state = RequestState.REJECTED
        _stamp(request, user=user, reason=f"changes requested by {user.get_username()}")
        request.save()
    return review


def publish_note(request: ChangeRequest, names: list[str]) -> str:
    return (
        f"change request #{request.pk} (revision {request.revision}) by {request.author.get_username()}, "
        f"approved by {', '.join(names)}: "
    )


def change_request_publish(*, request_id: Any, user) -> ChangeRequest:
    """Apply an approved request as one new version. If the profile moved past the request's base,
    nothing is applied: the request turns ``stale`` (that is kept) and a 409 says what changed."""
    stale: Conflict | None = None
    with transaction.atomic():
        profile, request = _locked(request_id)
        is_author = request.author_id == getattr(user, "pk", None)
        if not (is_author and may_open(user)) and not may_review(user):
            raise _forbidden(
                "permission_denied",
                f"Request #{request.pk} is published by its author (with the operator role) or by a reviewer.",
            )
        if request.state == RequestState.APPROVED and profile.version != request.base_version:
            request.state = RequestState.STALE
            _stamp(request, user=user, reason=f"profile moved to version {profile.version}")
            request.save()
        if request.state == RequestState.STALE:
            moved = moved_meanwhile(request)
            message = (
                f"request #{request.pk} starts from version {request.base_version}, but {profile.name} is at "
                f"version {profile.version}; its author revises it on the new version"
            )
            stale = Conflict(
                f"Not published: {message}.",
                errors=[FieldError("base_version", "stale", message)],
                extra={"current_version": profile.version, "base_version": request.base_version, "moved": moved},
            )
        else:
            if request.state != RequestState.APPROVED:
                raise _state_refusal(request, "published")
            names = approvers(request)
            if len(names) < profile.required_approvals:  # the count rose since it was approved
                raise Conflict(
                    f"Request #{request.pk} has {len(names)} of the {profile.required_approvals} approvals "
                    f"{profile.name} needs.",
                    errors=[FieldError("state", "approvals", f"needs {profile.required_approvals} approvals")],
                )
            change = apply_change(
                profile,
                changes=request.changes,
                note=clean_note(request.note, prefix=publish_note(request, names)),
                user=user,
                operator="",
                change_type=ChangeType.REQUEST,
                change_request=request.pk,
            )
            request.state = RequestState.PUBLISHED
            request.published_version = change.profile.version
            request.published_history_id = change.history_id
            request.published_by = user
            request.published_at = timezone.now()
            _stamp(request, user=user, reason=f"published as version {change.profile.version}")
            request.save()
    if stale is not None:
        raise stale
    return request


@transaction.atomic
def change_request_withdraw(*, request_id: Any, user, note: Any = "") -> ChangeRequest:
    """The author (or an administrator) takes the request back; it can no longer change anything."""
    if note not in (None, "") and not isinstance(note, str):
        raise ValidationFailed.single("note", "type", "must be text")
    note = clean_note(note) if (note or "").strip() else ""
    _, request = _locked(request_id)
    if request.author_id != getattr(user, "pk", None) and not user.has_perm("profiles.protect_constraintprofile"):
        raise _forbidden("author_only", f"Only the author of request #{request.pk} ({request.author}) withdraws it.")
    if request.state not in REVISABLE:
        raise _state_refusal(request, "withdrawn")
    request.state = RequestState.WITHDRAWN
    _stamp(request, user=user, reason=f"withdrawn{': ' + note if note else ''}")
    request.save()
    return request


__all__ = [
    "OPEN_PERMISSION",
    "REVIEW_PERMISSION",
    "change_request_create",
    "change_request_publish",
    "change_request_review",
    "change_request_revise",
    "change_request_withdraw",
    "may_open",
    "may_review",
]
