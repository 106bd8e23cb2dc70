from __future__ import annotations

import math
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from profiles import selectors, services
from profiles.models import ChangeType, ConstraintProfile, ResolutionRule
from rmos_site.errors import Conflict, NotFound, ValidationFailed
from tests.factories import make_profile, make_rule, make_user, profile_values

pytestmark = pytest.mark.django_db


def _fields(exc: ValidationFailed) -> dict[str, str]:
    return {e.field: e.rule for e in exc.errors}


def _assert_nothing_written(before_versions: dict[str, int], before_history: int) -> None:
    assert {p.name: p.version for p in ConstraintProfile.objects.all()} == before_versions
    assert ConstraintProfile.history.count() == before_history


class TestProfileValidation:
    @pytest.mark.parametrize(
        "changes, field, rule",
        [
            ({"min_rings": 5, "max_rings": 4}, "max_rings", "min_le_max"),
            (
                {"min_ring_width_mm": Decimal("2.00"), "max_ring_width_mm": Decimal("1.00")},
                "max_ring_width_mm",
                "min_le_max",
            ),
            (
                {"min_total_width_mm": Decimal("9.00"), "max_total_width_mm": Decimal("8.00")},
                "max_total_width_mm",
                "min_le_max",
            ),
            ({"min_rings": 0}, "min_rings", "range"),
            ({"max_rings": 25}, "max_rings", "range"),
            ({"min_rings": -1}, "min_rings", "range"),
            ({"min_ring_width_mm": 0}, "min_ring_width_mm", "range"),
            ({"min_ring_width_mm": -0.5}, "min_ring_width_mm", "range"),
            ({"max_ring_width_mm": 20.01}, "max_ring_width_mm", "range"),
            ({"max_total_width_mm": 60.5}, "max_total_width_mm", "range"),
            ({"min_ring_width_mm": math.nan}, "min_ring_width_mm", "finite"),
            ({"max_total_width_mm": math.inf}, "max_total_width_mm", "finite"),
            ({"max_total_width_mm": -math.inf}, "max_total_width_mm", "finite"),
            ({"min_ring_width_mm": 0.555}, "min_ring_width_mm", "precision"),
            ({"min_rings": 1.5}, "min_rings", "type"),
            ({"min_rings": "three"}, "min_rings", "type"),
            ({"min_rings": True}, "min_rings", "type"),
            ({"allow_mosaic": "yes"}, "allow_mosaic", "type"),
            ({"allow_mosaic": 1}, "allow_mosaic", "type"),
            ({"min_ring_width_mm": "wide"}, "min_ring_width_mm", "type"),
            ({"min_ring_width_mm": None}, "min_ring_width_mm", "type"),
            ({"palette_key": "no_such_palette"}, "palette_key", "unknown_palette"),
            ({"palette_key": 7}, "palette_key", "type"),
            ({"description": "x" * 2001}, "description", "max_length"),
            ({"colour": "red"}, "colour", "unknown_field"),
        ],
    )
    def test_bad_value_is_rejected_and_nothing_is_written(self, changes, field, rule):
        make_profile("default")
        before = ({"default": 1}, ConstraintProfile.history.count())
        with pytest.raises(ValidationFailed) as caught:
            services.profile_update(name="default", changes=changes, note="try a bad value")
        assert _fields(caught.value).get(field) == rule, caught.value.errors
        assert all(e.message for e in caught.value.errors)
        _assert_nothing_written(*before)

    def test_a_profile_that_admits_no_design_is_rejected_with_the_reason(self):
        make_profile("default")
        # 5 rings of at least 3 mm cannot fit in 12 mm.
        with pytest.raises(ValidationFailed) as caught:
            services.profile_update(
                name="default", changes={"min_rings": 5, "min_ring_width_mm": Decimal("3.00")}, note="too wide"
            )
        error = caught.value.errors[0]
        assert (error.field, error.rule) == ("max_total_width_mm", "admits_design")
        assert "5 rings x 3.00 mm = 15.00 mm" in error.message

    def test_the_widest_design_must_reach_the_minimum_total(self):
        with pytest.raises(ValidationFailed) as caught:
            make_profile("narrow", max_rings=2, max_ring_width_mm=Decimal("1.00"), min_total_width_mm=Decimal("3.00"))
        assert (caught.value.errors[0].field, caught.value.errors[0].rule) == ("min_total_width_mm", "admits_design")

    def test_no_ring_count_fitting_the_total_window_is_rejected(self):
        # Rings are exactly 1 mm, total exactly 2.5 mm: no whole number of rings fits.
        with pytest.raises(ValidationFailed) as caught:
            make_profile(
                "gap",
                min_rings=1,
                max_rings=5,
                min_ring_width_mm=Decimal("1.00"),
                max_ring_width_mm=Decimal("1.00"),
                min_total_width_mm=Decimal("2.50"),
                max_total_width_mm=Decimal("2.50"),
            )
        assert caught.value.errors[0].rule == "admits_design"
        assert not ConstraintProfile.objects.exists()

    @pytest.mark.parametrize("name", ["Default", "with space", "-lead", "", "x" * 65, "émile", None, 12])
    def test_a_name_that_is_not_a_slug_is_rejected(self, name):
        with pytest.raises(ValidationFailed) as caught:
            services.profile_create(name=name, values=profile_values(), note="new")
        assert _fields(caught.value)["name"] == "slug"
        assert not ConstraintProfile.objects.exists()

    def test_duplicate_and_reserved_names_are_rejected(self):
        make_profile("default")
        with pytest.raises(ValidationFailed) as caught:
            make_profile("default")
        assert _fields(caught.value)["name"] == "unique"
        with pytest.raises(ValidationFailed) as caught:
            make_profile("list")
        assert _fields(caught.value)["name"] == "reserved"

    @pytest.mark.parametrize("note", ["", "   ", None, 5])
    def test_a_change_note_is_required(self, note):
        make_profile("default")
        with pytest.raises(ValidationFailed) as caught:
            services.profile_update(name="default", changes={"max_rings": 5}, note=note)
        assert _fields(caught.value) == {"note": "required"}
        assert selectors.profile_get(name="default").version == 1

    def test_renaming_is_refused(self):
        make_profile("default")
        with pytest.raises(ValidationFailed) as caught:
            services.profile_update(name="default", changes={"name": "other"}, note="rename")
        assert _fields(caught.value) == {"name": "read_only"}

    def test_unknown_profile_is_not_found(self):
        with pytest.raises(NotFound):
            services.profile_update(name="ghost", changes={"max_rings": 3}, note="x")


