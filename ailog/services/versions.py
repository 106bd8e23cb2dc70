"""Which profile version each run used: the one it names, else the one in force at its timestamp."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction

from ailog.counts import DAY_KEY, Tally
from ailog.models import AiAttempt, AiRun
from ailog.records import (
    Run,
)
from ailog.selectors import attempts_of_runs, log_counts
from ailog.signals import log_changed
from profiles.selectors import ProfileVersionLookup
from rmos_site.errors import FieldError


def resolve_profiles(runs: list[Run]) -> list[FieldError]:
    """Fill in the profile version and history record in force; warn about names unknown here."""
    warnings: list[FieldError] = []
    lookup = ProfileVersionLookup(run.values["profile_name"] for run in runs)
    for run in runs:
        values = run.values
        name = values["profile_name"]
        values.setdefault("profile_history_id", None)
        if not name:
            continue
        if not lookup.exists(name):
            warnings.append(
                FieldError(
                    "profile",
                    "unknown_profile",
                    f"no profile named {name!r} here; the run is kept under that name",
                    run.index,
                )
            )
            continue
        if values["profile_version"] is not None:
            if values["profile_history_id"] is None:
                values["profile_history_id"] = lookup.history_id_of(name, values["profile_version"])
                if values["profile_history_id"] is None:
                    warnings.append(
                        FieldError(
                            "profile_version",
                            "unknown_profile_version",
                            f"profile {name!r} never had version {values['profile_version']} here; the run keeps the number",
                            run.index,
                        )
                    )
            continue
        in_force = lookup.at(name, values["timestamp"])
        values["profile_version"] = in_force.version
        values["profile_history_id"] = in_force.history_id
        if in_force.version is None:
            warnings.append(
                FieldError(
                    "profile", "deleted_profile", f"profile {name!r} was deleted before this run's time", run.index
                )
            )
        elif in_force.before_first:
            first = lookup.first_journaled(name)
            warnings.append(
                FieldError(
                    "profile_version",
                    "before_first_version",
                    f"the run is older than the first version of {name!r} journaled here ({first:%Y-%m-%d %H:%M} UTC); "
                    f"it is counted under version {in_force.version}. Send profile_version to say which version it used",
                    run.index,
                )
            )
    return warnings


def runs_reattribute(*, name: str, saved_at: datetime | None, **signal: Any) -> int:
    """Runs of ``name`` dated at or after a version saved at ``saved_at`` count under the version
    in force at their timestamp (DESIGN §9, attribution by timestamp).

    Runs posted ahead of this server's clock (at most ``FUTURE_SLACK``) were given the version in
    force when they were posted; if a version is saved before their timestamp, they move to it,
    with their attempts and their counts. So are runs stored while the save was still being
    committed. A run whose version is not the one in force when it was stored named its version
    itself, and keeps it (one that named the version then in force cannot be told apart, and moves). The index on ``(profile_name, timestamp)`` makes this a short range: only runs
    dated after the save. A receiver of :data:`profiles.signals.profile_version_saved`; returns
    how many runs moved.
    """
    if saved_at is None:
        return 0
    with transaction.atomic():
        runs = AiRun.objects.select_for_update().filter(profile_name=name, timestamp__gte=saved_at).order_by("run_id")
        lookup = ProfileVersionLookup([name])
        moving: dict[uuid.UUID, tuple[int | None, int | None]] = {}
        for run_id, timestamp, recorded_at, version in runs.values_list(
            "run_id", "timestamp", "recorded_at", "profile_version"
        ):
            in_force = lookup.at(name, timestamp)
            # Only a version that was the one in force when the run was stored can have been
            # inferred; a run that named another version keeps it.
            if in_force.version not in (None, version) and lookup.at(name, recorded_at).version == version:
                moving[run_id] = (in_force.version, in_force.history_id)
        if not moving:
            return 0
        moved = AiRun.objects.filter(run_id__in=list(moving))
        change = Tally()
        for key, counts in log_counts(runs=moved, attempts=attempts_of_runs(moved), group=DAY_KEY).items():
            change.add_counts(key, counts, sign=-1)
        for run_id, (version, history_id) in moving.items():
            AiRun.objects.filter(run_id=run_id).update(profile_version=version, profile_history_id=history_id)
            run_key = AiRun.objects.filter(run_id=run_id).values("run_key")
            AiAttempt.objects.filter(run_key__in=run_key).update(profile_version=version)
        for key, counts in log_counts(runs=moved, attempts=attempts_of_runs(moved), group=DAY_KEY).items():
            change.add_counts(key, counts)
        log_changed.send(sender=AiRun, change=change)
    return len(moving)
