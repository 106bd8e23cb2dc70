"""Profile writes: create, update, roll back, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.urls import NoReverseMatch, reverse

from engine.profile import (
    CONSTRAINT_FIELDS,
    Problem,
    parse_profile,
)
from engine.resolver import FALLBACK_PROFILE
from profiles import journal, selectors
from profiles.models import (
    MAX_REQUIRED_APPROVALS,
    ChangeRequest,
    ChangeType,
    ConstraintProfile,
    RequestState,
)
from profiles.services.journaling import (
    RESERVED_PROFILE_NAMES,
    ProfileChange,
    after_commit,
    announce_version,
    check_version,
    clean_note,
    clean_operator,
    locked_profile,
    problem_errors,
    stamp,
)
from rmos_site.errors import Conflict, FieldError, Forbidden, ValidationFailed

GOVERNANCE_FIELDS = journal.GOVERNANCE_FIELDS
PROTECT_PERMISSION = "profiles.protect_constraintprofile"
CHANGE_REQUESTS_API = "/api/rmos/ai/change-requests"
#: Requests in these states still expect to be published: they keep their profile from deletion.
ACTIVE_REQUEST_STATES = (RequestState.OPEN, RequestState.APPROVED, RequestState.REJECTED, RequestState.STALE)


def reserved_name_problem(name: Any) -> Problem | None:
    if name in RESERVED_PROFILE_NAMES:
        return Problem("name", "reserved", f"{name!r} is reserved by the API; choose another name")
    return None


@transaction.atomic
def profile_create(
    *,
    name: str,
    values: Mapping[str, Any],
    note: str,
    user=None,
    operator: str = "",
    change_type: str = ChangeType.CREATED,
    dry_run: bool = False,
) -> ConstraintProfile:
    """Create a profile (version 1). ``dry_run`` validates and returns the unsaved profile."""
    note = clean_note(note)
    operator = clean_operator(operator)
    problems: list[Problem] = []
    reserved = reserved_name_problem(name)
    if reserved:
        problems.append(reserved)
    elif ConstraintProfile.objects.filter(name=name).exists():
        problems.append(Problem("name", "unique", f"a profile named {name!r} already exists"))
    constraint_values = {k: v for k, v in values.items() if k not in GOVERNANCE_FIELDS}
    spec, spec_problems = parse_profile(name, constraint_values, palette_keys=selectors.palette_keys())
    problems.extend(spec_problems)
    governance, governance_problems = parse_governance({k: values[k] for k in GOVERNANCE_FIELDS if k in values})
    problems.extend(governance_problems)
    if problems:
        raise ValidationFailed(errors=problem_errors(problems))
    if governance.get("protected") or governance.get("required_approvals", 1) != 1:
        _check_may_govern(user)
    profile = ConstraintProfile(name=spec.name, version=1, **spec.values(), **governance)
    if dry_run:
        return profile
    stamp(profile, user=user, note=note, change_type=change_type, operator=operator)
    profile.save()
    after_commit()
    announce_version(profile, previous_version=None)
    return profile


def protected_refusal(name: str) -> Conflict:
    """The 409 for a direct edit of a protected profile: the way in is a change request."""
    try:
        page = reverse("change-request-new") + f"?profile={name}"
    except NoReverseMatch:  # pages not mounted (a settings variant): the API still says where to go
        page = ""
    where = f" (page {page}, or POST {CHANGE_REQUESTS_API})" if page else f" (POST {CHANGE_REQUESTS_API})"
    message = (
        f"profile {name!r} is protected: its values change only through an approved change request; open one{where}"
    )
    return Conflict(
        f"Profile {name!r} is protected: direct edits are refused. Open a change request{where}; "
        "once reviewers approve it, it is published as a new version.",
        errors=[FieldError("", "protected", message)],
        extra={"protected": True, "change_request_page": page, "change_requests_api": CHANGE_REQUESTS_API},
    )


def parse_governance(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Check ``protected`` and ``required_approvals`` where given."""
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    if "protected" in values:
        if isinstance(values["protected"], bool):
            clean["protected"] = values["protected"]
        else:
            problems.append(Problem("protected", "type", "must be true or false"))
    if "required_approvals" in values:
        raw = values["required_approvals"]
        if isinstance(raw, bool) or not isinstance(raw, int):
            problems.append(Problem("required_approvals", "type", "must be a whole number"))
        elif not 1 <= raw <= MAX_REQUIRED_APPROVALS:
            problems.append(
                Problem("required_approvals", "range", f"must be between 1 and {MAX_REQUIRED_APPROVALS}, got {raw}")
            )
        else:
            clean["required_approvals"] = raw
    return clean, problems


