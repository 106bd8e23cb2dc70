"""System checks about the aggregates (``check --database default``, also run by ``migrate``)."""

from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError


@register(Tags.database)
def aggregates_current(app_configs, databases=None, **kwargs) -> list[Warning]:
    if "default" not in (databases or ()):
        return []
    from analytics.selectors import aggregates_lack_run_risk

    try:
        stale = aggregates_lack_run_risk()
    except DatabaseError:  # not migrated yet
        return []
    if not stale:
        return []
    return [
        Warning(
            "The analytics aggregates predate the per-run RED share (they were built by an older version): "
            "risk numbers read as missing until they are rebuilt.",
            hint="Run 'manage.py rebuild_aggregates' once (one day per transaction; ingestion may go on).",
            id="rmos.W004",
        )
    ]
