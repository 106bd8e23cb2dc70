"""Profile writes: create, update, roll back, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from engine.profile import (
    CONSTRAINT_FIELDS,
    Problem,
    parse_profile,
)
from engine.resolver import FALLBACK_PROFILE
from profiles import journal, selectors
from profiles.models import ChangeType, ConstraintProfile
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
from rmos_site.errors import ValidationFailed


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
    spec, spec_problems = parse_profile(name, values, palette_keys=selectors.palette_keys())
    problems.extend(spec_problems)
    if problems:
        raise ValidationFailed(errors=problem_errors(problems))
    profile = ConstraintProfile(name=spec.name, version=1, **spec.values())
    if dry_run:
        return profile
    stamp(profile, user=user, note=note, change_type=change_type, operator=operator)
    profile.save()
    after_commit()
    announce_version(profile, previous_version=None)
    return profile


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

    ``dry_run`` runs every check and returns the change it would make, writing nothing.
    """
    note = clean_note(note, prefix=note_prefix)
    operator = clean_operator(operator)
    if "name" in changes and changes["name"] != name:
        raise ValidationFailed.single("name", "read_only", "a profile cannot be renamed; create a new one instead")
    profile = locked_profile(name)
    check_version(profile, version)
    current = selectors.profile_values(profile)
    merged = dict(current)
    merged.update({k: v for k, v in changes.items() if k != "name"})
    # The palette is checked against the catalog only when it changes, so a palette that has
    # since left the catalog does not block unrelated edits.
    palette_changed = merged["palette_key"] != current["palette_key"]
    spec, problems = parse_profile(name, merged, palette_keys=selectors.palette_keys() if palette_changed else None)
    if problems:
        raise ValidationFailed(errors=problem_errors(problems))
    new_values = spec.values()
    diff = [
        {"field": f, "before": journal.plain(current[f]), "after": journal.plain(new_values[f])}
        for f in CONSTRAINT_FIELDS
        if current[f] != new_values[f]
    ]
    if not diff or dry_run:
        return ProfileChange(profile, diff)
    for f in CONSTRAINT_FIELDS:
        setattr(profile, f, new_values[f])
    profile.version += 1
    stamp(profile, user=user, note=note, change_type=change_type, operator=operator, rollback_of=rollback_of)
    profile.save()
    after_commit()
    announce_version(profile, previous_version=profile.version - 1)
    record = profile.history.order_by("-history_id").first()
    return ProfileChange(profile, diff, record.history_id if record else None)


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
def profile_delete(*, name: str, note: str, user=None, operator: str = "") -> None:
    note = clean_note(note)
    operator = clean_operator(operator)
    profile = locked_profile(name)
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
