"""profiles.selectors.profile_history_page and the presentation of its entries."""

from __future__ import annotations

import pytest

from engine.profile import BOOL_FIELDS, CONSTRAINT_FIELDS, INT_FIELDS, WIDTH_FIELDS
from profiles import selectors
from profiles.presentation import FIELD_GROUPS, FIELD_SPECS, display_value, history_rows, same_value
from tests.factories import edit_profile, make_profile


def test_every_constraint_field_is_presented_once_in_order():
    assert tuple(FIELD_SPECS) == CONSTRAINT_FIELDS
    assert sorted(f for _, fields in FIELD_GROUPS for f in fields) == sorted(CONSTRAINT_FIELDS)
    assert {f for f, s in FIELD_SPECS.items() if s.kind == "int"} == set(INT_FIELDS)
    assert {f for f, s in FIELD_SPECS.items() if s.kind == "mm"} == set(WIDTH_FIELDS)
    assert {f for f, s in FIELD_SPECS.items() if s.kind == "bool"} == set(BOOL_FIELDS)


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("max_ring_width_mm", 3.0, "3.00 mm"),
        ("max_rings", 6, "6"),
        ("bias_simple", True, "yes"),
        ("palette_key", "", "any catalog material"),
        ("description", "", "(empty)"),
        ("max_rings", None, "—"),
    ],
)
def test_values_read_as_people_say_them(field, value, shown):
    assert display_value(field, value) == shown


def test_same_value_compares_numbers_by_value():
    assert same_value("max_ring_width_mm", "3", 3.0) and not same_value("max_ring_width_mm", "3.01", 3.0)
    assert same_value("bias_simple", False, False) and not same_value("max_rings", "x", 3)


@pytest.mark.django_db
def test_pages_are_newest_first_and_diff_across_the_page_boundary(django_assert_num_queries):
    make_profile("default")
    for rings in (7, 8, 9, 10):
        edit_profile("default", max_rings=rings)
    with django_assert_num_queries(3):  # the profile, a count, the page (+1 older record)
        page = selectors.profile_history_page(name="default", page=2, per_page=2)
    assert (page.page, page.pages, page.total, page.has_previous, page.has_next) == (2, 3, 5, True, True)
    assert [e["version"] for e in page.entries] == [3, 2]
    # The oldest entry on the page is diffed against the record before it, on the next page.
    assert page.entries[-1]["changes"] == [{"field": "max_rings", "before": 6, "after": 7}]
    last = selectors.profile_history_page(name="default", page=9, per_page=2)
    assert last.page == 3 and [e["version"] for e in last.entries] == [1]
    rows = history_rows(last.entries, current_version=5)
    assert rows[0].is_first and rows[0].restorable and rows[0].changes[1].before == ""
    assert not history_rows(selectors.profile_history(name="default", limit=1), current_version=5)[0].restorable
    assert selectors.profile_history_page(name="default").entries == selectors.profile_history(name="default")