class TestDatabaseConstraints:
    """Even a raw write cannot store a contradictory profile."""

    @pytest.mark.parametrize(
        "column, value",
        [
            ("min_rings", 0),
            ("max_rings", 25),
            ("max_rings", 0),  # below min_rings
            ("max_ring_width_mm", Decimal("0.10")),  # below min ring width
            ("min_total_width_mm", Decimal("0")),
            ("max_total_width_mm", Decimal("61")),
            ("max_total_width_mm", Decimal("0.20")),  # narrowest design no longer fits
        ],
    )
    def test_raw_update_violating_a_range_is_refused(self, column, value):
        make_profile("default")
        with pytest.raises(IntegrityError), transaction.atomic():
            ConstraintProfile.objects.filter(name="default").update(**{column: value})


class TestHistory:
    def test_update_journals_user_note_type_operator_and_bumps_version(self):
        user = make_user("olga")
        make_profile("default")
        change = services.profile_update(
            name="default", changes={"max_rings": 8}, note="allow more rings", user=user, operator="bench-2"
        )
        assert change.changed and change.profile.version == 2
        assert change.changes == [{"field": "max_rings", "before": 6, "after": 8}]
        record = ConstraintProfile.history.order_by("-history_id").first()
        assert record.history_user == user
        assert record.history_change_reason == "allow more rings"
        assert record.change_type == ChangeType.CHANGED
        assert record.operator == "bench-2"
        assert record.version == 2
        assert change.history_id == record.history_id

    def test_no_op_save_creates_no_version_and_no_history(self):
        make_profile("default")
        before = ConstraintProfile.history.count()
        change = services.profile_update(
            name="default", changes={"max_rings": 6, "min_ring_width_mm": 0.5}, note="same values"
        )
        assert not change.changed
        assert selectors.profile_get(name="default").version == 1
        assert ConstraintProfile.history.count() == before

    def test_history_lists_newest_first_with_changed_fields(self):
        make_profile("default")
        services.profile_update(name="default", changes={"max_rings": 7}, note="first")
        services.profile_update(name="default", changes={"max_rings": 8, "bias_simple": True}, note="second")
        entries = selectors.profile_history(name="default", limit=2)
        assert [e["note"] for e in entries] == ["second", "first"]
        assert entries[0]["changes"] == [
            {"field": "max_rings", "before": 7, "after": 8},
            {"field": "bias_simple", "before": False, "after": True},
        ]
        # The oldest shown entry is still diffed against its predecessor, not against nothing.
        assert entries[1]["changes"] == [{"field": "max_rings", "before": 6, "after": 7}]

    def test_rollback_restores_exact_values_as_a_new_journaled_version(self):
        make_profile("default")
        first = ConstraintProfile.history.order_by("history_id").first()
        services.profile_update(
            name="default",
            changes={"max_rings": 9, "min_ring_width_mm": Decimal("0.75"), "allow_mosaic": False},
            note="experiment",
        )
        change = services.profile_rollback(name="default", history_id=first.history_id, note="experiment failed")
        profile = selectors.profile_get(name="default")
        assert selectors.profile_values(profile) == {f: getattr(first, f) for f in selectors.profile_values(profile)}
        assert profile.version == 3
        record = ConstraintProfile.history.order_by("-history_id").first()
        assert record.change_type == ChangeType.ROLLBACK
        assert record.rollback_of == first.history_id
        assert record.history_change_reason == f"rollback to version 1 (record #{first.history_id}): experiment failed"
        assert {c["field"] for c in change.changes} == {"max_rings", "min_ring_width_mm", "allow_mosaic"}

    def test_a_rollback_note_of_the_longest_allowed_length_is_kept_whole(self):
        """Seen: the journal's prefix was counted against the limit, so a 1,995-character note
        was refused with "must be at most 2000 characters, got 2030"."""
        make_profile("default")
        first = ConstraintProfile.history.order_by("history_id").first()
        services.profile_update(name="default", changes={"max_rings": 9}, note="experiment")
        note = "x" * services.NOTE_MAX
        services.profile_rollback(name="default", history_id=first.history_id, note=note)
        record = ConstraintProfile.history.order_by("-history_id").first()
        assert record.history_change_reason == f"rollback to version 1 (record #{first.history_id}): {note}"
        with pytest.raises(ValidationFailed) as caught:
            services.profile_rollback(name="default", history_id=first.history_id, note=note + "x")
        assert (
            caught.value.errors[0].field == "note"
            and "at most 2000 characters, got 2001" in caught.value.errors[0].message
        )

    def test_rollback_to_another_profiles_record_is_refused(self):
        make_profile("default")
        other = make_profile("other")
        other_record = other.history.first()
        with pytest.raises(NotFound) as caught:
            services.profile_rollback(name="default", history_id=other_record.history_id, note="wrong one")
        assert "belongs to profile 'other'" in caught.value.detail
        assert selectors.profile_get(name="default").version == 1

    def test_rollback_to_a_missing_record_or_bad_id(self):
        make_profile("default")
        with pytest.raises(NotFound):
            services.profile_rollback(name="default", history_id=99999, note="x")
        with pytest.raises(ValidationFailed):
            services.profile_rollback(name="default", history_id="1", note="x")

    def test_rollback_to_the_current_values_changes_nothing(self):
        make_profile("default")
        record = ConstraintProfile.history.first()
        change = services.profile_rollback(name="default", history_id=record.history_id, note="noop")
        assert not change.changed
        assert ConstraintProfile.history.count() == 1


