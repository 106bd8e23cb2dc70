"""Importing the canonical YAML of profiles: all-or-nothing, previewable, refusing a file older
than the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from engine.profile import (
    INT_FIELDS,
    WIDTH_FIELDS,
    parse_profile,
)
from engine.resolver import FALLBACK_PROFILE
from profiles import canonical, selectors
from profiles.journal import GOVERNANCE_FIELDS
from profiles.models import ChangeType, ConstraintProfile
from profiles.services.edits import (
    parse_governance,
    profile_create,
    profile_delete,
    profile_update,
    reserved_name_problem,
)
from profiles.services.rules import parse_rule, rule_create, rule_delete, rule_update
from rmos_site.errors import ApplicationError, FieldError, ValidationFailed


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
    """A problem when ``values`` differ from the profile's current ones but equal an earlier version's.

    ``values`` holds the constraint fields and whichever governance fields the file states."""
    profile = ConstraintProfile.objects.select_for_update().filter(name=name).first()
    if profile is None:
        return None
    stored = selectors.profile_governed_values(profile)
    if {field: stored[field] for field in values} == values:
        return None
    earlier = (
        profile.history.filter(version__lt=profile.version)
        .exclude(history_type="-")
        .order_by("-version", "-history_id")
    )
    for record in earlier:
        if {field: getattr(record, field) for field in values} == values:
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
    governance: dict[str, dict[str, Any]] = {}
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
                        f"is text ({canonical.shown(item.values[number_field])}); write the number without quotes",
                    )
                )
        constraint_values = {k: v for k, v in item.values.items() if k not in GOVERNANCE_FIELDS}
        spec, spec_problems = parse_profile(name, constraint_values, palette_keys=palettes)
        governance[name], governance_problems = parse_governance(item.values)
        spec_problems = spec_problems + governance_problems
        reserved = reserved_name_problem(name)
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
        clean, rule_problems = parse_rule(item.values, known_profiles=known_after, stored_match=stored)
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
                    _stale_problem(name, {**specs[name].values(), **governance[name]}, parsed.profiles[name].line)
                    for name in sorted(parsed.profiles)
                ]
                if any(stale):
                    raise ImportFailed(source, [problem for problem in stale if problem])
            for name in sorted(parsed.profiles):
                values = {**specs[name].values(), **governance[name]}
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
                    profile_delete(name=name, note=note, user=user, via_import=True)
                    plan.profiles_deleted.append(name)
            if dry_run:
                transaction.set_rollback(True)
    except ImportFailed:
        raise
    except ApplicationError as exc:  # a refusal, or something changed under the import (a rule deleted meanwhile)
        problems = [canonical.LineProblem(None, e.field, e.rule, e.message) for e in exc.errors]
        raise ImportFailed(source, problems or [canonical.LineProblem(None, "", exc.code, exc.detail)]) from None
    return plan
