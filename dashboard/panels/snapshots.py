"""What the snapshot inspector, the resolution explanation and the what-if preview show.

Plain Python (no Django): each function takes what ``profiles.selectors`` returns
(``snapshot_sample``, ``context_resolve(...).summary()``, ``snapshot_preview``) and returns frozen
dataclasses with the charts (:mod:`dashboard.charts`) and the words already worked out, so the
templates only lay them out and the shaping is tested without rendering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard import charts
from engine.resolver import FALLBACK_PROFILE
from profiles.presentation import ChangeRow, change_rows

RISK_BUCKETS = charts.RISK_BUCKETS
CONTEXT_LABELS: dict[str, str] = {
    "tool_id": "Tool",
    "material_id": "Material",
    "machine_id": "Machine",
    "workflow_mode": "Workflow",
    "geometry_engine": "Geometry engine",
}
STAT_KEYS: tuple[str, ...] = ("min", "p50", "mean", "p90", "max")
STAT_LABELS: dict[str, str] = {"min": "min", "p50": "median", "mean": "mean", "p90": "90th percentile", "max": "max"}
NOUN = "candidates"


def _sentence(text: str) -> str:
    """Engine texts are lower-case fragments with ASCII arrows; on a page they start upper-case."""
    text = text.replace(" -> ", " → ")
    return text[:1].upper() + text[1:] if text else text


def _number(value: float, places: int = 2) -> str:
    text = f"{value:.{places}f}"
    return text.lstrip("-") if text.strip("-0.") == "" else text  # never "-0.00"


def _count(value: float) -> str:
    """Ring counts: whole numbers as such, means with two decimals."""
    return str(int(value)) if float(value).is_integer() else _number(value)


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


# ---------------------------------------------------------------------------------------------
# One snapshot


@dataclass(frozen=True)
class StatRow:
    label: str
    unit: str
    values: tuple[str, ...]  # in STAT_KEYS order


@dataclass(frozen=True)
class PatternShare:
    pattern: str
    share: float  # of all rings sampled, 0..1
    percent: str


@dataclass(frozen=True)
class CheckRow:
    name: str
    score: str
    bucket: str
    weight: int
    detail: str


@dataclass(frozen=True)
class CandidateView:
    number: int
    chart_id: str
    rosette: charts.Rosette
    score: str
    bucket: str
    warnings: tuple[tuple[str, str], ...]  # (check name, the rest: " is YELLOW (59.5): ...")
    checks: tuple[CheckRow, ...]
    rings: tuple[str, ...]  # "1.20 mm solid wood:ebony", inner to outer


@dataclass(frozen=True)
class SnapshotView:
    ids: dict[str, str]  # element ids of the charts (unique on the page): risk, rings, widths
    n_samples: int
    seed: int
    risk: charts.RiskMixBar
    ring_counts: charts.Histogram
    total_widths: charts.Histogram
    patterns: tuple[PatternShare, ...]
    stats: tuple[StatRow, ...]
    warnings: tuple[str, ...]
    candidates: tuple[CandidateView, ...]


def _ring_histogram_counts(snapshot: Mapping[str, Any]) -> dict[int, int]:
    return {int(item["value"]): int(item["count"]) for item in snapshot["ring_count"]["histogram"]}


def _width_bins(snapshot: Mapping[str, Any]) -> tuple[list[float], list[int]]:
    bins = snapshot["total_width_mm"]["histogram"]
    edges = [float(b["low"]) for b in bins] + [float(bins[-1]["high"])] if bins else []
    return edges, [int(b["count"]) for b in bins]


def _max_count(snapshot: Mapping[str, Any]) -> int:
    counts = [item["count"] for item in snapshot["ring_count"]["histogram"]]
    return max(counts) if counts else 0


def _max_width_count(snapshot: Mapping[str, Any]) -> int:
    counts = [item["count"] for item in snapshot["total_width_mm"]["histogram"]]
    return max(counts) if counts else 0


def _check_warning(text: str, names: Sequence[str]) -> tuple[str, str]:
    """A scorer warning starts with its check's name, an identifier that stays as it is."""
    name = next((n for n in names if text.startswith(n + " ")), "")
    return (name, text[len(name) :]) if name else ("", _sentence(text))


