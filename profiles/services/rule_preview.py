"""A rule change's blast radius, before it is saved (DESIGN §10, "Rules").

:func:`rule_preview` validates a proposed rule exactly as :func:`~profiles.services.rules.rule_create`
and :func:`~profiles.services.rules.rule_update` would (it writes nothing), then resolves every
context the log saw in the last ``days`` days under today's rules and under the rules as they
would be, with :func:`engine.resolver.resolution_changes`, and lists the contexts that would get
another profile, with their runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.resolver import RuleData, resolution_changes
from profiles import selectors, traffic
from profiles.models import ConstraintProfile, ResolutionRule
from profiles.services.journaling import problem_errors
from profiles.services.rules import parse_rule
from rmos_site.errors import NotFound, ValidationFailed

DEFAULT_DAYS = 30
MAX_DAYS = 366
#: Contexts listed at most (the totals still count every one).
LISTED_MAX = 200


def _rule_data(clean: Mapping[str, Any], *, rule_id: int) -> RuleData:
    return RuleData(
        id=rule_id,
        name=clean["name"],
        tool_pattern=clean.get("tool_pattern", ""),
        material_pattern=clean.get("material_pattern", ""),
        machine_pattern=clean.get("machine_pattern", ""),
        workflow_mode=clean.get("workflow_mode", ""),
        geometry_engine=clean.get("geometry_engine", ""),
        priority=clean["priority"],
        enabled=clean["enabled"],
        profile_name=clean["profile"],
    )


def rules_after(*, name: str | None, values: Mapping[str, Any] | None, delete: bool = False) -> list[RuleData]:
    """Every rule as it would be after creating (``name`` None), changing or deleting one."""
    before = selectors.rules_as_data()
    if name is not None:
        existing = next((rule for rule in before if rule.name == name), None)
        if existing is None:
            raise NotFound(f"No rule named {name!r}.", extra={"field": "rule"})
        if delete:
            return [rule for rule in before if rule.id != existing.id]
        stored = selectors.rule_values(ResolutionRule.objects.select_related("profile").get(pk=existing.id))
        merged = {**stored, **(values or {})}
        clean, problems = parse_rule(
            merged,
            known_profiles=set(ConstraintProfile.objects.values_list("name", flat=True)),
            stored_match=stored["match"],
        )
        if problems:
            raise ValidationFailed(errors=problem_errors(problems))
        return [_rule_data(clean, rule_id=rule.id) if rule.id == existing.id else rule for rule in before]
    if delete:
        raise ValidationFailed.single("rule", "required", "name the rule to delete")
    clean, problems = parse_rule(
        values or {}, known_profiles=set(ConstraintProfile.objects.values_list("name", flat=True))
    )
    if "name" in clean and any(rule.name == clean["name"] for rule in before):
        raise ValidationFailed.single("name", "unique", f"a rule named {clean['name']!r} already exists")
    if problems:
        raise ValidationFailed(errors=problem_errors(problems))
    # A new rule's id is larger than every existing one's: it loses exact ties, as it will when saved.
    new_id = max((rule.id for rule in before), default=0) + 1
    return [*before, _rule_data(clean, rule_id=new_id)]


def rule_preview(
    *, name: str | None = None, values: Mapping[str, Any] | None = None, delete: bool = False, days: int = DEFAULT_DAYS
) -> dict[str, Any]:
    """Which contexts seen in the last ``days`` days would resolve to another profile after the change."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed.single("days", "range", f"must be a whole number from 1 to {MAX_DAYS}")
    after = rules_after(name=name, values=values, delete=delete)
    seen = traffic.contexts_seen(days=days)
    available = seen is not None
    seen = seen or []
    runs_of = {context: runs for context, runs in seen}
    changed = resolution_changes(runs_of, selectors.rules_as_data(), after)
    changed.sort(key=lambda item: (-runs_of[item[0]], tuple(item[0].as_dict().values())))
    total = sum(runs_of.values())
    moved = sum(runs_of[context] for context, _, _ in changed)
    return {
        "days": days,
        "traffic_known": available,
        "contexts_seen": len(seen),
        "runs_seen": total,
        "contexts_changed": len(changed),
        "runs_changed": moved,
        "share_changed": round(moved / total, 4) if total else None,
        "changes": [
            {
                **context.as_dict(),
                "runs": runs_of[context],
                "before": {"profile": old.profile_name, "rule": old.rule_name or None},
                "after": {"profile": new.profile_name, "rule": new.rule_name or None},
            }
            for context, old, new in changed[:LISTED_MAX]
        ],
    }
