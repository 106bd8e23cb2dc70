"""Every write to profiles and rules. API, admin, dashboard and commands all call these.

Each service validates with the engine's rules, refuses a stale ``version`` (409, nothing
written), skips saves that change nothing, journals the acting user, the operator, the change
type and the note, and - once the transaction commits - re-exports the canonical YAML and
appends the change to the JSONL mirror when one is configured.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from engine.context import ID_MAX_LENGTH, NO_GEOMETRY_ENGINE, WORKFLOW_MODES
from engine.profile import (
    CONSTRAINT_FIELDS,
    CONTROL_CHARACTERS_MESSAGE,
    INT_FIELDS,
    NAME_RE,
    WIDTH_FIELDS,
    Problem,
    control_characters,
    parse_profile,
    validate_name,
)
from engine.resolver import FALLBACK_PROFILE, glob_problem
from profiles import canonical, journal, selectors
from profiles.models import ChangeType, ConstraintProfile, ResolutionRule
from rmos_site.errors import ApplicationError, Conflict, FieldError, NotFound, ValidationFailed

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


def _errors(problems: list[Problem]) -> list[FieldError]:
    return [FieldError(p.field, p.rule, p.message) for p in problems]


def _clean_note(note: Any, *, prefix: str = "") -> str:
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


def _clean_operator(operator: Any) -> str:
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


def _stamp(obj, *, user, note: str, change_type: str, operator: str, rollback_of: int | None = None) -> None:
    obj._history_user = user if (user is not None and user.is_authenticated) else None
    obj._change_reason = note
    obj._journal = journal.JournalStamp(change_type=change_type, operator=operator, rollback_of=rollback_of)


def _after_commit(model, obj_id: int, fields, *, kind: str) -> None:
    """Once committed: re-export the canonical YAML, mirror this transaction's journal entry.

    The entry is found now, inside the transaction (which holds the row's lock, so it is the
    newest): after the commit another process may already have journaled a newer one, and the
    mirror would get that entry twice and miss this one."""
    history_path: Path | None = settings.RMOS_PROFILE_HISTORY_PATH
    own_record = (
        model.history.filter(id=obj_id).order_by("-history_id").values_list("history_id", flat=True).first()
        if history_path is not None
        else None
    )

    def run() -> None:
        try:
            profiles_export()
        except Exception:  # the change is committed; drift is reported by export_profiles --check
            logger.exception("re-exporting the canonical YAML failed")
        if history_path is not None and own_record is not None:
            try:
                records = list(
                    model.history.filter(id=obj_id, history_id__lte=own_record)
                    .select_related("history_user")
                    .order_by("-history_id")[:2]
                )
                if records:
                    newest = records[0]
                    previous = records[1] if len(records) > 1 else None
                    item = journal.entry(newest, previous, fields, subject=newest.name)
                    item["kind"] = kind
                    journal.append_jsonl(history_path, [item])
            except Exception:
                logger.exception("appending to the journal mirror %s failed", history_path)

    transaction.on_commit(run)


def _locked_profile(name: str) -> ConstraintProfile:
    profile = (
        ConstraintProfile.objects.select_for_update().filter(name=name).first() if NAME_RE.fullmatch(name) else None
    )
    if profile is None:
        raise selectors.profile_not_found(name)
    return profile


def _check_version(profile: ConstraintProfile, version: Any) -> None:
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


# ---------------------------------------------------------------------------------------------
# Profiles


def _reserved_name_problem(name: Any) -> Problem | None:
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
    note = _clean_note(note)
    operator = _clean_operator(operator)
    problems: list[Problem] = []
    reserved = _reserved_name_problem(name)
    if reserved:
        problems.append(reserved)
    elif ConstraintProfile.objects.filter(name=name).exists():
        problems.append(Problem("name", "unique", f"a profile named {name!r} already exists"))
    spec, spec_problems = parse_profile(name, values, palette_keys=selectors.palette_keys())
    problems.extend(spec_problems)
    if problems:
        raise ValidationFailed(errors=_errors(problems))
    profile = ConstraintProfile(name=spec.name, version=1, **spec.values())
    if dry_run:
        return profile
    _stamp(profile, user=user, note=note, change_type=change_type, operator=operator)
    profile.save()
    _after_commit(ConstraintProfile, profile.id, journal.PROFILE_FIELDS, kind="profile")
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
    note = _clean_note(note, prefix=note_prefix)
    operator = _clean_operator(operator)
    if "name" in changes and changes["name"] != name:
        raise ValidationFailed.single("name", "read_only", "a profile cannot be renamed; create a new one instead")
    profile = _locked_profile(name)
    _check_version(profile, version)
    current = selectors.profile_values(profile)
    merged = dict(current)
    merged.update({k: v for k, v in changes.items() if k != "name"})
    # The palette is checked against the catalog only when it changes, so a palette that has
    # since left the catalog does not block unrelated edits.
    palette_changed = merged["palette_key"] != current["palette_key"]
    spec, problems = parse_profile(name, merged, palette_keys=selectors.palette_keys() if palette_changed else None)
    if problems:
        raise ValidationFailed(errors=_errors(problems))
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
    _stamp(profile, user=user, note=note, change_type=change_type, operator=operator, rollback_of=rollback_of)
    profile.save()
    _after_commit(ConstraintProfile, profile.id, journal.PROFILE_FIELDS, kind="profile")
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
    note = _clean_note(note)
    if isinstance(history_id, bool) or not isinstance(history_id, int) or history_id < 1:
        raise ValidationFailed.single("id", "type", "must be the id of a history record (a positive whole number)")
    profile = _locked_profile(name)
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
    note = _clean_note(note)
    operator = _clean_operator(operator)
    profile = _locked_profile(name)
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
    profile_id = profile.id
    _stamp(profile, user=user, note=note, change_type=ChangeType.DELETED, operator=operator)
    profile.delete()
    _after_commit(ConstraintProfile, profile_id, journal.PROFILE_FIELDS, kind="profile")


# ---------------------------------------------------------------------------------------------
# Rules


def _parse_rule(
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
    note = _clean_note(note)
    operator = _clean_operator(operator)
    known = set(ConstraintProfile.objects.values_list("name", flat=True))
    clean, problems = _parse_rule(values, known_profiles=known)
    if "name" in clean and ResolutionRule.objects.filter(name=clean["name"]).exists():
        problems.append(Problem("name", "unique", f"a rule named {clean['name']!r} already exists"))
    if problems:
        raise ValidationFailed(errors=_errors(problems))
    rule = ResolutionRule(name=clean["name"], **_rule_columns(clean))
    if dry_run:
        return rule
    _stamp(rule, user=user, note=note, change_type=change_type, operator=operator)
    rule.save()
    _after_commit(ResolutionRule, rule.id, journal.RULE_FIELDS, kind="rule")
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
    note = _clean_note(note, prefix=note_prefix)
    operator = _clean_operator(operator)
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
    clean, problems = _parse_rule(merged, known_profiles=known, stored_match=current["match"])
    if problems:
        raise ValidationFailed(errors=_errors(problems))
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
    _stamp(rule, user=user, note=note, change_type=change_type, operator=operator)
    rule.save()
    _after_commit(ResolutionRule, rule.id, journal.RULE_FIELDS, kind="rule")
    return rule, diff


@transaction.atomic
def rule_delete(*, name: str, note: str, user=None, operator: str = "") -> None:
    note = _clean_note(note)
    operator = _clean_operator(operator)
    rule = ResolutionRule.objects.select_for_update().filter(name=name).first()
    if rule is None:
        raise NotFound(f"No rule named {name!r}.", extra={"field": "name"})
    rule_id = rule.id
    _stamp(rule, user=user, note=note, change_type=ChangeType.DELETED, operator=operator)
    rule.delete()
    _after_commit(ResolutionRule, rule_id, journal.RULE_FIELDS, kind="rule")


# ---------------------------------------------------------------------------------------------
# Canonical YAML


@dataclass
class ExportResult:
    path: Path
    changed: bool
    diff: str


def _export_path(path: Path | None) -> Path:
    return Path(path) if path is not None else Path(settings.RMOS_PROFILE_YAML_PATH)


def _unified_diff(old: str, new: str, path: Path) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"{path} (file)", f"{path} (database)"
        )
    )


def profiles_export(*, path: Path | None = None) -> ExportResult:
    """Write the canonical YAML for the database's current state; leave an identical file alone."""
    target = _export_path(path)
    with canonical.file_lock(target):
        canonical.remove_stale_temp_files(target)
        # Read under the lock: the last writer always writes the newest committed state.
        text = canonical.render(*selectors.canonical_state())
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        if old == text:
            return ExportResult(target, False, "")
        canonical.atomic_write(target, text)
        return ExportResult(target, True, _unified_diff(old, text, target))


