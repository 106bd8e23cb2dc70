from __future__ import annotations

import json

import pytest

from engine.context import Context
from engine.resolver import RuleData, is_glob, pattern_matches, resolve

CONTEXT = Context("saw:jeweler-0.25", "wood:ebony", "prod:vmc-3axis", "ai_assisted", "shapely")


def rule(
    id: int,
    tool: str = "",
    material: str = "",
    machine: str = "",
    *,
    mode: str = "",
    engine: str = "",
    priority: int = 100,
    enabled: bool = True,
    profile: str | None = None,
) -> RuleData:
    return RuleData(id, f"r{id}", tool, material, machine, mode, engine, priority, enabled, profile or f"p{id}")


def winner(*rules: RuleData, context: Context = CONTEXT) -> int | None:
    return resolve(context, rules).rule_id


class TestPatterns:
    @pytest.mark.parametrize(
        "pattern, closed",
        [
            ("saw:*", True),
            ("wood:[ef]*", True),
            ("x[]]", True),
            ("x[!]]", True),
            ("saw:[", False),
            ("a[b", False),
            ("x[!]", False),
            ("x[]", False),
        ],
    )
    def test_an_unclosed_character_set_is_a_problem(self, pattern, closed):
        from engine.resolver import glob_problem

        assert (glob_problem(pattern) is None) == closed

    @pytest.mark.parametrize("pattern", ["saw:*", "saw:?", "wood:[ef]*"])
    def test_globs(self, pattern):
        assert is_glob(pattern)

    @pytest.mark.parametrize("pattern", ["", "saw:jeweler-0.25", "a.b+c"])
    def test_not_globs(self, pattern):
        assert not is_glob(pattern)

    @pytest.mark.parametrize(
        ("pattern", "value", "expected"),
        [
            ("", "anything", True),
            ("saw:*", "saw:table-1.0", True),
            ("saw:*", "router:vbit-60", False),
            ("saw:*", "SAW:table-1.0", False),  # case-sensitive
            ("wood:[ef]*", "wood:ebony", True),
            ("wood:[ef]*", "wood:walnut", False),
            ("saw:table-?.0", "saw:table-1.0", True),
            ("saw:table-1.0", "saw:table-1.0", True),
            ("saw:table-1.0", "saw:table-1.00", False),
            ("Saw:table-1.0", "saw:table-1.0", False),
        ],
    )
    def test_matching(self, pattern, value, expected):
        assert pattern_matches(pattern, value) is expected


class TestWinner:
    def test_no_rules_falls_back(self):
        resolution = resolve(CONTEXT, [])
        assert (resolution.profile_name, resolution.rule_id, resolution.rule_name) == ("default", None, "")
        assert resolution.fallback_used and resolution.explanation["fallback_used"]
        assert "no rules" in resolution.explanation["summary"]

    def test_no_matching_rule_falls_back_to_the_named_profile(self):
        resolution = resolve(CONTEXT, [rule(1, "router:*")], fallback_profile="house")
        assert resolution.profile_name == "house" and resolution.fallback_used
        assert "no enabled rule matches" in resolution.explanation["summary"]

    def test_a_rule_must_match_every_field_it_sets(self):
        assert winner(rule(1, "saw:*", "shell:*")) is None
        assert winner(rule(1, "saw:*", "wood:*")) == 1

    @pytest.mark.parametrize(
        ("field", "value"),
        [("mode", "ai_assisted"), ("engine", "shapely")],
    )
    def test_workflow_mode_and_geometry_engine_are_exact(self, field, value):
        assert winner(rule(1, **{field: value})) == 1
        assert winner(rule(1, **{field: value.upper()})) is None
        assert winner(rule(1, **{field: value[:3] + "*"})) is None  # no globs here

    def test_more_fields_set_beats_fewer_even_if_globs(self):
        # (2 fields, 0 exact) beats (1 field, 1 exact): fields set count first.
        assert winner(rule(1, "saw:jeweler-0.25"), rule(2, "saw:*", "wood:*")) == 2

    def test_exact_beats_glob_with_the_same_fields_set(self):
        assert winner(rule(1, "saw:*", "wood:ebony"), rule(2, "saw:jeweler-0.25", "wood:ebony")) == 2

    def test_specificity_beats_priority(self):
        assert winner(rule(1, "saw:*", priority=1), rule(2, "saw:jeweler-0.25", priority=999)) == 2

    def test_lower_priority_breaks_a_specificity_tie(self):
        assert winner(rule(1, "saw:*", priority=50), rule(2, "saw:*", priority=10)) == 2

    def test_lower_id_breaks_a_priority_tie(self):
        assert winner(rule(7, "saw:*"), rule(3, "saw:*"), rule(5, "saw:*")) == 3

    def test_input_order_does_not_matter(self):
        rules = [rule(i, "saw:*", priority=100 - i % 3) for i in range(1, 10)]
        assert winner(*rules) == winner(*reversed(rules)) == 2

    def test_disabled_rules_never_win(self):
        assert winner(rule(1, "saw:jeweler-0.25", enabled=False), rule(2, "saw:*")) == 2
        assert winner(rule(1, "saw:*", enabled=False)) is None

    def test_catch_all_rule_beats_the_fallback(self):
        resolution = resolve(CONTEXT, [rule(1, profile="catch-all")])
        assert resolution.profile_name == "catch-all" and not resolution.fallback_used


