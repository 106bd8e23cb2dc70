"""engine.diff: each change in words and marks, one case per kind."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.diff import MARKS, diff_summary, semantic_diff
from engine.profile import DEFAULTS

BASE = {**DEFAULTS, "min_rings": 3, "max_rings": 10, "palette_key": "classic_bw"}


def kinds(after: dict) -> dict[str, str]:
    return {item["field"]: item["kind"] for item in semantic_diff(BASE, after)}


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"max_rings": 8}, {"max_rings": "tightened"}),
        ({"max_rings": 12}, {"max_rings": "widened"}),
        ({"min_rings": 4}, {"min_rings": "tightened"}),
        ({"min_rings": 1}, {"min_rings": "widened"}),
        ({"min_rings": 4, "max_rings": 12}, {"min_rings": "moved", "max_rings": "moved"}),
        ({"min_rings": 2, "max_rings": 8}, {"min_rings": "moved", "max_rings": "moved"}),
        ({"min_rings": 4, "max_rings": 8}, {"min_rings": "tightened", "max_rings": "tightened"}),
        ({"min_ring_width_mm": Decimal("0.75")}, {"min_ring_width_mm": "tightened"}),
        ({"max_total_width_mm": 14.5}, {"max_total_width_mm": "widened"}),
        ({"allow_mosaic": False}, {"allow_mosaic": "off"}),
        ({"bias_simple": True}, {"bias_simple": "on"}),
        ({"palette_key": "warm_woods"}, {"palette_key": "changed"}),
        ({"description": "new words"}, {"description": "changed"}),
    ],
)
def test_each_change_has_its_kind(change, expected):
    assert kinds(change) == expected


def test_items_say_it_in_words_and_marks_and_keep_the_plain_diff():
    items = semantic_diff(BASE, {"max_rings": 8, "allow_mosaic": False, "palette_key": ""})
    by_field = {item["field"]: item for item in items}
    assert [item["field"] for item in items] == ["max_rings", "allow_mosaic", "palette_key"]  # canonical order
    assert by_field["max_rings"] == {
        "field": "max_rings",
        "before": 10,
        "after": 8,
        "kind": "tightened",
        "mark": MARKS["tightened"],
        "words": "maximum ring count lowered (10 → 8): tightened, allows less",
    }
    assert by_field["allow_mosaic"]["words"] == "mosaic rings no longer allowed"
    assert by_field["palette_key"]["words"] == "palette changed from 'classic_bw' to any catalog material"


def test_widths_compare_as_numbers_and_come_out_json_ready():
    # 3 and "3.00" and Decimal("3.0") are one value: no change; 3.5 mm is shown with two places.
    assert semantic_diff(BASE, {"max_ring_width_mm": "3.00", "min_rings": "3"}) == []
    (item,) = semantic_diff(BASE, {"max_ring_width_mm": 3.5})
    assert item["before"] == 3.0 and item["after"] == 3.5 and isinstance(item["after"], float)
    assert "3.00 mm → 3.50 mm" in item["words"]


def test_a_partial_proposal_keeps_the_other_values():
    assert semantic_diff(BASE, {}) == []
    assert [i["field"] for i in semantic_diff(BASE, {"bias_simple": True})] == ["bias_simple"]


def test_summary_counts_bounds_and_names_flags():
    items = semantic_diff(BASE, {"min_rings": 4, "max_rings": 9, "max_total_width_mm": 14, "allow_segmented": False})
    assert diff_summary(items) == "tightens 2 bounds; widens 1 bound; segmented rings off"
    assert diff_summary([]) == "no change"
