"""A profile's real traffic, and the prediction of proposed values on it (DESIGN §9).

:func:`profile_traffic` reads the day aggregates of the last 30 UTC days (today included) for
the runs resolved to a profile, per context (tool, material, machine, workflow mode, geometry
engine), and keeps the busiest contexts until they hold 95% of the runs, at most 20.
:func:`profile_blast_radius` lists *every* context of a profile's last ``days`` days with its runs
and share of the profile's runs (``share = runs(context) / Σ runs``): what a change request
would touch (DESIGN §10); :func:`contexts_seen` lists every context of any profile (the rule
editor's blast radius, registered with :mod:`profiles.traffic`).
:func:`profile_prediction` samples the real generator and scorer in those contexts under the
saved values and the proposed ones (:func:`engine.prediction.predict`, common random numbers
per context), weighted by each context's runs: ``POST /api/rmos/ai/profiles/{name}/predict``,
the dashboard's what-if, and the prediction stored when a version is saved all call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q

from ailog.filters import LogFilter
from analytics.models import ContextDay
from analytics.selectors.aggregates import _summed, counts
from engine.context import Context
from engine.prediction import (
    DEFAULT_MIN_SCORE,
    DEFAULT_SAMPLES_PER_CONTEXT,
    MAX_CONTEXTS,
    PredictionError,
    predict,
    sampling_problems,
    values_problems,
)
from engine.profile import CONSTRAINT_FIELDS
from profiles import selectors as profile_selectors
from rmos_site.errors import FieldError, ValidationFailed

TRAFFIC_DAYS = 30
TRAFFIC_SHARE = 0.95
STRATUM = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")


@dataclass(frozen=True)
class Traffic:
    """The contexts a prediction samples, busiest first, with their runs (the weights)."""

    since: date
    until: date  # inclusive
    runs: int  # all the profile's runs in those days
    contexts_seen: int  # contexts with runs in those days
    contexts: tuple[tuple[Context, int], ...]

    @property
    def covered_runs(self) -> int:
        return sum(runs for _, runs in self.contexts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": TRAFFIC_DAYS,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "runs": self.runs,
            "contexts_seen": self.contexts_seen,
            "contexts_used": len(self.contexts),
            "covered_runs": self.covered_runs,
            "covered_share": round(self.covered_runs / self.runs, 4) if self.runs else None,
        }


def profile_traffic(*, name: str, until: datetime | None = None) -> Traffic:
    """The contexts that resolved to ``name`` in the 30 UTC days up to ``until`` (default: now,
    today included) and made up 95% of its runs (the busiest first, at most 20; ties by
    context), with their runs. Without ``until`` the day aggregates answer alone; with it, the
    day aggregates and the log's rows of ``until``'s own day before it (as every time range)."""
    last = (until or datetime.now(UTC)).astimezone(UTC).date()
    since = last - timedelta(days=TRAFFIC_DAYS - 1)
    if until is None:
        rows = {
            key: values[0]
            for key, values in _summed(
                ContextDay, Q(profile_name=name, day__gte=since, runs__gt=0), STRATUM, ("runs",)
            ).items()
        }
    else:
        start = datetime.combine(since, time(), tzinfo=UTC)
        rows = {
            key: value.runs
            for key, value in counts(filters=LogFilter(profile=name, since=start, until=until), group=STRATUM).items()
        }
    ordered = sorted(((key, runs) for key, runs in rows.items() if runs > 0), key=lambda r: (-r[1], r[0]))
    total = sum(runs for _, runs in ordered)
    chosen: list[tuple[Context, int]] = []
    covered = 0
    for key, runs in ordered:
        if covered >= TRAFFIC_SHARE * total or len(chosen) == MAX_CONTEXTS:
            break
        chosen.append((Context(**dict(zip(STRATUM, key))), runs))
        covered += runs
    return Traffic(since, last, total, len(ordered), tuple(chosen))


BLAST_RADIUS_MAX_DAYS = 366


def _seen(*, days: int, profile: str | None) -> list[tuple[Context, int]]:
    last = datetime.now(UTC).date()
    q = Q(day__gte=last - timedelta(days=days - 1), runs__gt=0)
    if profile is not None:
        q &= Q(profile_name=profile)
    rows = _summed(ContextDay, q, STRATUM, ("runs",))
    ordered = sorted(((key, values[0]) for key, values in rows.items() if values[0] > 0), key=lambda r: (-r[1], r[0]))
    return [(Context(**dict(zip(STRATUM, key))), runs) for key, runs in ordered]


def contexts_seen(*, days: int = TRAFFIC_DAYS) -> list[tuple[Context, int]]:
    """Every context with runs in the last ``days`` UTC days (today included), any profile, most runs first."""
    return _seen(days=days, profile=None)


def profile_blast_radius(*, profile: str, days: int = TRAFFIC_DAYS) -> dict[str, Any]:
    """Every context whose runs named ``profile`` in the last ``days`` UTC days (today included),
    with its runs and its share of the profile's runs, most runs first."""
    seen = _seen(days=days, profile=profile)
    total = sum(runs for _, runs in seen)
    return {
        "profile": profile,
        "days": days,
        "since": (datetime.now(UTC).date() - timedelta(days=days - 1)).isoformat(),
        "runs": total,
        "contexts": [
            {**context.as_dict(), "runs": runs, "share": round(runs / total, 4) if total else None}
            for context, runs in seen
        ],
    }