def may_govern(user) -> bool:
    """Protection is for admins: commands (no user) and accounts with the protect permission."""
    return user is None or user.has_perm(PROTECT_PERMISSION)


def _check_may_govern(user) -> None:
    if not may_govern(user):
        raise Forbidden(
            "Protecting a profile or changing the approvals it needs is for administrators.",
            errors=[FieldError("protected", "permission_denied", "only administrators change a profile's protection")],
        )


def mark_requests_stale(profile: ConstraintProfile, *, user=None, publishing: int | None = None) -> int:
    """Open and approved requests on an older base cannot be published any more: say so now
    (in the transaction that moved the profile), so that lists and counts show it at once."""
    moved = 0
    for request in (
        ChangeRequest.objects.select_for_update()
        .filter(profile=profile, state__in=[RequestState.OPEN, RequestState.APPROVED])
        .exclude(base_version=profile.version)
        .exclude(pk=publishing)
    ):
        request.state = RequestState.STALE
        request._history_user = user if (user is not None and user.is_authenticated) else None
        request._change_reason = f"profile moved to version {profile.version}"
        request.save()
        moved += 1
    return moved


def apply_change(
    profile: ConstraintProfile,
    *,
    changes: Mapping[str, Any],
    note: str,
    user,
    operator: str,
    change_type: str,
    rollback_of: int | None = None,
    change_request: int | None = None,
    dry_run: bool = False,
) -> ProfileChange:
    """Validate and apply ``changes`` to a profile the caller has locked, as one new version.

    The shared core of every edit (:func:`profile_update`, rollbacks, imports, a change request's
    publication): the callers decide who may change what; this validates, diffs, journals,
    re-exports, and marks requests on the old version stale. Nothing is saved when nothing differs."""
    current = selectors.profile_values(profile)
    merged = dict(current)
    merged.update({k: v for k, v in changes.items() if k != "name" and k not in GOVERNANCE_FIELDS})
    # The palette is checked against the catalog only when it changes, so a palette that has
    # since left the catalog does not block unrelated edits.
    palette_changed = merged["palette_key"] != current["palette_key"]
    spec, problems = parse_profile(
        profile.name, merged, palette_keys=selectors.palette_keys() if palette_changed else None
    )
    governance, governance_problems = parse_governance({k: changes[k] for k in GOVERNANCE_FIELDS if k in changes})
    problems = (problems or []) + governance_problems
    if problems:
        raise ValidationFailed(errors=problem_errors(problems))
    new_values = {**spec.values(), **{f: governance.get(f, getattr(profile, f)) for f in GOVERNANCE_FIELDS}}
    before = {**current, **{f: getattr(profile, f) for f in GOVERNANCE_FIELDS}}
    diff = [
        {"field": f, "before": journal.plain(before[f]), "after": journal.plain(new_values[f])}
        for f in journal.PROFILE_FIELDS
        if before[f] != new_values[f]
    ]
    if any(item["field"] in GOVERNANCE_FIELDS for item in diff):
        _check_may_govern(user)
    if not diff or dry_run:
        return ProfileChange(profile, diff)
    for f in journal.PROFILE_FIELDS:
        setattr(profile, f, new_values[f])
    profile.version += 1
    stamp(
        profile,
        user=user,
        note=note,
        change_type=change_type,
        operator=operator,
        rollback_of=rollback_of,
        change_request=change_request,
    )
    profile.save()
    after_commit()
    announce_version(profile, previous_version=profile.version - 1)
    mark_requests_stale(profile, user=user, publishing=change_request)
    record = profile.history.order_by("-history_id").first()
    return ProfileChange(profile, diff, record.history_id if record else None)


