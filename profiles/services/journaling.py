"""What every profile and rule write shares: the note, the operator, the journal stamp, the export
after commit, the row lock and the version check."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from engine.profile import (
    CONTROL_CHARACTERS_MESSAGE,
    NAME_RE,
    Problem,
    control_characters,
)
from profiles import journal, selectors
from profiles.models import ConstraintProfile
from profiles.services.yaml_export import journal_mirror_catch_up, profiles_export
from profiles.signals import profile_version_saved
from rmos_site.errors import Conflict, FieldError, ValidationFailed

logger = logging.getLogger("rmos.profiles")

NOTE_MAX = 2000
OPERATOR_MAX = 150
#: The profile the resolver falls back to when no rule matches: it cannot be deleted.
RESERVED_PROFILE_NAMES = {"list"}  # "profile-admin/list" is the list endpoint
RULE_MATCH_FIELDS = {
    "tool_id": "tool_pattern",
    "material_id": "material_pattern",
    "machine_id": "machine_pattern",
    "workflow_mode": "workflow_mode",
    "geometry_engine": "geometry_engine",
}
RULE_KEYS = ("name", "match", "profile", "priority", "enabled", "note")
PRIORITY_RANGE = (-1_000_000, 1_000_000)


@dataclass
class ProfileChange:
    profile: ConstraintProfile
    changes: list[dict[str, Any]] = field(default_factory=list)
    history_id: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def problem_errors(problems: list[Problem]) -> list[FieldError]:
    return [FieldError(p.field, p.rule, p.message) for p in problems]


def clean_note(note: Any, *, prefix: str = "") -> str:
    """The note, checked; ``prefix`` is what the journal adds before it (e.g. a rollback's
    "rollback to version 1 (record #7): "), which the length limit does not count."""
    if not isinstance(note, str) or not note.strip():
        raise ValidationFailed.single("note", "required", "a change note is required: say why you make this change")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed.single("note", "max_length", f"must be at most {NOTE_MAX} characters, got {len(note)}")
    if control_characters(note, allow_newlines=True):
        raise ValidationFailed.single("note", "characters", CONTROL_CHARACTERS_MESSAGE)
    return prefix + note


def clean_operator(operator: Any) -> str:
    if operator is None:
        return ""
    if not isinstance(operator, str):
        raise ValidationFailed.single("operator", "type", "must be text")
    operator = operator.strip()
    if len(operator) > OPERATOR_MAX:
        raise ValidationFailed.single("operator", "max_length", f"must be at most {OPERATOR_MAX} characters")
    if control_characters(operator):
        raise ValidationFailed.single("operator", "characters", CONTROL_CHARACTERS_MESSAGE)
    return operator


def stamp(
    obj,
    *,
    user,
    note: str,
    change_type: str,
    operator: str,
    rollback_of: int | None = None,
    change_request: int | None = None,
) -> None:
    obj._history_user = user if (user is not None and user.is_authenticated) else None
    obj._change_reason = note
    obj._journal = journal.JournalStamp(
        change_type=change_type, operator=operator, rollback_of=rollback_of, change_request=change_request
    )


def after_commit() -> None:
    """Once committed: bring the canonical YAML and the journal mirror up to date with the
    database. Both are rewritten from the database's state (the whole YAML; every journal entry
    the mirror lacks), so whatever an earlier crash kept out of them comes along."""

    def run() -> None:
        try:
            profiles_export()
        except Exception:  # the change is committed; drift is reported by export_profiles --check
            logger.exception("re-exporting the canonical YAML failed")
        try:
            journal_mirror_catch_up()
        except Exception:  # the journal is in the database; the check reports a mirror behind it
            logger.exception("appending to the journal mirror %s failed", settings.RMOS_PROFILE_HISTORY_PATH)

    transaction.on_commit(run)


def announce_version(profile: ConstraintProfile, *, previous_version: int | None) -> None:
    """Once committed, tell the apps above about the new version (:mod:`profiles.signals`)."""
    record = profile.history.order_by("-history_id").values_list("history_id", "history_date").first()
    history_id, saved_at = record if record else (None, None)
    name, version = profile.name, profile.version

    def send() -> None:
        for _receiver, outcome in profile_version_saved.send_robust(
            sender=ConstraintProfile,
            name=name,
            version=version,
            history_id=history_id,
            previous_version=previous_version,
            saved_at=saved_at,
        ):
            if isinstance(outcome, Exception):
                logger.error("a receiver of profile_version_saved failed: %r", outcome, exc_info=outcome)

    transaction.on_commit(send)


def locked_profile(name: str) -> ConstraintProfile:
    profile = (
        ConstraintProfile.objects.select_for_update().filter(name=name).first() if NAME_RE.fullmatch(name) else None
    )
    if profile is None:
        raise selectors.profile_not_found(name)
    return profile


def check_version(profile: ConstraintProfile, version: Any) -> None:
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationFailed.single("version", "type", "must be a whole number (the version you edited)")
    if version > profile.version:
        raise ValidationFailed.single(
            "version",
            "range",
            f"profile {profile.name!r} is at version {profile.version}; there is no version {version} yet",
        )
    if version != profile.version:
        raise Conflict(
            f"Profile {profile.name!r} is at version {profile.version}, not {version}: someone saved "
            "a newer version first. Review the current values and apply your change again.",
            errors=[FieldError("version", "stale", f"current version is {profile.version}")],
            extra={"current": selectors.profile_to_dict(profile), "current_version": profile.version},
        )