def candidate_view(example: Mapping[str, Any], number: int, *, chart_id: str, size: float = 140) -> CandidateView:
    candidate, feasibility = example["candidate"], example["feasibility"]
    names = [c["name"] for c in feasibility.get("checks", ())]
    return CandidateView(
        number=number,
        chart_id=chart_id,
        rosette=charts.rosette(candidate, size=size),
        score=_number(float(feasibility["score"]), 1),
        bucket=str(feasibility["risk_bucket"]),
        warnings=tuple(_check_warning(w, names) for w in feasibility.get("warnings", ())),
        checks=tuple(
            CheckRow(c["name"], _number(float(c["score"]), 1), c["bucket"], int(c["weight"]), _sentence(c["detail"]))
            for c in feasibility.get("checks", ())
        ),
        rings=tuple(
            f"{float(r['width_mm']):.2f} mm {r['pattern']} {r.get('material_key') or 'no material'}"
            for r in candidate.get("rings", ())
        ),
    )


def snapshot_view(
    snapshot: Mapping[str, Any],
    *,
    ring_range: tuple[int, int] | None = None,
    ring_y_max: int = 0,
    width_y_max: int = 0,
    chart_width: float = 320,
    candidates: int = 3,
    id_prefix: str = "snap",
) -> SnapshotView:
    """A ``snapshot`` (the engine's sample description) as charts, tables and sample rosettes.

    ``ring_range`` and the ``*_y_max`` give two snapshots shown side by side the same axes;
    ``id_prefix`` keeps their element ids apart.
    """
    ring_counts = _ring_histogram_counts(snapshot)
    low, high = ring_range if ring_range else (min(ring_counts, default=None), max(ring_counts, default=None))
    edges, width_counts = _width_bins(snapshot)
    decimals = 2 if any(abs(e * 10 - round(e * 10)) > 1e-6 for e in edges) else 1
    width_histogram = (
        charts.binned_histogram(edges, width_counts, noun=NOUN, decimals=decimals, width=chart_width, y_max=width_y_max)
        if edges
        else charts.binned_histogram([0.0, 1.0], [0], noun=NOUN, width=chart_width)
    )
    stats = (
        StatRow("Ring count", "", tuple(_count(snapshot["ring_count"][k]) for k in STAT_KEYS)),
        StatRow("Total width", "mm", tuple(_number(snapshot["total_width_mm"][k]) for k in STAT_KEYS)),
        StatRow("Score", "", tuple(_number(snapshot["score"][k], 1) for k in STAT_KEYS)),
    )
    return SnapshotView(
        ids={name: f"{id_prefix}-{name}" for name in ("risk", "rings", "widths")},
        n_samples=int(snapshot["n_samples"]),
        seed=int(snapshot["seed"]),
        risk=charts.risk_mix_bar(
            # Labels fit the narrowest box the bar fills: one side of the what-if on a 390 px phone.
            {b: int(snapshot["risk"][b]["count"]) for b in RISK_BUCKETS},
            noun=NOUN,
            width=270,
            height=24,
        ),
        ring_counts=charts.integer_histogram(
            ring_counts, noun=NOUN, width=chart_width, low=low, high=high, y_max=ring_y_max
        ),
        total_widths=width_histogram,
        patterns=tuple(
            PatternShare(p, float(share), _percent(float(share))) for p, share in snapshot["pattern_shares"].items()
        ),
        stats=stats,
        warnings=tuple(_sentence(w) for w in snapshot.get("warnings", ())),
        candidates=tuple(
            candidate_view(example, i, chart_id=f"{id_prefix}-candidate-{i}")
            for i, example in enumerate(snapshot.get("examples", ())[:candidates], start=1)
        ),
    )


# ---------------------------------------------------------------------------------------------
# Resolution: which profile, and why


