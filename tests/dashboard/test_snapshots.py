"""dashboard.panels.snapshots: shaping engine answers for the inspector, the resolution and the what-if."""

from __future__ import annotations

from dashboard.panels import snapshots
from engine.context import Context
from engine.resolver import RuleData, resolve


def snapshot(ring_counts: dict[int, int], *, risk=(5, 3, 2), score_mean=70.0) -> dict:
    n = sum(ring_counts.values())
    stats = {"min": 1.0, "max": 9.0, "mean": 4.5, "p50": 4.0, "p90": 8.0}
    return {
        "n_samples": n,
        "seed": 3,
        "ring_count": {**stats, "histogram": [{"value": k, "count": v} for k, v in ring_counts.items()]},
        "total_width_mm": {
            **stats,
            "histogram": [{"low": 3.0, "high": 3.45, "count": n - 1}, {"low": 3.45, "high": 3.9, "count": 1}],
        },
        "pattern_shares": {"solid": 0.5, "mosaic": 0.25, "segmented": 0.25},
        "risk": {b: {"count": c, "share": c / n} for b, c in zip(("GREEN", "YELLOW", "RED"), risk)},
        "score": {**stats, "mean": score_mean},
        "warnings": ["unknown tool_id 'x': not in the catalog"],
        "examples": [],
    }


def test_a_snapshot_view_has_charts_stats_and_sentences():
    view = snapshots.snapshot_view(snapshot({2: 4, 3: 6}), id_prefix="p")
    assert view.ids == {"risk": "p-risk", "rings": "p-rings", "widths": "p-widths"}
    assert [bar.label for bar in view.ring_counts.bars] == ["2", "3"]
    assert [t.label for t in view.total_widths.x_ticks][0] == "3.00"  # 0.45 mm bins need two decimals
    assert view.stats[0].values == ("1", "4", "4.50", "8", "9")  # whole ring counts stay whole
    assert view.warnings == ("Unknown tool_id 'x': not in the catalog",)
    assert [p.percent for p in view.patterns] == ["50.0%", "25.0%", "25.0%"]


def test_a_comparison_shares_axes_and_judges_only_what_has_a_better_direction():
    current, proposed = snapshot({2: 4, 3: 6}, risk=(5, 3, 2)), snapshot({3: 2, 4: 8}, risk=(7, 2, 1), score_mean=75.5)
    differences = {
        "risk_shares": {
            b: {"current": c, "proposed": p, "delta": p - c}
            for b, c, p in (("GREEN", 0.5, 0.7), ("YELLOW", 0.3, 0.2), ("RED", 0.2, 0.1))
        },
        "score": {"mean": {"current": 70.0, "proposed": 75.5, "delta": 5.5}},
        "ring_count": {
            "mean": {"current": 2.6, "proposed": 3.8, "delta": 1.2},
            "min": {"current": 2.0, "proposed": 2.0, "delta": 0.0},
        },
        "summary": ["mean ring count 2.60 -> 3.80 (+1.20)"],
    }
    view = snapshots.comparison_view(
        {
            "current": current,
            "proposed": proposed,
            "differences": differences,
            "changes": [{"field": "max_rings", "before": 3, "after": 4}],
        }
    )
    for side in (view.current, view.proposed):
        assert [bar.label for bar in side.ring_counts.bars] == ["2", "3", "4"]
        assert side.ring_counts.y_ticks == view.current.ring_counts.y_ticks
    assert view.current.ids["risk"] != view.proposed.ids["risk"]
    assert view.sentences == ("Mean ring count 2.60 → 3.80 (+1.20)",)
    assert [(c.label, c.before, c.after) for c in view.changes] == [("Most rings", "3", "4")]
    rows = {(g.title, r.label): r for g in view.groups for r in g.rows}
    assert rows[("Risk mix (share of candidates)", "GREEN")].trend == "better"
    assert rows[("Risk mix (share of candidates)", "RED")].trend == "better"  # less RED
    assert rows[("Risk mix (share of candidates)", "YELLOW")].trend == ""
    assert rows[("Score", "mean")].delta == "+5.50" and rows[("Score", "mean")].trend == "better"
    assert rows[("Ring count", "min")].delta == "same" and rows[("Ring count", "mean")].trend == ""


def rule(
    id_: int, name: str, profile: str, *, priority: int = 50, enabled: bool = True, tool: str = "", mode: str = ""
) -> RuleData:
    return RuleData(id_, name, tool, "", "", mode, "", priority, enabled, profile)


def test_a_resolution_view_lists_every_rule_with_columns_only_for_fields_some_rule_sets():
    rules = [
        rule(1, "saws", "thin", tool="saw:*"),
        rule(2, "old-saws", "old", tool="saw:*", enabled=False),
        rule(3, "lasers", "laser", tool="laser:*", mode="design_first"),
    ]
    resolution = resolve(Context("saw:a", "m", "c"), rules)
    summary = {
        "profile": {"name": "thin", "version": 4},
        "resolved_profile": "thin",
        "overridden": False,
        "rule_id": 1,
        "rule_name": "saws",
        "fallback_used": False,
        "explanation": resolution.explanation,
    }
    view = snapshots.resolution_view(summary)
    assert [c[0] for c in view.columns] == ["tool_id", "workflow_mode"]
    assert [c[0] for c in view.unused] == ["material_id", "machine_id", "geometry_engine"]
    assert [(r.name, r.outcome, r.enabled) for r in view.rules] == [
        ("saws", "winner", True),
        ("old-saws", "disabled", False),
        ("lasers", "no_match", True),
    ]
    assert view.rules[0].reason == "Wins: the only enabled rule that matches."
    assert view.rules[1].reason == "Matches, but the rule is disabled."
    assert view.rules[2].reason == (
        "No match: tool_id 'saw:a' does not match 'laser:*'; workflow_mode 'constraint_first' is not 'design_first'."
    )
    assert [(c.field, c.kind, c.matched) for c in view.rules[2].cells] == [
        ("tool_id", "glob", False),
        ("workflow_mode", "exact", False),
    ]
    assert view.summary == "Rule #1 'saws' is the only enabled rule that matches."


def test_a_fallback_resolution():
    resolution = resolve(Context("x", "y", "z"), [])
    view = snapshots.resolution_view(
        {
            "profile": {"name": "default", "version": 1},
            "resolved_profile": "default",
            "overridden": False,
            "rule_id": None,
            "rule_name": "",
            "fallback_used": True,
            "explanation": resolution.explanation,
        }
    )
    assert view.fallback_used and view.rules == () and view.columns == ()
    assert view.summary == "There are no rules, so the fallback profile 'default' is used."
