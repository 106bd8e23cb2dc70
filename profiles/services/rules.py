"""Resolution-rule writes: create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from engine.context import ID_MAX_LENGTH, NO_GEOMETRY_ENGINE, WORKFLOW_MODES
from engine.profile import (
    CONTROL_CHARACTERS_MESSAGE,
    NAME_RE,
    Problem,
    control_characters,
    validate_name,
)
from engine.resolver import glob_problem
from profiles import selectors
from profiles.models import ChangeType, ConstraintProfile, ResolutionRule
from profiles.services.journaling import (
    NOTE_MAX,
    PRIORITY_RANGE,
    RULE_KEYS,
    RULE_MATCH_FIELDS,
    after_commit,
    clean_note,
    clean_operator,
    problem_errors,
    stamp,
)
from rmos_site.errors import Conflict, FieldError, NotFound, ValidationFailed


def parse_rule(
    values: Mapping[str, Any], *, known_profiles: set[str] | None = None, stored_match: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Check a rule in the canonical shape (name, match{...}, profile, priority, enabled, note).

    ``stored_match`` is the rule's match as stored: a pattern kept as it is is not checked as a
    glob again (one saved before that check, matching an id with a literal '[', stays editable).
    """
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    for key in values:
        if key not in RULE_KEYS:
            problems.append(Problem(str(key), "unknown_field", f"is not a rule field; known: {', '.join(RULE_KEYS)}"))
    name = values.get("name")
    name_problem = validate_name(name)
    if name_problem:
        problems.append(name_problem)
    else:
        clean["name"] = name
    match = values.get("match") or {}
    if not isinstance(match, Mapping):
        problems.append(Problem("match", "type", "must be a mapping of context field to pattern"))
        match = {}
    for key in match:
        if key not in RULE_MATCH_FIELDS:
            problems.append(
                Problem(f"match.{key}", "unknown_field", f"known match fields: {', '.join(RULE_MATCH_FIELDS)}")
            )
    for key, column in RULE_MATCH_FIELDS.items():
        raw = match.get(key, "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            problems.append(Problem(f"match.{key}", "type", "must be text (an id or a glob such as 'saw:*')"))
            continue
        raw = raw.strip()
        if len(raw) > ID_MAX_LENGTH:
            problems.append(Problem(f"match.{key}", "max_length", f"must be at most {ID_MAX_LENGTH} characters"))
        elif any(ch.isspace() for ch in raw):
            problems.append(Problem(f"match.{key}", "whitespace", "ids and patterns cannot contain spaces"))
        elif control_characters(raw):
            problems.append(Problem(f"match.{key}", "characters", CONTROL_CHARACTERS_MESSAGE))
        elif key == "workflow_mode" and raw and raw not in WORKFLOW_MODES:
            problems.append(Problem("match.workflow_mode", "choice", f"must be one of {', '.join(WORKFLOW_MODES)}"))
        elif key == "geometry_engine" and raw == NO_GEOMETRY_ENGINE and raw != (stored_match or {}).get(key):
            problems.append(Problem(
                "match.geometry_engine", "reserved",
                f"{NO_GEOMETRY_ENGINE!r} is no engine's name (it means 'no engine' in the log's filters); leave it empty to match any",
            ))  # fmt: skip
        elif key in ("workflow_mode", "geometry_engine") and any(c in raw for c in "*?["):
            problems.append(
                Problem(
                    f"match.{key}", "exact_only", "matches exactly; globs are only for tool, material and machine ids"
                )
            )
        elif raw != (stored_match or {}).get(key) and (bad_glob := glob_problem(raw)):
            problems.append(Problem(f"match.{key}", "glob", bad_glob))
        else:
            clean[column] = raw
    profile_name = values.get("profile")
    if not isinstance(profile_name, str) or not NAME_RE.fullmatch(profile_name):
        problems.append(Problem("profile", "required", "must name a profile"))
    elif known_profiles is not None and profile_name not in known_profiles:
        problems.append(Problem("profile", "unknown_profile", f"no profile named {profile_name!r}"))
    else:
        clean["profile"] = profile_name
    priority = values.get("priority", 100)
    if isinstance(priority, bool) or not isinstance(priority, int):
        problems.append(Problem("priority", "type", "must be a whole number (lower wins ties)"))
    elif not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
        problems.append(Problem("priority", "range", f"must be between {PRIORITY_RANGE[0]} and {PRIORITY_RANGE[1]}"))
    else:
        clean["priority"] = priority
    enabled = values.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(Problem("enabled", "type", "must be true or false"))
    else:
        clean["enabled"] = enabled
    note = values.get("note", "") or ""
    if not isinstance(note, str):
        problems.append(Problem("note", "type", "must be text"))
    elif len(note) > NOTE_MAX:
        problems.append(Problem("note", "max_length", f"must be at most {NOTE_MAX} characters"))
    elif control_characters(note, allow_newlines=True):
        problems.append(Problem("note", "characters", CONTROL_CHARACTERS_MESSAGE))
    else:
        clean["note"] = note
    return clean, problems


def _rule_columns(clean: dict[str, Any]) -> dict[str, Any]:
    columns = {k: v for k, v in clean.items() if k not in ("name", "profile")}
    columns["profile"] = ConstraintProfile.objects.get(name=clean["profile"])
    return columns


@transaction.atomic
def rule_create(
    *,
    values: Mapping[str, Any],
    note: str,
    user=None,
    operator: str = "",
    change_type: str = ChangeType.CREATED,
    dry_run: bool = False,
) -> ResolutionRule:
    note = clean_note(note)
    operator = clean_operator(operator)
    known = set(ConstraintProfile.objects.values_list("name", flat=True))
    clean, problems = parse_rule(values, known_profiles=known)
    if "name" in clean and ResolutionRule.objects.filter(name=clean["name"]).exists():
        problems.append(Problem("name", "unique", f"a rule named {clean['name']!r} already exists"))
    if problems:
        raise ValidationFailed(errors=problem_errors(problems))
    rule = ResolutionRule(name=clean["name"], **_rule_columns(clean))
    if dry_run:
        return rule
    stamp(rule, user=user, note=note, change_type=change_type, operator=operator)
    rule.save()
    after_commit()
    return rule


@transaction.atomic
def rule_update(
    *,
    name: str,
    changes: Mapping[str, Any],
    note: str,
    version: int | None = None,
    user=None,
    operator: str = "",
    change_type: str = ChangeType.CHANGED,
    note_prefix: str = "",
    dry_run: bool = False,
) -> tuple[ResolutionRule, list[dict[str, Any]]]:
    """Apply a partial update in the canonical shape (``match`` replaces the whole match)."""
    note = clean_note(note, prefix=note_prefix)
    operator = clean_operator(operator)
    rule = ResolutionRule.objects.select_for_update().select_related("profile").filter(name=name).first()
    if rule is None:
        raise NotFound(f"No rule named {name!r}.", extra={"field": "name"})
    if version is not None and version > rule.version:
        raise ValidationFailed.single(
            "version", "range", f"rule {name!r} is at version {rule.version}; there is no version {version} yet"
        )
    if version is not None and version != rule.version:
        raise Conflict(
            f"Rule {name!r} is at version {rule.version}, not {version}.",
            errors=[FieldError("version", "stale", f"current version is {rule.version}")],
            extra={"current": selectors.rule_to_dict(rule), "current_version": rule.version},
        )
    current = selectors.rule_values(rule)
    merged = {**current, **changes}
    known = set(ConstraintProfile.objects.values_list("name", flat=True))
    clean, problems = parse_rule(merged, known_profiles=known, stored_match=current["match"])
    if problems:
        raise ValidationFailed(errors=problem_errors(problems))
    if clean["name"] != name and ResolutionRule.objects.filter(name=clean["name"]).exists():
        raise ValidationFailed.single("name", "unique", f"a rule named {clean['name']!r} already exists")
    columns = _rule_columns(clean)
    diff = []
    for column, after in [("name", clean["name"]), *columns.items()]:
        before = getattr(rule, column)
        if before != after:
            shown_before = before.name if column == "profile" else before
            shown_after = after.name if column == "profile" else after
            diff.append({"field": column, "before": shown_before, "after": shown_after})
    if not diff or dry_run:
        return rule, diff
    rule.name = clean["name"]
    for column, value in columns.items():
        setattr(rule, column, value)
    rule.version += 1
    stamp(rule, user=user, note=note, change_type=change_type, operator=operator)
    rule.save()
    after_commit()
    return rule, diff


@transaction.atomic
def rule_delete(*, name: str, note: str, user=None, operator: str = "") -> None:
    note = clean_note(note)
    operator = clean_operator(operator)
    rule = ResolutionRule.objects.select_for_update().filter(name=name).first()
    if rule is None:
        raise NotFound(f"No rule named {name!r}.", extra={"field": "name"})
    stamp(rule, user=user, note=note, change_type=ChangeType.DELETED, operator=operator)
    rule.delete()
    after_commit()