@transaction.atomic
def profile_update(
    *,
    name: str,
    changes: Mapping[str, Any],
    note: str,
    version: int | None = None,
    user=None,
    operator: str = "",
    change_type: str = ChangeType.CHANGED,
    rollback_of: int | None = None,
    note_prefix: str = "",
    dry_run: bool = False,
) -> ProfileChange:
    """Apply a partial update. Returns the change; nothing is saved when nothing differs.

    A protected profile's values are refused here (409, rule ``protected``), whichever door the
    edit came through; only an import (the reviewed git channel) and a change request's
    publication change them. Its protection itself stays an administrator's to change.
    ``dry_run`` runs every check and returns the change it would make, writing nothing.
    """
    note = clean_note(note, prefix=note_prefix)
    operator = clean_operator(operator)
    if "name" in changes and changes["name"] != name:
        raise ValidationFailed.single("name", "read_only", "a profile cannot be renamed; create a new one instead")
    profile = locked_profile(name)
    check_version(profile, version)
    was_protected = profile.protected
    change = apply_change(
        profile,
        changes=changes,
        note=note,
        user=user,
        operator=operator,
        change_type=change_type,
        rollback_of=rollback_of,
        dry_run=True,
    )
    values_change = any(item["field"] not in GOVERNANCE_FIELDS for item in change.changes)
    if was_protected and values_change and change_type != ChangeType.IMPORT:
        raise protected_refusal(name)
    if not change.changed or dry_run:
        return change
    return apply_change(
        profile,
        changes=changes,
        note=note,
        user=user,
        operator=operator,
        change_type=change_type,
        rollback_of=rollback_of,
    )


def rollback_note_prefix(*, version: int, history_id: int) -> str:
    """How the journal note of a rollback starts: the version restored (what operators go by), then the record."""
    return f"rollback to version {version} (record #{history_id}): "


@transaction.atomic
def profile_rollback(
    *,
    name: str,
    history_id: Any,
    note: str,
    user=None,
    operator: str = "",
    version: int | None = None,
    dry_run: bool = False,
) -> ProfileChange:
    """Restore the constraint values of one of this profile's history records, as a new version."""
    note = clean_note(note)
    if isinstance(history_id, bool) or not isinstance(history_id, int) or history_id < 1:
        raise ValidationFailed.single("id", "type", "must be the id of a history record (a positive whole number)")
    profile = locked_profile(name)
    record = selectors.profile_history_record(profile=profile, history_id=history_id)
    if record.history_type == "-":
        raise ValidationFailed.single("id", "deleted_record", f"record #{history_id} marks a deletion; pick another")
    restored = {f: getattr(record, f) for f in CONSTRAINT_FIELDS}
    return profile_update(
        name=name,
        changes=restored,
        note=note,
        note_prefix=rollback_note_prefix(version=record.version, history_id=history_id),
        version=version,
        user=user,
        operator=operator,
        change_type=ChangeType.ROLLBACK,
        rollback_of=history_id,
        dry_run=dry_run,
    )


@transaction.atomic
def profile_delete(*, name: str, note: str, user=None, operator: str = "", via_import: bool = False) -> None:
    """Delete a profile. A protected one only through an import (``via_import``, the git channel)."""
    note = clean_note(note)
    operator = clean_operator(operator)
    profile = locked_profile(name)
    if profile.protected and not via_import:
        raise protected_refusal(name)
    active = list(profile.change_requests.filter(state__in=ACTIVE_REQUEST_STATES).values_list("id", flat=True))
    if active:
        raise ValidationFailed.single(
            "name",
            "in_use",
            f"profile {name!r} has change requests under way ({', '.join(f'#{i}' for i in sorted(active))}); "
            "publish or withdraw them first",
        )
    if name == FALLBACK_PROFILE:
        raise ValidationFailed.single(
            "name", "protected", f"the {FALLBACK_PROFILE!r} profile is the resolver's fallback and cannot be deleted"
        )
    rules = list(profile.rules.values_list("name", flat=True))
    if rules:
        raise ValidationFailed.single(
            "name",
            "in_use",
            f"profile {name!r} is the target of rules {', '.join(sorted(rules))}; change or delete them first",
        )
    stamp(profile, user=user, note=note, change_type=ChangeType.DELETED, operator=operator)
    profile.delete()
    after_commit()