class TestExplanation:
    def explain(self, *rules: RuleData) -> dict:
        explanation = resolve(CONTEXT, rules).explanation
        assert json.loads(json.dumps(explanation)) == explanation  # JSON-ready
        return explanation

    def test_lists_every_rule_with_per_field_results(self):
        explanation = self.explain(
            rule(1, "saw:*", "wood:ebony"),
            rule(2, "router:*"),
            rule(3, "saw:jeweler-0.25", enabled=False),
        )
        assert explanation["rules_considered"] == 3 and explanation["rules_matched"] == 1
        by_id = {r["id"]: r for r in explanation["rules"]}
        assert [r["id"] for r in explanation["rules"]] == [1, 2, 3]  # ranked eligible rules, then by id
        assert by_id[1]["fields"] == [
            {"field": "tool_id", "pattern": "saw:*", "value": "saw:jeweler-0.25", "kind": "glob", "matched": True},
            {"field": "material_id", "pattern": "wood:ebony", "value": "wood:ebony", "kind": "exact", "matched": True},
            {"field": "machine_id", "pattern": "", "value": "prod:vmc-3axis", "kind": "blank", "matched": True},
            {"field": "workflow_mode", "pattern": "", "value": "ai_assisted", "kind": "blank", "matched": True},
            {"field": "geometry_engine", "pattern": "", "value": "shapely", "kind": "blank", "matched": True},
        ]
        assert by_id[1]["specificity"] == {"fields_set": 2, "exact_fields": 1}
        assert (by_id[1]["outcome"], by_id[1]["rank"]) == ("winner", 1)
        assert by_id[2]["outcome"] == "no_match" and by_id[2]["fields"][0]["matched"] is False
        assert "tool_id 'saw:jeweler-0.25' does not match glob 'router:*'" in by_id[2]["summary"]
        assert by_id[3]["outcome"] == "disabled" and by_id[3]["enabled"] is False and by_id[3]["matched"] is True
        assert by_id[3]["rank"] is None

    def test_disabled_and_not_matching_says_both(self):
        [entry] = self.explain(rule(1, "router:*", enabled=False))["rules"]
        assert entry["outcome"] == "no_match" and "disabled" in entry["summary"]

    def test_why_the_winner_beat_each_runner_up(self):
        explanation = self.explain(
            rule(1, "saw:*", priority=10),
            rule(2, "saw:jeweler-0.25", "wood:*", priority=50),
            rule(3, "saw:jeweler-0.25", "wood:ebony", priority=50),
            rule(4, "saw:jeweler-0.25", "wood:ebony", priority=20),
            rule(5, "saw:jeweler-0.25", "wood:ebony", priority=20),
        )
        assert explanation["winner"]["id"] == 4
        beats = {b["id"]: b["reason"] for b in explanation["winner"]["beats"]}
        assert beats == {
            5: "tie with rule #5 'r5' on specificity and priority 20, lower id 4 < 5",
            3: "same specificity as rule #3 'r3', lower priority 20 < 50",
            2: "more specific than rule #2 'r2' (both set 2 fields; 2 exact vs 1)",
            1: "more specific than rule #1 'r1' (2 fields set vs 1)",
        }
        assert [r["id"] for r in explanation["rules"]] == [4, 5, 3, 2, 1]
        assert explanation["summary"] == (
            "rule #4 'r4' wins: tie with rule #5 'r5' on specificity and priority 20, lower id 4 < 5, "
            "and it outranks 3 more matching rules"
        )
        loser = next(r for r in explanation["rules"] if r["id"] == 3)
        assert loser["outcome"] == "outranked" and "rule #4 'r4' wins" in loser["summary"]

    def test_only_match(self):
        explanation = self.explain(rule(1, "saw:*"))
        assert explanation["summary"] == "rule #1 'r1' is the only enabled rule that matches"
        assert explanation["winner"]["beats"] == []
        assert explanation["profile_name"] == "p1" and explanation["rule_id"] == 1

    def test_context_is_echoed(self):
        assert self.explain()["context"] == CONTEXT.as_dict()


def test_hundreds_of_rules_pick_the_winner_a_brute_force_ranking_picks():
    """An independent oracle: rank every matching rule by (fields set, exact fields, priority, id)."""
    from fnmatch import fnmatchcase

    tools = ["saw:*", "saw:jeweler-0.25", "router:*", "laser:*", ""]
    materials = ["wood:*", "wood:ebony", "shell:*", ""]
    rules = [
        rule(i, tools[i % 5], materials[i % 4], "prod:*" if i % 3 else "", priority=i % 7, enabled=i % 11 != 0)
        for i in range(1, 501)
    ]
    values = {
        "tool_pattern": CONTEXT.tool_id,
        "material_pattern": CONTEXT.material_id,
        "machine_pattern": CONTEXT.machine_id,
    }

    def key(r: RuleData):
        patterns = [getattr(r, f) for f in values if getattr(r, f)]
        return (len(patterns), sum(not is_glob(p) for p in patterns), -r.priority, -r.id)

    eligible = [
        r for r in rules if r.enabled and all(fnmatchcase(values[f], getattr(r, f)) for f in values if getattr(r, f))
    ]
    resolution = resolve(CONTEXT, rules)
    assert resolution.explanation["rules_considered"] == 500
    assert resolution.rule_id == max(eligible, key=key).id
