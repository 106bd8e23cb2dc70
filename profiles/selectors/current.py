"""Profiles, rules and the catalog as they are now."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from engine.catalog import Catalog, load_catalog
from engine.profile import CONSTRAINT_FIELDS, NAME_RE, ProfileSpec, spec_from_values
from profiles import journal
from profiles.models import ConstraintProfile, ResolutionRule
from rmos_site.errors import NotFound
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


def profile_governed_values(profile: ConstraintProfile) -> dict[str, Any]:
    """The constraint fields and the protection (what the canonical file holds of a profile)."""
    return {**profile_values(profile), **{field: getattr(profile, field) for field in journal.GOVERNANCE_FIELDS}}


def profile_spec(profile: ConstraintProfile) -> ProfileSpec:
    return spec_from_values(profile.name, profile_values(profile))


def profile_to_dict(profile: ConstraintProfile) -> dict[str, Any]:
    """JSON-ready profile, as the API and the 409 body show it."""
    data = {"name": profile.name}
    data.update({k: journal.plain(v) for k, v in profile_values(profile).items()})
    data["protected"] = profile.protected
    data["required_approvals"] = profile.required_approvals
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
    profiles = {p.name: profile_governed_values(p) for p in profile_list()}
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
