"""Reads of profiles, rules, their journal and the catalog. The one read path for every door."""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from django.conf import settings
from django.db.models import QuerySet

from engine.catalog import Catalog, load_catalog
from engine.profile import CONSTRAINT_FIELDS, ProfileSpec, spec_from_values
from profiles import journal
from profiles.models import ConstraintProfile, ResolutionRule
from rmos_site.errors import NotFound

PROFILE_HISTORY_MAX = 500


def catalog_get() -> Catalog:
    """The catalog in force (``RMOS_CATALOG_PATH`` or the one shipped with the engine)."""
    return load_catalog(settings.RMOS_CATALOG_PATH)


def palette_keys() -> set[str]:
    return set(catalog_get().palette_keys())


def profile_list() -> QuerySet[ConstraintProfile]:
    return ConstraintProfile.objects.order_by("name")


def profile_get(*, name: str) -> ConstraintProfile:
    profile = ConstraintProfile.objects.filter(name=name).first()
    if profile is None:
        raise NotFound(f"No profile named {name!r}.", extra={"field": "name"})
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
    data["updated_at"] = profile.updated_at.isoformat() if profile.updated_at else None
    return data


def profile_history(*, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """Journal entries of one profile, newest first, each with the fields it changed."""
    profile = profile_get(name=name)
    limit = max(1, min(limit, PROFILE_HISTORY_MAX))
    # One extra, older record so that the oldest entry shown can be diffed against it.
    records = list(
        ConstraintProfile.history.filter(id=profile.id).select_related("history_user").order_by("-history_id")[: limit + 1]
    )
    records.reverse()
    result = journal.entries(records, journal.PROFILE_FIELDS, subject_of=lambda r: r.name)
    if len(records) > limit:
        result = result[1:]
    result.reverse()
    return result


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


def rule_list() -> QuerySet[ResolutionRule]:
    return ResolutionRule.objects.select_related("profile").order_by("priority", "id")


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
        if i < 0:
            # Reported before the profile's first journaled version: the earliest one is the best
            # answer we have, and the run still counts towards that profile.
            i = 0
        _, version, history_id, deleted = timeline[i]
        if deleted:
            return VersionInForce(name, True, None, None)
        return VersionInForce(name, True, version, history_id)


def profile_version_current(*, profile: ConstraintProfile) -> VersionInForce:
    """The version in force now, with its history record id."""
    history_id = (
        ConstraintProfile.history.filter(id=profile.id, version=profile.version)
        .order_by("-history_id")
        .values_list("history_id", flat=True)
        .first()
    )
    return VersionInForce(profile.name, True, profile.version, history_id)
