"""Each version of a profile: its journal entry, its numbers, its comparisons, and the prediction
made for it when it was saved (``GET /api/rmos/ai/analytics/profile-versions``)."""

from __future__ import annotations

from typing import Any

from ailog.filters import LogFilter
from analytics.metrics import Counts
from analytics.models import VersionPrediction
from analytics.selectors.aggregates import counts
from analytics.selectors.comparisons import comparison_dict, default_pairs, version_table
from profiles import selectors as profile_selectors
from rmos_site.errors import NotFound
from rmos_site.present import utc_iso


def profile_versions(*, profile: str, filters: LogFilter) -> dict[str, Any]:
    """Each version of ``profile`` (newest first): its journal entry, its numbers, its default
    comparisons (:func:`analytics.selectors.comparisons.default_pairs`) and the prediction
    stored for it, beside what was observed."""
    journal = profile_selectors.profile_journals(names=[profile]).get(profile, [])
    exists = profile_selectors.profile_exists(name=profile)
    entries: dict[int, dict[str, Any]] = {}
    for entry in journal:  # oldest first, so a version keeps its latest non-deletion entry
        if entry["type"] != "deleted":
            entries[entry["version"]] = entry
    per_version = {key[0]: value for key, value in counts(filters=filters, group=("profile_version",)).items()}
    if not exists and not per_version:
        raise NotFound(f"No profile named {profile!r}, and no run names it.", extra={"field": "profile"})
    # A known profile's versions are its journal's; runs naming a version it never had (an
    # integrator's own numbering, say) count as of an unknown version, with the unversioned ones.
    unknown = per_version.pop(0, None)
    if exists:
        for version in [v for v in per_version if v not in entries]:
            unknown = (unknown or Counts()).add(per_version.pop(version))
    versions = sorted(set(entries) | set(per_version), reverse=True)
    table = version_table(profile=profile, filters=filters, versions=versions)
    pairs = default_pairs(
        [
            {
                "version": v,
                "type": entries[v]["type"] if v in entries else None,
                "rollback_of": entries[v]["rollback_of"] if v in entries else None,
                "history_id": entries[v]["id"] if v in entries else None,
            }
            for v in versions
        ],
        {v: value.runs for v, value in per_version.items()},
    )
    predictions = version_predictions(profile=profile)
    results = []
    for version in versions:
        value = per_version.get(version, Counts())
        entry = entries.get(version)
        results.append(
            {
                "version": version,
                "history_id": entry["id"] if entry else None,
                "time": entry["time"] if entry else None,
                "user": entry["user"] if entry else None,
                "operator": entry["operator"] if entry else None,
                "note": entry["note"] if entry else None,
                "type": entry["type"] if entry else None,
                "rollback_of": entry["rollback_of"] if entry else None,
                "changes": entry["changes"] if entry else [],
                **value.summary(),
                "comparisons": [
                    comparison_dict(table, against, version, kind=kind, note=note)
                    for against, kind, note in pairs.get(version, [])
                ],
                "prediction": predictions.get(version),
                "observed": observed(value),
            }
        )
    return {
        "profile": profile,
        "exists": exists,
        "results": results,
        "unknown_version": unknown.summary() if unknown else None,
    }


def observed(value: Counts) -> dict[str, Any]:
    """What a prediction is held against: the shares of the version's recorded attempts that
    were acceptable and GREEN (a prediction samples candidates; attempts are the candidates the
    searches actually scored), and the runs' success rate."""
    return {
        "attempts": value.attempts,
        "acceptable_share": round(value.acceptable / value.attempts, 4) if value.attempts else None,
        "green_share": round(value.green / value.attempts, 4) if value.attempts else None,
        "success_rate": round(value.successes / value.runs, 4) if value.runs else None,
    }


def version_predictions(*, profile: str) -> dict[int, dict[str, Any]]:
    """The prediction stored for each version of ``profile`` when it was saved, in brief: its
    state, the version it was compared with, and the overall predicted shares (before / after)."""
    out = {}
    for row in VersionPrediction.objects.filter(profile_name=profile).order_by("version"):
        overall = (row.result or {}).get("overall") or {}
        out[row.version] = {
            "state": row.state,
            "against_version": row.against_version,
            "requested_at": utc_iso(row.requested_at),
            "made_at": utc_iso(row.made_at) if row.made_at else None,
            "contexts": len((row.result or {}).get("contexts") or []),
            "before": overall.get("saved"),
            "predicted": overall.get("proposed"),
            "difference": overall.get("difference"),
            "error": row.error or None,
        }
    return out
