"""Resolution and sampling: which profile a context uses, and what the generator makes under it."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.context import Context, parse_context
from engine.generator import PaletteError
from engine.profile import CONSTRAINT_FIELDS, ProfileSpec, parse_profile
from engine.resolver import Resolution, RuleData, is_glob, pattern_matches, resolve
from engine.snapshot import SnapshotError, compare_snapshots, sample_snapshot
from profiles import journal
from profiles.models import ConstraintProfile
from profiles.selectors.current import catalog_get, palette_keys, profile_spec, profile_values, rule_list
from profiles.selectors.versions import VersionInForce, profile_version_current
from rmos_site.errors import FieldError, NotFound, ValidationFailed


def rules_as_data() -> list[RuleData]:
    """Every rule (disabled ones too: the explanation lists them) as plain engine data."""
    return [
        RuleData(
            id=rule.id,
            name=rule.name,
            tool_pattern=rule.tool_pattern,
            material_pattern=rule.material_pattern,
            machine_pattern=rule.machine_pattern,
            workflow_mode=rule.workflow_mode,
            geometry_engine=rule.geometry_engine,
            priority=rule.priority,
            enabled=rule.enabled,
            profile_name=rule.profile.name,
        )
        for rule in rule_list()
    ]


@dataclass(frozen=True)
class ResolvedContext:
    context: Context
    resolution: Resolution
    profile: ConstraintProfile
    version: VersionInForce
    overridden: bool  # a profile was named explicitly instead of the resolved one

    @property
    def spec(self) -> ProfileSpec:
        return profile_spec(self.profile)

    def summary(self) -> dict[str, Any]:
        """What a run records about its resolution, and what the API shows."""
        return {
            "context": self.context.as_dict(),
            "profile": {
                "name": self.profile.name,
                "version": self.version.version,
                "history_id": self.version.history_id,
            },
            "resolved_profile": self.resolution.profile_name,
            "overridden": self.overridden,
            "rule_id": self.resolution.rule_id,
            "rule_name": self.resolution.rule_name,
            "fallback_used": self.resolution.fallback_used,
            "explanation": self.resolution.explanation,
        }


def context_parse(values: Mapping[str, Any]) -> Context:
    """A context from request or command values, or a 400 naming each bad field."""
    context, problems = parse_context(values)
    if problems:
        raise ValidationFailed(errors=[FieldError(p.field, p.rule, p.message) for p in problems])
    return context


def context_resolve(*, context: Context, profile_name: str | None = None) -> ResolvedContext:
    """Resolve ``context`` with the rules in force; ``profile_name`` overrides the outcome."""
    resolution = resolve(context, rules_as_data())
    name = profile_name or resolution.profile_name
    profile = ConstraintProfile.objects.filter(name=name).first()
    if profile is None:
        if profile_name:
            raise NotFound(f"No profile named {profile_name!r}.", extra={"field": "profile"})
        raise NotFound(
            f"The context resolves to profile {name!r}, which does not exist; "
            "create it or import the canonical profiles (manage.py import_profiles).",
            extra={"field": "profile"},
        )
    return ResolvedContext(
        context=context,
        resolution=resolution,
        profile=profile,
        version=profile_version_current(profile=profile),
        overridden=bool(profile_name) and profile_name != resolution.profile_name,
    )


@dataclass(frozen=True)
class SampleContext:
    """A context to sample a profile with when nobody chose one (what-if previews)."""

    context: Context
    profile_name: str
    resolves_here: bool  # the rules send this context to the profile; False: no catalog context found
    rule_name: str  # the rule that does ("" when the fallback does, or when resolves_here is False)


# Each try is one resolution (~0.1 ms with its explanation); a page must not spend more than a
# few milliseconds looking.
_SAMPLE_CONTEXT_TRIES = 40


def _rule_rank(rule: RuleData) -> tuple[int, int, int, int]:
    """The resolver's ranking key: fields set, exact fields set, then lower priority and id."""
    globbable = [rule.tool_pattern, rule.material_pattern, rule.machine_pattern]
    exact_only = [rule.workflow_mode, rule.geometry_engine]
    fields_set = sum(1 for v in globbable + exact_only if v)
    exact = sum(1 for v in globbable if v and not is_glob(v)) + sum(1 for v in exact_only if v)
    return (fields_set, exact, -rule.priority, -rule.id)


