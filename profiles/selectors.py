"""Reads of profiles, rules, their journal and the catalog. The one read path for every door."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from engine.catalog import Catalog, load_catalog
from engine.context import Context, parse_context
from engine.generator import PaletteError
from engine.profile import CONSTRAINT_FIELDS, NAME_RE, ProfileSpec, parse_profile, spec_from_values
from engine.resolver import Resolution, RuleData, is_glob, pattern_matches, resolve
from engine.snapshot import SnapshotError, compare_snapshots, sample_snapshot
from profiles import journal
from profiles.models import ConstraintProfile, ResolutionRule
from rmos_site.errors import FieldError, NotFound, ValidationFailed
from rmos_site.present import utc_iso

PROFILE_HISTORY_MAX = 500


def catalog_get() -> Catalog:
    """The catalog in force (``RMOS_CATALOG_PATH`` or the one shipped with the engine)."""
    return load_catalog(settings.RMOS_CATALOG_PATH)


def palette_keys() -> set[str]:
    return set(catalog_get().palette_keys())


def profile_list() -> QuerySet[ConstraintProfile]:
    return ConstraintProfile.objects.order_by("name")


def profile_exists(*, name: str) -> bool:
    return ConstraintProfile.objects.filter(name=name).exists()


def profile_not_found(name: str) -> NotFound:
    """The 404 for a profile name not stored here; one that could never be stored says why."""
    if NAME_RE.fullmatch(name):
        return NotFound(f"No profile named {name!r}.", extra={"field": "name"})
    return NotFound(
        f"No profile named {name[:80]!r}: profile names are 1-64 lower-case letters, digits, '-' and '_', "
        "starting with a letter or digit.",
        extra={"field": "name"},
    )


def profile_get(*, name: str) -> ConstraintProfile:
    # A name that could never be stored is not looked up (a NUL in it would upset PostgreSQL).
    profile = ConstraintProfile.objects.filter(name=name).first() if NAME_RE.fullmatch(name) else None
    if profile is None:
        raise profile_not_found(name)
    return profile


def profile_values(profile: ConstraintProfile) -> dict[str, Any]:
    """The constraint fields of a profile (no name, no version)."""
    return {field: getattr(profile, field) for field in CONSTRAINT_FIELDS}


def profile_spec(profile: ConstraintProfile) -> ProfileSpec:
    return spec_from_values(profile.name, profile_values(profile))


def profile_to_dict(profile: ConstraintProfile) -> dict[str, Any]:
    """JSON-ready profile, as the API and the 409 body show it."""
    data = {"name": profile.name}
    data.update({k: journal.plain(v) for k, v in profile_values(profile).items()})
    data["version"] = profile.version
    data["updated_at"] = utc_iso(profile.updated_at) if profile.updated_at else None
    return data


def profile_history(*, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """Journal entries of one profile, newest first, each with the fields it changed."""
    profile = profile_get(name=name)
    limit = max(1, min(limit, PROFILE_HISTORY_MAX))
    # One extra, older record so that the oldest entry shown can be diffed against it.
    records = list(
        ConstraintProfile.history.filter(id=profile.id)
        .select_related("history_user")
        .order_by("-history_id")[: limit + 1]
    )
    records.reverse()
    result = journal.entries(records, journal.PROFILE_FIELDS, subject_of=lambda r: r.name)
    if len(records) > limit:
        result = result[1:]
    result.reverse()
    return result


def profile_journals(*, names: Iterable[str], until: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The whole journal (oldest first, up to ``until``) of each named profile that exists, in one
    query, for analytics: a journal has one record per version, far fewer than the log's rows."""
    ids = dict(ConstraintProfile.objects.filter(name__in=list(names)).values_list("id", "name"))
    records = ConstraintProfile.history.filter(id__in=ids).select_related("history_user").order_by("id", "history_id")
    if until is not None:
        records = records.filter(history_date__lt=until)
    return {
        ids[profile_id]: journal.entries(list(group), journal.PROFILE_FIELDS, subject_of=lambda r: r.name)
        for profile_id, group in itertools.groupby(records, key=lambda record: record.id)
    }


@dataclass(frozen=True)
class HistoryPage:
    """One page of a profile's journal, newest first (for pages that paginate it)."""

    entries: list[dict[str, Any]]
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


