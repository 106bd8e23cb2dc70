"""Did the change from one version of a profile to another help? (DESIGN §9)

Each comparison stratifies by context - tool, material, machine, workflow mode and geometry
engine - with the successes and runs of both versions in each context, read from the aggregates
(:func:`analytics.selectors.aggregates.counts`: the all-time rows, or the day rows with the
log's edge rows under ``since`` / ``until``), and hands them to :func:`analytics.stats.compare`
(Mantel–Haenszel difference, Sato's interval, the CMH test, the crude difference, the verdict).

Default pairs (:func:`default_pairs`): each version against the one it replaced - the nearest
earlier version that has runs, the versions skipped being named in the note - and a rollback also
against the version whose values it restored. Any two versions on request
(:func:`version_comparison`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q

from ailog.filters import LogFilter
from ailog.selectors import context_q
from analytics.models import ContextTotal
from analytics.selectors.aggregates import _summed, counts
from analytics.stats import Stratum, compare

#: The stratum of a comparison: the whole context (workflow mode and geometry engine steer
#: generation and scoring as much as the tool does).
STRATUM = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")
PREVIOUS, RESTORED, REQUESTED = "previous", "restored", "requested"
_MEASURES = ("runs", "green_found", "acceptable_found")


def version_table(
    *, profile: str, filters: LogFilter, versions: list[int] | None = None
) -> dict[int, dict[tuple, tuple[int, int]]]:
    """Per version of ``profile``: ``{context: (successes, runs)}`` of the runs matching ``filters``
    (one read of the aggregates; ``versions`` narrows it)."""
    scoped = LogFilter(**{**filters.__dict__, "profile": profile})
    group = (*STRATUM, "profile_version")
    if scoped.since is None and scoped.until is None and scoped.run_id is None:
        # The all-time rows, reading only the three counts a comparison needs.
        q = context_q(scoped) & Q(runs__gt=0)
        if versions is not None:
            q &= Q(profile_version__in=versions)
        rows = (
            (key, values[0], values[1] + values[2])
            for key, values in _summed(ContextTotal, q, group, _MEASURES).items()
        )
    else:
        rows = ((key, value.runs, value.successes) for key, value in counts(filters=scoped, group=group).items())
    out: dict[int, dict[tuple, tuple[int, int]]] = {}
    for key, runs, successes in rows:
        version = key[-1]
        if not runs or (versions is not None and version not in versions):
            continue
        out.setdefault(version, {})[key[:-1]] = (successes, runs)
    return out


def strata(a: Mapping[tuple, tuple[int, int]], b: Mapping[tuple, tuple[int, int]]) -> list[Stratum]:
    """One :class:`~analytics.stats.Stratum` per context either version saw, in context order."""
    rows = []
    for context in sorted(set(a) | set(b)):
        a_successes, a_runs = a.get(context, (0, 0))
        b_successes, b_runs = b.get(context, (0, 0))
        rows.append(Stratum(context, a_successes, a_runs, b_successes, b_runs))
    return rows


def comparison_dict(
    table: Mapping[int, Mapping[tuple, tuple[int, int]]], a: int, b: int, *, kind: str, note: str | None = None
) -> dict[str, Any]:
    """The comparison of version ``a`` → ``b`` as the API shows it (``against`` is ``a``)."""
    result = compare(strata=strata(table.get(a, {}), table.get(b, {})), labels=(f"v{a}", f"v{b}")).as_dict()
    if note:
        result["note"] = f"{note} {result['note']}" if result["note"] else note
    return {"against": a, "kind": kind, **result}


def default_pairs(
    versions: list[dict[str, Any]], runs: Mapping[int, int]
) -> dict[int, list[tuple[int, str, str | None]]]:
    """For each version: ``(against, kind, note)`` of its default comparisons.

    ``versions`` are journal-like entries (``version``, ``type``, ``rollback_of`` as a history id,
    ``history_id``), any order; ``runs`` the runs per version. The version it replaced: the
    nearest earlier one with runs (skipped ones named), or the one right before when none has
    runs. A rollback: also the version it restored, when that is another one.
    """
    ordered = sorted(versions, key=lambda entry: entry["version"])
    version_of_record = {entry["history_id"]: entry["version"] for entry in ordered if entry.get("history_id")}
    out: dict[int, list[tuple[int, str, str | None]]] = {}
    for position, entry in enumerate(ordered):
        version = entry["version"]
        pairs: list[tuple[int, str, str | None]] = []
        earlier = [e["version"] for e in ordered[:position]]
        if earlier:
            with_runs = [v for v in earlier if runs.get(v)]
            against = with_runs[-1] if with_runs else earlier[-1]
            skipped = [v for v in earlier if v > against]
            note = None
            if skipped:
                listed = ", ".join(f"v{v}" for v in skipped)
                note = (
                    f"Compared with v{against}, the last version before it with runs "
                    f"({listed} {'has' if len(skipped) == 1 else 'have'} none)."
                )
            pairs.append((against, PREVIOUS, note))
        restored = version_of_record.get(entry.get("rollback_of"))
        if entry.get("type") == "rollback" and restored is not None and restored != version:
            if not pairs or pairs[0][0] != restored:
                pairs.append((restored, RESTORED, f"v{version} restored the values of v{restored}."))
            else:
                pairs[0] = (restored, RESTORED, pairs[0][2])
        out[version] = pairs
    return out


def version_comparison(*, profile: str, a: int, b: int, filters: LogFilter | None = None) -> dict[str, Any]:
    """Version ``a`` → ``b`` of ``profile``: the comparison (kind ``requested``) and the
    per-context table behind it (each context's runs and success rate under both versions, its
    difference, and its share of the Mantel–Haenszel weight, nA·nB/(nA + nB))."""
    table = version_table(profile=profile, filters=filters or LogFilter(), versions=[a, b])
    result = comparison_dict(table, a, b, kind=REQUESTED)
    rows = strata(table.get(a, {}), table.get(b, {}))
    weights = {
        row.key: row.a_runs * row.b_runs / (row.a_runs + row.b_runs) for row in rows if row.a_runs and row.b_runs
    }
    total = sum(weights.values())
    contexts = []
    for row in sorted(rows, key=lambda r: (-(r.a_runs + r.b_runs), r.key)):
        a_rate = row.a_successes / row.a_runs if row.a_runs else None
        b_rate = row.b_successes / row.b_runs if row.b_runs else None
        contexts.append(
            {
                **dict(zip(STRATUM, row.key)),
                "a": {"runs": row.a_runs, "successes": row.a_successes, "success_rate": _round(a_rate)},
                "b": {"runs": row.b_runs, "successes": row.b_successes, "success_rate": _round(b_rate)},
                "difference": _round(b_rate - a_rate) if a_rate is not None and b_rate is not None else None,
                "shared": row.key in weights,
                "weight": _round(weights[row.key] / total) if row.key in weights and total else None,
            }
        )
    return {"profile": profile, "version": b, **result, "contexts": contexts}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4) + 0.0