def profile_sample_context(*, name: str) -> SampleContext:
    """A catalog context that the rules send to profile ``name``, to preview it in its usual use.

    For each enabled rule targeting the profile (best first), the catalog ids its patterns
    match, less the ids claimed by one-field rules that would outrank it; for the fallback
    profile, the ids no one-field rule claims. The first combination, in catalog order, that
    really resolves to ``name`` wins. When there is none, the catalog's first tool, material and
    machine, with ``resolves_here`` False so the page can say so.
    """
    catalog = catalog_get()
    rules = rules_as_data()
    ids = {"tool_id": list(catalog.tools), "material_id": list(catalog.materials), "machine_id": list(catalog.machines)}
    attrs = {"tool_id": "tool_pattern", "material_id": "material_pattern", "machine_id": "machine_pattern"}
    one_field: list[tuple[RuleData, str]] = []  # enabled rules that set one id field and nothing else
    for rule in rules:
        set_fields = [f for f, attr in attrs.items() if getattr(rule, attr)]
        if rule.enabled and len(set_fields) == 1 and not (rule.workflow_mode or rule.geometry_engine):
            one_field.append((rule, set_fields[0]))

    def candidates(rule: RuleData | None) -> dict[str, list[str]]:
        # A one-field rule that outranks ``rule`` (None: the fallback, which every rule outranks)
        # wins wherever its id appears, so those ids cannot lead to ``name``.
        claimed: dict[str, set[str]] = {f: set() for f in ids}
        for other, field in one_field:
            if other.profile_name != name and (rule is None or _rule_rank(other) > _rule_rank(rule)):
                claimed[field].update(i for i in ids[field] if pattern_matches(getattr(other, attrs[field]), i))
        return {
            f: [i for i in ids[f] if i not in claimed[f] and (rule is None or pattern_matches(getattr(rule, attr), i))]
            for f, attr in attrs.items()
        }

    targeting = sorted((r for r in rules if r.enabled and r.profile_name == name), key=_rule_rank, reverse=True)
    plans = [(candidates(rule), rule) for rule in targeting]
    if name == resolve(Context("", "", ""), []).profile_name:  # the resolver's fallback profile
        plans.append((candidates(None), None))
    tries = 0
    for pools, rule in plans:
        extra = {"workflow_mode": rule.workflow_mode, "geometry_engine": rule.geometry_engine} if rule else {}
        for tool_id, material_id, machine_id in itertools.product(*pools.values()):
            if tries >= _SAMPLE_CONTEXT_TRIES:
                break
            tries += 1
            context = Context(tool_id, material_id, machine_id, **{k: v for k, v in extra.items() if v})
            resolution = resolve(context, rules)
            if resolution.profile_name == name:
                return SampleContext(context, name, True, resolution.rule_name)
    first = Context(next(iter(catalog.tools), ""), next(iter(catalog.materials), ""), next(iter(catalog.machines), ""))
    return SampleContext(first, name, False, "")


def _engine_problem(exc: Exception) -> ValidationFailed:
    problems = getattr(exc, "problems", None) or [exc.problem]  # SnapshotError | PaletteError
    return ValidationFailed(errors=[FieldError(p.field, p.rule, p.message) for p in problems])


def _sample(spec: ProfileSpec, context: Context, *, n_samples: Any, seed: Any, examples: int) -> dict[str, Any]:
    try:
        return sample_snapshot(spec, catalog_get(), context, n_samples=n_samples, seed=seed, examples=examples)
    except (SnapshotError, PaletteError) as exc:
        raise _engine_problem(exc) from None


def snapshot_sample(
    *, context: Context, n_samples: Any = 50, seed: Any = None, profile_name: str | None = None, examples: int = 5
) -> dict[str, Any]:
    """Sample the generator under the profile the context resolves to (or ``profile_name``)."""
    resolved = context_resolve(context=context, profile_name=profile_name)
    snapshot = _sample(resolved.spec, context, n_samples=n_samples, seed=seed, examples=examples)
    return {**resolved.summary(), "snapshot": snapshot}


def snapshot_preview(
    *,
    context: Context,
    changes: Mapping[str, Any],
    n_samples: Any = 500,
    seed: Any = None,
    profile_name: str | None = None,
    examples: int = 3,
) -> dict[str, Any]:
    """The same sample under the current profile and under unsaved ``changes``, side by side.

    Both sides use the same seed, so differences come from the values, not from chance.
    """
    resolved = context_resolve(context=context, profile_name=profile_name)
    current_values = profile_values(resolved.profile)
    proposed_values = {**current_values, **{k: v for k, v in changes.items()}}
    palette_changed = proposed_values.get("palette_key") != current_values["palette_key"]
    proposed_spec, problems = parse_profile(
        resolved.profile.name, proposed_values, palette_keys=palette_keys() if palette_changed else None
    )
    if problems:
        raise ValidationFailed(errors=[FieldError(f"changes.{p.field}", p.rule, p.message) for p in problems])
    if seed is None:
        seed = random.SystemRandom().randrange(2**63)
    current = _sample(resolved.spec, context, n_samples=n_samples, seed=seed, examples=examples)
    proposed = _sample(proposed_spec, context, n_samples=n_samples, seed=seed, examples=examples)
    changed_fields = [
        {"field": f, "before": journal.plain(current_values[f]), "after": journal.plain(proposed_spec.values()[f])}
        for f in CONSTRAINT_FIELDS
        if current_values[f] != proposed_spec.values()[f]
    ]
    return {
        **resolved.summary(),
        "changes": changed_fields,
        "current": current,
        "proposed": proposed,
        "differences": compare_snapshots(current, proposed),
    }