def profiles_export_check(*, path: Path | None = None) -> ExportResult:
    """Compare the file with the database without writing; ``changed`` means they differ."""
    target = _export_path(path)
    text = canonical.render(*selectors.canonical_state())
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    return ExportResult(target, old != text, _unified_diff(old, text, target) if old != text else "")


@dataclass
class ImportPlan:
    """What an import does (or did): per profile and rule, created / changed (with fields) / deleted."""

    source: str
    profiles_created: list[str] = field(default_factory=list)
    profiles_changed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    profiles_deleted: list[str] = field(default_factory=list)
    rules_created: list[str] = field(default_factory=list)
    rules_changed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rules_deleted: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def is_empty(self) -> bool:
        return not (
            self.profiles_created
            or self.profiles_changed
            or self.profiles_deleted
            or self.rules_created
            or self.rules_changed
            or self.rules_deleted
        )


class ImportFailed(ValidationFailed):
    """Every problem of an import file, each naming the line, the profile or rule, field and rule."""

    def __init__(self, source: str, problems: list[canonical.LineProblem]):
        self.source = source
        self.line_problems = problems
        errors = [FieldError(p.path, p.rule, f"line {p.line}: {p.message}" if p.line else p.message) for p in problems]
        super().__init__(f"{source}: {len(problems)} problem(s); nothing was imported", errors=errors)