def profile_history_page(*, name: str, page: int = 1, per_page: int = 20) -> HistoryPage:
    """Page ``page`` (from 1, clamped to the pages there are) of :func:`profile_history`'s entries.

    Two queries whatever the page: a count, and the page's records plus the one before them, so
    that the oldest entry on the page is diffed against its predecessor; a third when the page
    has rollbacks, to add ``rollback_of_version`` (the version each one restored) to them.
    """
    profile = profile_get(name=name)
    per_page = max(1, min(per_page, PROFILE_HISTORY_MAX))
    records = ConstraintProfile.history.filter(id=profile.id)
    total = records.count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    offset = (page - 1) * per_page
    chunk = list(records.select_related("history_user").order_by("-history_id")[offset : offset + per_page + 1])
    chunk.reverse()
    entries = journal.entries(chunk, journal.PROFILE_FIELDS, subject_of=lambda r: r.name)
    if len(chunk) > per_page:
        entries = entries[1:]
    entries.reverse()
    restored = {e["rollback_of"] for e in entries if e["rollback_of"]}
    if restored:
        versions = dict(ConstraintProfile.history.filter(history_id__in=restored).values_list("history_id", "version"))
        for e in entries:
            if e["rollback_of"]:
                e["rollback_of_version"] = versions.get(e["rollback_of"])
    return HistoryPage(entries=entries, page=page, pages=pages, per_page=per_page, total=total)


def profile_values_at_version(*, profile: ConstraintProfile, version: int) -> dict[str, Any] | None:
    """The constraint values ``profile`` had at ``version`` (None if no such version is journaled)."""
    record = (
        ConstraintProfile.history.filter(id=profile.id, version=version)
        .exclude(history_type="-")
        .order_by("-history_id")
        .first()
    )
    return None if record is None else {f: getattr(record, f) for f in CONSTRAINT_FIELDS}


def profile_history_record(*, profile: ConstraintProfile, history_id: int):
    """A historical record of ``profile``; another profile's record is not found here."""
    record = ConstraintProfile.history.filter(history_id=history_id).first()
    if record is None:
        raise NotFound(f"No history record #{history_id}.", extra={"field": "id"})
    if record.id != profile.id:
        raise NotFound(
            f"History record #{history_id} belongs to profile {record.name!r}, not {profile.name!r}.",
            extra={"field": "id"},
        )
    return record


def journaled_live(*, model: type[ConstraintProfile] | type[ResolutionRule], pk: Any):
    """The profile or rule as stored now (None once deleted), for forms that edit it by id."""
    return model.objects.filter(pk=pk).first()


def journaled_at_version(*, model: type[ConstraintProfile] | type[ResolutionRule], pk: Any, version: Any):
    """The history record of a profile or rule at ``version`` (None when there is none)."""
    if not str(version).isdigit():
        return None
    return model.history.filter(id=pk, version=int(version)).order_by("-history_id").first()


def rule_history_record(*, rule: ResolutionRule, history_id: int):
    """A historical record of ``rule``; another rule's record is not found here."""
    record = ResolutionRule.history.filter(history_id=history_id, id=rule.id).first()
    if record is None:
        raise NotFound(f"Rule {rule.name!r} has no history record #{history_id}.", extra={"field": "id"})
    return record


def rule_list() -> QuerySet[ResolutionRule]:
    return ResolutionRule.objects.select_related("profile").order_by("priority", "id")


def rule_find(*, rule_id: int) -> ResolutionRule | None:
    """The rule with this id, or None (a run may name a rule since deleted)."""
    return ResolutionRule.objects.filter(id=rule_id).first()


def rule_get(*, name: str) -> ResolutionRule:
    rule = ResolutionRule.objects.select_related("profile").filter(name=name).first()
    if rule is None:
        raise NotFound(f"No rule named {name!r}.", extra={"field": "name"})
    return rule