@dataclass(frozen=True)
class FieldCell:
    field: str
    pattern: str  # "" for a blank (match-anything) field
    kind: str  # exact | glob | blank
    matched: bool


@dataclass(frozen=True)
class RuleRow:
    id: int
    name: str
    profile_name: str
    priority: int
    enabled: bool
    outcome: str  # winner | outranked | no_match | disabled
    outcome_label: str
    reason: str
    cells: tuple[FieldCell, ...]


@dataclass(frozen=True)
class ResolutionView:
    profile_name: str
    profile_version: int | None
    resolved_profile: str
    overridden: bool
    fallback_used: bool
    fallback_profile: str
    rule_id: int | None
    rule_name: str
    summary: str
    context: tuple[tuple[str, str, str], ...]  # (field, label, value) of the context resolved
    columns: tuple[tuple[str, str, str], ...]  # the context fields some rule sets (the table's columns)
    unused: tuple[tuple[str, str, str], ...]  # the fields no rule sets: they match for every rule
    rules: tuple[RuleRow, ...]  # each with one cell per column
    rules_matched: int


_OUTCOME_LABELS = {"winner": "winner", "outranked": "outranked", "no_match": "no match", "disabled": "disabled"}


def _rule_reason(rule: Mapping[str, Any], winner: Mapping[str, Any] | None) -> str:
    outcome = rule["outcome"]
    if outcome == "winner":
        if winner and winner.get("beats"):
            return "Wins: " + "; ".join(beat["reason"] for beat in winner["beats"]) + "."
        return "Wins: the only enabled rule that matches."
    if outcome == "outranked" and winner:
        why = next((b["reason"] for b in winner.get("beats", ()) if b["id"] == rule["id"]), "")
        return f"Matches, but rule #{winner['id']} {winner['name']} wins" + (f": {why}." if why else ".")
    if outcome == "disabled":
        return "Matches, but the rule is disabled."
    failed = [f for f in rule["fields"] if not f["matched"]]
    parts = [
        f"{f['field']} {f['value']!r} is not {f['pattern']!r}"
        if f["kind"] == "exact"
        else f"{f['field']} {f['value']!r} does not match {f['pattern']!r}"
        for f in failed
    ]
    disabled = " (the rule is disabled too)" if not rule["enabled"] else ""
    return "No match: " + "; ".join(parts) + disabled + "."


def resolution_view(summary: Mapping[str, Any]) -> ResolutionView:
    """``context_resolve(...).summary()`` (or a snapshot's, which includes it) for the page."""
    explanation = summary["explanation"]
    winner = explanation.get("winner")
    context = explanation["context"]
    fields = tuple((f, CONTEXT_LABELS[f], context.get(f) or "") for f in CONTEXT_LABELS)
    used = {f["field"] for rule in explanation["rules"] for f in rule["fields"] if f["kind"] != "blank"}
    rules = tuple(
        RuleRow(
            id=rule["id"],
            name=rule["name"],
            profile_name=rule["profile_name"],
            priority=rule["priority"],
            enabled=rule["enabled"],
            outcome=rule["outcome"],
            outcome_label=_OUTCOME_LABELS.get(rule["outcome"], rule["outcome"]),
            reason=_rule_reason(rule, winner),
            cells=tuple(
                FieldCell(f["field"], f["pattern"], f["kind"], f["matched"])
                for f in rule["fields"]
                if f["field"] in used
            ),
        )
        for rule in explanation["rules"]
    )
    return ResolutionView(
        profile_name=summary["profile"]["name"],
        profile_version=summary["profile"].get("version"),
        resolved_profile=summary["resolved_profile"],
        overridden=bool(summary.get("overridden")),
        fallback_used=bool(summary["fallback_used"]),
        fallback_profile=explanation.get("fallback_profile", FALLBACK_PROFILE),
        rule_id=summary.get("rule_id"),
        rule_name=summary.get("rule_name") or "",
        summary=_sentence(explanation["summary"]) + ".",
        context=fields,
        columns=tuple(c for c in fields if c[0] in used),
        unused=tuple(c for c in fields if c[0] not in used),
        rules=rules,
        rules_matched=int(explanation.get("rules_matched", 0)),
    )