def _stale_problem(name: str, values: dict[str, Any], line: int | None) -> canonical.LineProblem | None:
    """A problem when ``values`` differ from the profile's current ones but equal an earlier version's."""
    profile = ConstraintProfile.objects.select_for_update().filter(name=name).first()
    if profile is None or selectors.profile_values(profile) == values:
        return None
    earlier = (
        profile.history.filter(version__lt=profile.version)
        .exclude(history_type="-")
        .order_by("-version", "-history_id")
    )
    for record in earlier:
        if {field: getattr(record, field) for field in CONSTRAINT_FIELDS} == values:
            latest = profile.history.order_by("-history_id").first()
            who = f" by {latest.history_user}" if latest is not None and latest.history_user else ""
            return canonical.LineProblem(
                line,
                f"profiles.{name}",
                "stale",
                f"the file has the values of version {record.version}, but the database is at version {profile.version}"
                f"{who} ({latest.history_change_reason or 'no note'}): the file is older than the database. Export it "
                "first (export_profiles), or import with --force to put those values back.",
            )
    return None


def profiles_import(
    *,
    text: str,
    source: str,
    dry_run: bool = False,
    prune: bool = False,
    force: bool = False,
    user=None,
) -> ImportPlan:
    """Import a canonical file: all or nothing. Journaled as "import from <source>".

    A profile whose values in the file are exactly those of one of its *earlier* versions is
    taken for a stale file (written before the latest edits; e.g. an export that had not caught
    up yet, or an old checkout) and the import is refused, naming the versions, unless ``force``:
    importing it would silently undo edits that were acknowledged.
    """
    try:
        parsed = canonical.parse(text)
    except canonical.CanonicalFileError as exc:
        raise ImportFailed(source, exc.problems) from None

    problems: list[canonical.LineProblem] = []
    palettes = selectors.palette_keys()
    specs = {}
    for name, item in parsed.profiles.items():
        # The engine reads "6" as 6 (form fields are text); in the canonical file a quoted number
        # is a slip, and the API refuses one too.
        for number_field in (*INT_FIELDS, *WIDTH_FIELDS):
            if isinstance(item.values.get(number_field), str):
                line = item.field_lines.get(number_field, item.line)
                problems.append(
                    canonical.LineProblem(
                        line,
                        f"profiles.{name}.{number_field}",
                        "type",
                        f"is text ({item.values[number_field]!r}); write the number without quotes",
                    )
                )
        spec, spec_problems = parse_profile(name, item.values, palette_keys=palettes)
        reserved = _reserved_name_problem(name)
        if reserved:
            problems.append(canonical.LineProblem(item.line, f"profiles.{name}", reserved.rule, reserved.message))
            spec = None
        for p in spec_problems:
            line = item.field_lines.get(p.field, item.line)
            problems.append(canonical.LineProblem(line, f"profiles.{name}.{p.field}", p.rule, p.message))
        if spec is not None:
            specs[name] = spec
    existing_profiles = {p.name: p for p in selectors.profile_list()}
    known_after = set(parsed.profiles) | (set() if prune else set(existing_profiles))
    if FALLBACK_PROFILE not in known_after:
        problems.append(
            canonical.LineProblem(
                None,
                f"profiles.{FALLBACK_PROFILE}",
                "required",
                f"the file must define the {FALLBACK_PROFILE!r} profile (the resolver's fallback)",
            )
        )
    rules_clean: dict[str, dict[str, Any]] = {}
    stored_matches = {rule.name: selectors.rule_values(rule)["match"] for rule in selectors.rule_list()}
    for index, item in enumerate(parsed.rules):
        stored = stored_matches.get(item.values.get("name")) if isinstance(item.values.get("name"), str) else None
        clean, rule_problems = _parse_rule(item.values, known_profiles=known_after, stored_match=stored)
        for p in rule_problems:
            line = item.field_lines.get(p.field, item.field_lines.get(p.field.split(".")[0], item.line))
            label = item.values.get("name") if isinstance(item.values.get("name"), str) else f"[{index}]"
            problems.append(canonical.LineProblem(line, f"rules.{label}.{p.field}", p.rule, p.message))
        if not rule_problems:
            if clean["name"] in rules_clean:
                problems.append(
                    canonical.LineProblem(item.line, f"rules.{clean['name']}", "unique", "rule name appears twice")
                )
            rules_clean[clean["name"]] = item.values
    if problems:
        raise ImportFailed(source, problems)

    plan = ImportPlan(source=source)
    if prune:
        kept_rule_targets = {v["profile"] for v in rules_clean.values()}
        for name in sorted(set(existing_profiles) - set(parsed.profiles)):
            if name in kept_rule_targets:
                raise ImportFailed(
                    source,
                    [
                        canonical.LineProblem(
                            None, f"profiles.{name}", "in_use", "would be pruned, but rules in the file still target it"
                        )
                    ],
                )

    # A dry run is the real import, rolled back: what it reports is exactly what a run would do.
    # Everything the services below could refuse is checked above; should one refuse anyway, the
    # import still fails whole, as an import error (the command reports those), not a traceback.
    note = f"import from {source}"
    existing_rules = {r.name: r for r in selectors.rule_list()}
    try:
        with transaction.atomic():
            if not force:
                stale = [
                    _stale_problem(name, specs[name].values(), parsed.profiles[name].line)
                    for name in sorted(parsed.profiles)
                ]
                if any(stale):
                    raise ImportFailed(source, [problem for problem in stale if problem])
            for name in sorted(parsed.profiles):
                values = specs[name].values()
                if name not in existing_profiles:
                    profile_create(name=name, values=values, note=note, user=user, change_type=ChangeType.IMPORT)
                    plan.profiles_created.append(name)
                    continue
                change = profile_update(name=name, changes=values, note=note, user=user, change_type=ChangeType.IMPORT)
                if change.changed:
                    plan.profiles_changed[name] = change.changes
                else:
                    plan.unchanged += 1
            for name in sorted(rules_clean):
                values = rules_clean[name]
                if name not in existing_rules:
                    rule_create(values=values, note=note, user=user, change_type=ChangeType.IMPORT)
                    plan.rules_created.append(name)
                    continue
                _, diff = rule_update(name=name, changes=values, note=note, user=user, change_type=ChangeType.IMPORT)
                if diff:
                    plan.rules_changed[name] = diff
                else:
                    plan.unchanged += 1
            if prune:
                for name in sorted(set(existing_rules) - set(rules_clean)):
                    rule_delete(name=name, note=note, user=user)
                    plan.rules_deleted.append(name)
                for name in sorted(set(existing_profiles) - set(parsed.profiles)):
                    profile_delete(name=name, note=note, user=user)
                    plan.profiles_deleted.append(name)
            if dry_run:
                transaction.set_rollback(True)
    except ImportFailed:
        raise
    except ApplicationError as exc:  # a refusal, or something changed under the import (a rule deleted meanwhile)
        problems = [canonical.LineProblem(None, e.field, e.rule, e.message) for e in exc.errors]
        raise ImportFailed(source, problems or [canonical.LineProblem(None, "", exc.code, exc.detail)]) from None
    return plan