def _changes_problems(changes: Any) -> list[FieldError]:
    if not isinstance(changes, Mapping):
        return [FieldError("changes", "type", "must be an object of profile fields and their proposed values")]
    return [
        FieldError(
            f"changes.{key}",
            "unknown_field",
            f"is not a constraint field; known fields: {', '.join(CONSTRAINT_FIELDS)}",
        )
        for key in changes
        if key not in CONSTRAINT_FIELDS
    ]


def profile_prediction(
    *,
    name: str,
    changes: Mapping[str, Any] | None,
    samples_per_context: int = DEFAULT_SAMPLES_PER_CONTEXT,
    seed: int | None = None,
    min_feasibility_score: float = DEFAULT_MIN_SCORE,
    saved: Mapping[str, Any] | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Predicted acceptable and GREEN shares of ``name``'s saved values and of them with
    ``changes`` applied, on its traffic of the last 30 days (:func:`profile_traffic`).

    ``saved`` replaces the saved values (the stored prediction of a version compares it with the
    version before) and ``until`` ends the 30 days (the stored prediction: the moment of the save). Bad input raises ValidationFailed naming each field (``changes.<field>``,
    ``samples_per_context``, ``seed``, ``min_feasibility_score``). With no runs in those days
    there is nothing to weigh: ``contexts`` is empty, ``overall`` null and ``note`` says why.
    The answer is :func:`engine.prediction.predict`'s, with ``profile``, ``version`` and
    ``traffic`` (:meth:`Traffic.as_dict`) added.
    """
    profile = profile_selectors.profile_get(name=name)
    problems = _changes_problems(changes) if changes is not None else []
    if problems:
        raise ValidationFailed(errors=problems)
    base = dict(saved) if saved is not None else profile_selectors.profile_values(profile)
    proposed = {**base, **changes} if changes is not None else None
    catalog = profile_selectors.catalog_get()
    found = sampling_problems(
        samples_per_context=samples_per_context, seed=seed, min_feasibility_score=min_feasibility_score
    )
    if proposed is not None:
        found += values_problems("changes", proposed, catalog)[1]
    if found:
        raise ValidationFailed(errors=[FieldError(p.field, p.rule, p.message) for p in found])
    traffic = profile_traffic(name=profile.name, until=until)
    head = {"profile": profile.name, "version": profile.version, "traffic": traffic.as_dict()}
    if not traffic.contexts:
        return {
            **head,
            "samples_per_context": samples_per_context,
            "seed": seed,
            "min_feasibility_score": float(min_feasibility_score),
            "catalog_revision": catalog.revision,
            "contexts": [],
            "overall": None,
            "note": f"No runs resolved to {profile.name} in the last {TRAFFIC_DAYS} days: "
            "there is no traffic to weigh a prediction by.",
        }
    try:
        answer = predict(
            catalog,
            base,
            proposed,
            list(traffic.contexts),
            samples_per_context=samples_per_context,
            seed=seed,
            min_feasibility_score=min_feasibility_score,
        )
    except PredictionError as exc:  # checked above; the saved values could still break a rule
        raise ValidationFailed(errors=[FieldError(p.field, p.rule, p.message) for p in exc.problems]) from None
    return {**head, **answer, "note": None}
