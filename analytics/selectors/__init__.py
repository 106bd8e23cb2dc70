"""Reads of analytics, all from the aggregates (DESIGN §8): per-context stats, hotspots and the
time series (:mod:`~analytics.selectors.aggregates`); versions of a profile and their
comparisons (:mod:`~analytics.selectors.versions`, :mod:`~analytics.selectors.comparisons`); a
profile's traffic and the prediction on it (:mod:`~analytics.selectors.traffic`); the regression
watch's alerts (:mod:`~analytics.selectors.alerts`). Every number is defined in docs/analytics.md.
"""

from analytics.selectors.aggregates import (
    CONTEXT,
    aggregates_lack_run_risk,
    counts,
    hotspots,
    profile_stats,
    stats_and_hotspots,
    time_pieces,
    timeseries,
    window_runs,
)
from analytics.selectors.alerts import (
    alert_dict,
    alert_list,
    alerts_open,
    alerts_open_count,
    profile_alerts,
    rollback_url,
)
from analytics.selectors.comparisons import default_pairs, version_comparison, version_table
from analytics.selectors.overview import overview, overview_fields
from analytics.selectors.traffic import (
    Traffic,
    contexts_seen,
    profile_blast_radius,
    profile_prediction,
    profile_traffic,
)
from analytics.selectors.versions import profile_versions, version_predictions


def profile_version_comparisons(*, profile: str) -> dict[int, list[dict]]:
    """Each version's default comparisons (the ``comparisons`` of ``profile-versions``)."""
    from ailog.filters import LogFilter

    return {
        result["version"]: result["comparisons"]
        for result in profile_versions(profile=profile, filters=LogFilter(profile=profile))["results"]
    }


__all__ = [
    "overview",
    "overview_fields",
    "CONTEXT",
    "Traffic",
    "aggregates_lack_run_risk",
    "alert_dict",
    "alert_list",
    "alerts_open",
    "alerts_open_count",
    "counts",
    "default_pairs",
    "hotspots",
    "contexts_seen",
    "profile_alerts",
    "profile_blast_radius",
    "profile_prediction",
    "profile_stats",
    "profile_traffic",
    "profile_version_comparisons",
    "profile_versions",
    "rollback_url",
    "stats_and_hotspots",
    "time_pieces",
    "timeseries",
    "version_comparison",
    "version_predictions",
    "version_table",
    "window_runs",
]