class TestConcurrencyByVersion:
    def test_stale_version_is_a_conflict_with_the_current_values(self):
        make_profile("default")
        services.profile_update(name="default", changes={"max_rings": 7}, note="first", version=1)
        with pytest.raises(Conflict) as caught:
            services.profile_update(name="default", changes={"max_rings": 9}, note="second", version=1)
        assert caught.value.status == 409
        assert caught.value.extra["current"]["max_rings"] == 7
        assert caught.value.extra["current_version"] == 2
        profile = selectors.profile_get(name="default")
        assert (profile.max_rings, profile.version) == (7, 2)


class TestRules:
    def test_rule_changes_are_validated_and_journaled(self):
        make_profile("default")
        make_profile("saw_profile")
        rule = make_rule("saws", profile="saw_profile", tool_id="saw:*")
        assert (rule.tool_pattern, rule.version) == ("saw:*", 1)
        updated, diff = services.rule_update(name="saws", changes={"priority": 5}, note="saws first")
        assert updated.version == 2 and diff == [{"field": "priority", "before": 100, "after": 5}]
        record = ResolutionRule.history.order_by("-history_id").first()
        assert (record.history_change_reason, record.change_type) == ("saws first", ChangeType.CHANGED)
        services.rule_delete(name="saws", note="not needed")
        assert ResolutionRule.history.order_by("-history_id").first().change_type == ChangeType.DELETED

    @pytest.mark.parametrize(
        "values, field, rule",
        [
            ({"name": "Bad Name"}, "name", "slug"),
            ({"match": {"tool_id": "saw: *"}}, "match.tool_id", "whitespace"),
            ({"match": {"workflow_mode": "freestyle"}}, "match.workflow_mode", "choice"),
            ({"match": {"geometry_engine": "sh*"}}, "match.geometry_engine", "exact_only"),
            # No context can name this engine (resolve and ingestion refuse it): the rule could never match.
            ({"match": {"geometry_engine": "-"}}, "match.geometry_engine", "reserved"),
            ({"match": {"tool_id": "saw:["}}, "match.tool_id", "glob"),  # fnmatch would match a literal '['
            ({"match": {"material_id": "wood:[!]"}}, "match.material_id", "glob"),
            ({"match": {"colour": "red"}}, "match.colour", "unknown_field"),
            ({"profile": "missing"}, "profile", "unknown_profile"),
            ({"priority": "high"}, "priority", "type"),
            ({"enabled": "yes"}, "enabled", "type"),
        ],
    )
    def test_bad_rules_are_rejected(self, values, field, rule):
        make_profile("default")
        base = {
            "name": "r1",
            "match": {"tool_id": "saw:*"},
            "profile": "default",
            "priority": 1,
            "enabled": True,
            "note": "",
        }
        base.update(values)
        with pytest.raises(ValidationFailed) as caught:
            services.rule_create(values=base, note="bad")
        assert _fields(caught.value).get(field) == rule
        assert not ResolutionRule.objects.exists()

    def test_a_profile_targeted_by_rules_cannot_be_deleted(self):
        make_profile("default")
        make_profile("saw_profile")
        make_rule("saws", profile="saw_profile", tool_id="saw:*")
        with pytest.raises(ValidationFailed) as caught:
            services.profile_delete(name="saw_profile", note="cleanup")
        assert _fields(caught.value) == {"name": "in_use"}
        with pytest.raises(ValidationFailed):
            services.profile_delete(name="default", note="cleanup")