def rule_values(rule: ResolutionRule) -> dict[str, Any]:
    """A rule in the canonical file's shape."""
    return {
        "name": rule.name,
        "match": {
            "tool_id": rule.tool_pattern,
            "material_id": rule.material_pattern,
            "machine_id": rule.machine_pattern,
            "workflow_mode": rule.workflow_mode,
            "geometry_engine": rule.geometry_engine,
        },
        "profile": rule.profile.name,
        "priority": rule.priority,
        "enabled": rule.enabled,
        "note": rule.note,
    }


def rule_to_dict(rule: ResolutionRule) -> dict[str, Any]:
    data = rule_values(rule)
    data["id"] = rule.id
    data["version"] = rule.version
    return data


def canonical_state() -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Everything the canonical YAML holds, read in two queries."""
    profiles = {p.name: profile_values(p) for p in profile_list()}
    rules = [rule_values(r) for r in rule_list()]
    return profiles, rules


def journal_all() -> list[dict[str, Any]]:
    """Every journal entry of profiles and rules, oldest first (for export_history)."""
    out: list[dict[str, Any]] = []
    for model, fields, kind in (
        (ConstraintProfile, journal.PROFILE_FIELDS, "profile"),
        (ResolutionRule, journal.RULE_FIELDS, "rule"),
    ):
        previous_by_object: dict[int, Any] = {}
        for record in model.history.select_related("history_user").order_by("history_id").iterator():
            entry = journal.entry(record, previous_by_object.get(record.id), fields, subject=record.name)
            entry["kind"] = kind
            out.append(entry)
            previous_by_object[record.id] = record
    out.sort(key=lambda e: (e["time"], e["kind"], e["id"]))
    return out


@dataclass(frozen=True)
class VersionInForce:
    """Which version of a named profile was in force at some moment (for runs reported later)."""

    name: str
    exists: bool  # False: no profile of that name was ever journaled here
    version: int | None
    history_id: int | None
    before_first: bool = False  # the moment is older than the first journaled version (given that one)


class ProfileVersionLookup:
    """Answers "which version of profile P was in force at time T" for many runs, in one query."""

    def __init__(self, names: Iterable[str]):
        wanted = {n for n in names if n}
        self._timeline: dict[str, list[tuple[datetime, int, int, bool]]] = {n: [] for n in wanted}
        if wanted:
            records = (
                ConstraintProfile.history.filter(name__in=wanted)
                .order_by("history_date", "history_id")
                .values_list("name", "history_date", "version", "history_id", "history_type")
            )
            for name, when, version, history_id, history_type in records:
                self._timeline[name].append((when, version, history_id, history_type == "-"))
        self._dates = {n: [t[0] for t in items] for n, items in self._timeline.items()}
        self._by_version = {
            (n, version): history_id
            for n, items in self._timeline.items()
            for _, version, history_id, deleted in items
            if not deleted
        }

    def exists(self, name: str) -> bool:
        """Whether a profile of that name was ever journaled here."""
        return bool(self._timeline.get(name))

    def history_id_of(self, name: str, version: int) -> int | None:
        """The history record of ``name`` at ``version`` (for runs that report their version)."""
        return self._by_version.get((name, version))

    def at(self, name: str, when: datetime) -> VersionInForce:
        timeline = self._timeline.get(name)
        if not timeline:
            return VersionInForce(name, False, None, None)
        i = bisect.bisect_right(self._dates[name], when) - 1
        before_first = i < 0
        if before_first:
            # Reported before the profile's first journaled version (the profile was in use
            # before this server journaled it, say): the earliest one is the best answer we have,
            # and the run still counts towards that profile; the caller says so.
            i = 0
        _, version, history_id, deleted = timeline[i]
        if deleted:
            return VersionInForce(name, True, None, None)
        return VersionInForce(name, True, version, history_id, before_first)

    def first_journaled(self, name: str) -> datetime | None:
        timeline = self._timeline.get(name)
        return timeline[0][0] if timeline else None


def profile_version_current(*, profile: ConstraintProfile) -> VersionInForce:
    """The version in force now, with its history record id."""
    history_id = (
        ConstraintProfile.history.filter(id=profile.id, version=profile.version)
        .order_by("-history_id")
        .values_list("history_id", flat=True)
        .first()
    )
    return VersionInForce(profile.name, True, profile.version, history_id)


# ---------------------------------------------------------------------------------------------
# Resolution and sampling: which profile a context uses, and what the generator makes under it


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