# ---------------------------------------------------------------------------------------------
# What-if: the saved profile and the unsaved values, sampled alike


@dataclass(frozen=True)
class DifferenceRow:
    label: str
    current: str
    proposed: str
    delta: str
    trend: str  # better | worse | "" (no judgement)


@dataclass(frozen=True)
class DifferenceGroup:
    title: str
    rows: tuple[DifferenceRow, ...]


@dataclass(frozen=True)
class ComparisonView:
    current: SnapshotView
    proposed: SnapshotView
    changes: tuple[ChangeRow, ...]
    sentences: tuple[str, ...]
    groups: tuple[DifferenceGroup, ...]


# Which way is better, where there is a clear answer: a higher score, more GREEN, less RED.
_BETTER_WHEN = {
    ("score", "mean"): 1,
    ("score", "p50"): 1,
    ("score", "p90"): 1,
    ("score", "min"): 1,
    ("risk_shares", "GREEN"): 1,
    ("risk_shares", "RED"): -1,
}
_GROUPS: tuple[tuple[str, str, Sequence[str], str], ...] = (
    ("risk_shares", "Risk mix (share of candidates)", RISK_BUCKETS, "share"),
    ("score", "Score", STAT_KEYS, "number"),
    ("ring_count", "Ring count", STAT_KEYS, "number"),
    ("total_width_mm", "Total width (mm)", STAT_KEYS, "number"),
    ("pattern_shares", "Ring patterns (share of rings)", ("solid", "mosaic", "segmented"), "share"),
)


def _difference_row(group: str, key: str, change: Mapping[str, float], kind: str) -> DifferenceRow:
    current, proposed, delta = float(change["current"]), float(change["proposed"]), float(change["delta"])
    if kind == "share":
        shown = (_percent(current), _percent(proposed), f"{delta * 100:+.1f} pts")
    elif group == "ring_count":
        shown = (_count(current), _count(proposed), f"{delta:+.2f}")
    else:
        shown = (_number(current), _number(proposed), f"{delta:+.2f}")
    if abs(delta) < 1e-9:
        shown = (shown[0], shown[1], "same")
    direction = _BETTER_WHEN.get((group, key), 0)
    trend = "" if not direction or abs(delta) < 1e-9 else ("better" if delta * direction > 0 else "worse")
    return DifferenceRow(STAT_LABELS.get(key, key), *shown, trend)


def comparison_view(preview: Mapping[str, Any], *, candidates: int = 0) -> ComparisonView:
    """``snapshot_preview``'s result: both sides on shared axes, the changes and the differences."""
    current, proposed = preview["current"], preview["proposed"]
    ring_values = list(_ring_histogram_counts(current)) + list(_ring_histogram_counts(proposed))
    shared = {
        "ring_range": (min(ring_values), max(ring_values)) if ring_values else None,
        "ring_y_max": max(_max_count(current), _max_count(proposed)),
        "width_y_max": max(_max_width_count(current), _max_width_count(proposed)),
        "candidates": candidates,
        "chart_width": 280,
    }
    differences = preview["differences"]
    groups = tuple(
        DifferenceGroup(
            title, tuple(_difference_row(key, k, differences[key][k], kind) for k in keys if k in differences[key])
        )
        for key, title, keys, kind in _GROUPS
        if key in differences
    )
    return ComparisonView(
        current=snapshot_view(current, id_prefix="what-if-saved", **shared),
        proposed=snapshot_view(proposed, id_prefix="what-if-yours", **shared),
        changes=change_rows(preview["changes"]),
        sentences=tuple(_sentence(s) for s in differences.get("summary", ())),
        groups=groups,
    )


__all__ = [
    "ComparisonView",
    "ResolutionView",
    "SnapshotView",
    "comparison_view",
    "resolution_view",
    "snapshot_view",
]