class TestControlCharacters:
    """NUL and other control characters are refused everywhere text is stored (PostgreSQL refuses NUL)."""

    def test_profile_text_fields(self):
        make_profile("default")
        for changes, field in (
            ({"description": "a\x00b"}, "description"),
            ({"palette_key": "classic\x07"}, "palette_key"),
        ):
            with pytest.raises(ValidationFailed) as caught:
                services.profile_update(name="default", changes=changes, note="control")
            assert _fields(caught.value).get(field) == "characters"
        # A multi-line description is fine.
        assert services.profile_update(name="default", changes={"description": "line 1\nline 2"}, note="ok").changed

    def test_note_operator_and_rules(self):
        make_profile("default")
        with pytest.raises(ValidationFailed) as caught:
            services.profile_update(name="default", changes={"max_rings": 5}, note="bad\x00note")
        assert _fields(caught.value) == {"note": "characters"}
        with pytest.raises(ValidationFailed) as caught:
            services.profile_update(name="default", changes={"max_rings": 5}, note="ok", operator="op\x1b")
        assert _fields(caught.value) == {"operator": "characters"}
        base = {
            "name": "r1",
            "match": {"tool_id": "saw:\x00"},
            "profile": "default",
            "priority": 1,
            "enabled": True,
            "note": "",
        }
        with pytest.raises(ValidationFailed) as caught:
            services.rule_create(values=base, note="x")
        assert _fields(caught.value) == {"match.tool_id": "characters"}


def test_a_rule_saved_with_a_literal_bracket_stays_editable():
    """Seen in review: a rule whose pattern matched an id with a '[' (saved before globs were
    checked) could no longer be changed at all, not even disabled."""
    make_profile("default")
    rule = make_rule("legacy", profile="default", tool_id="saw:*")
    ResolutionRule.objects.filter(pk=rule.pk).update(tool_pattern="saw:[legacy")  # as an older version stored it
    updated, _ = services.rule_update(name="legacy", changes={"enabled": False}, note="retire it")
    assert (updated.enabled, updated.tool_pattern) == (False, "saw:[legacy")
    with pytest.raises(ValidationFailed) as caught:  # a new such pattern is still refused
        services.rule_update(name="legacy", changes={"match": {"tool_id": "saw:[other"}}, note="x")
    assert "a literal '[' as [[]" in caught.value.errors[0].message
