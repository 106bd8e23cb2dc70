"""The dashboard's URL state: parsing, canonical URLs, selection and auto-load semantics."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.template import Context, Template

from dashboard.url_state import DashboardState, Selection, parse


def state_of(url: str) -> DashboardState:
    state, problems = parse(parse_qs(urlsplit(url).query))
    assert problems == []
    return state


def test_no_parameters_is_the_default_state():
    state, problems = parse({})
    assert problems == []
    assert state == DashboardState()
    assert state.autoload and state.selection.is_empty and state.inspector_context.is_empty
    assert state.url() == "/rmos/ai-ops/"


def test_a_full_state_round_trips_through_its_url():
    query = QueryDict(
        "tool_id=saw:fine-0.5&material_id=wood:maple-hard&machine_id=cnc/2&workflow_mode=ai_assisted"
        "&geometry_engine=shapely&autoload=off&snap_tool_id=laser:1&profile=maple_contrast"
    )
    state, problems = parse(query)
    assert problems == []
    assert state.selection == Selection("saw:fine-0.5", "wood:maple-hard", "cnc/2", "ai_assisted", "shapely")
    assert state.pinned == Selection(tool_id="laser:1")
    assert (state.autoload, state.profile) == (False, "maple_contrast")
    assert state_of(state.url()) == state


def test_urls_are_canonical_defaults_left_out_and_values_encoded():
    state = DashboardState(selection=Selection(tool_id="a&b=c", machine_id="m 1"), profile="p")
    assert state.url() == "/rmos/ai-ops/?tool_id=a%26b%3Dc&machine_id=m+1&profile=p"
    assert state.url(fragment="profile-editor").endswith("&profile=p#profile-editor")
    assert DashboardState(autoload=True).query_items() == []


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"tool_id": "x" * 129}, "tool_id: ignored, longer than 128 characters"),
        ({"material_id": "wood maple"}, "material_id: ignored, ids cannot contain spaces or control characters"),
        ({"machine_id": "cnc\x01"}, "machine_id: ignored, ids cannot contain spaces or control characters"),
        (
            {"workflow_mode": "fast"},
            "workflow_mode: ignored, 'fast' is not one of constraint_first, ai_assisted, design_first",
        ),
        ({"autoload": "maybe"}, "autoload: ignored 'maybe', use on or off"),
        ({"profile": "Not A Slug"}, "profile: ignored 'Not A Slug', not a profile name"),
        (
            {"autoload": "off", "snap_workflow_mode": "x"},
            "snap_workflow_mode: ignored, 'x' is not one of constraint_first, ai_assisted, design_first",
        ),
    ],
)
def test_invalid_values_are_dropped_with_a_reason(query, problem):
    state, problems = parse(query)
    assert [str(p) for p in problems] == [problem]
    assert state.selection.is_empty and state.pinned.is_empty and state.profile == ""


def test_values_are_trimmed_and_the_last_repeat_wins():
    state, problems = parse({"tool_id": ["saw:a", "  saw:b  "], "autoload": "OFF"})
    assert problems == []
    assert state.selection.tool_id == "saw:b" and state.autoload is False


def test_pinned_context_is_ignored_while_autoload_is_on():
    state = state_of("/?tool_id=a&snap_tool_id=b")
    assert state.pinned.is_empty and state.inspector_context.tool_id == "a"
    assert "snap_tool_id" not in state.url()


def test_selecting_a_row_sets_exactly_its_context_and_keeps_the_rest():
    state = DashboardState(selection=Selection(tool_id="old", geometry_engine="ml"), profile="p")
    chosen = state.select(tool_id="saw:1", material_id="wood:ebony", machine_id="cnc:1")
    assert chosen.selection == Selection("saw:1", "wood:ebony", "cnc:1")
    assert chosen.profile == "p" and chosen.autoload
    assert chosen.inspector_context == chosen.selection
    assert state.select().selection.is_empty
    with pytest.raises(TypeError):
        state.select(colour="red")


def test_with_autoload_off_a_new_selection_leaves_the_inspector_where_it_was():
    showing = DashboardState().select(tool_id="saw:1")
    off = showing.with_autoload(False)
    assert off.pinned == Selection(tool_id="saw:1")  # it keeps showing what it showed
    moved = off.select(tool_id="laser:2")
    assert moved.selection.tool_id == "laser:2"
    assert moved.inspector_context == Selection(tool_id="saw:1")
    assert moved.with_autoload(False) == moved
    back_on = moved.with_autoload(True)
    assert back_on.pinned.is_empty and back_on.inspector_context == Selection(tool_id="laser:2")


def test_loading_by_hand_follows_the_autoload_switch():
    on = DashboardState().inspect(tool_id="saw:1")
    assert on.selection.tool_id == "saw:1"
    off = DashboardState(autoload=False).select(tool_id="laser:2").inspect(tool_id="saw:1")
    assert off.selection.tool_id == "laser:2" and off.inspector_context.tool_id == "saw:1"


def test_template_tags_build_links_and_hidden_inputs():
    state = DashboardState(selection=Selection(tool_id="saw:1"), profile="p")
    rendered = Template(
        "{% load rmos %}"
        "{% select_url state tool_id='laser:2' material_id='m' fragment='x' %}|"
        "{% state_url state autoload='off' %}|"
        "{% state_url state profile='q' %}|"
        "{% select_url state %}|"
        "{% state_inputs state exclude='profile' %}|"
        "{{ value|field_value:'max_ring_width_mm' }}"
    ).render(Context({"state": state, "value": 2.5}))
    parts = rendered.split("|")
    assert parts[0] == "/rmos/ai-ops/?tool_id=laser%3A2&amp;material_id=m&amp;profile=p#x"
    assert parts[1] == "/rmos/ai-ops/?tool_id=saw%3A1&amp;autoload=off&amp;snap_tool_id=saw%3A1&amp;profile=p"
    assert parts[2] == "/rmos/ai-ops/?tool_id=saw%3A1&amp;profile=q"
    assert parts[3] == "/rmos/ai-ops/?profile=p"
    assert parts[4] == '<input type="hidden" name="tool_id" value="saw:1">'
    assert parts[5] == "2.50 mm"


def test_sample_size_and_seed_live_in_the_url_and_defaults_are_left_out():
    state = state_of("/?tool_id=a&n_samples=2000&seed=42&profile=p")
    assert (state.n_samples, state.seed) == (2000, 42)
    assert state.url() == "/rmos/ai-ops/?tool_id=a&n_samples=2000&seed=42&profile=p"
    assert state_of("/?n_samples=500&seed=1").url() == "/rmos/ai-ops/"
    # Selecting, loading by hand and switching auto-load keep them.
    assert state.select(tool_id="b").n_samples == 2000
    assert state.with_autoload(False).seed == 42
    assert state.with_sampling(seed=7).url() == "/rmos/ai-ops/?tool_id=a&n_samples=2000&seed=7&profile=p"


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"n_samples": "3"}, "n_samples: ignored '3', use a whole number from 5 to 10000"),
        ({"n_samples": "10001"}, "n_samples: ignored '10001', use a whole number from 5 to 10000"),
        ({"n_samples": "1e3"}, "n_samples: ignored '1e3', use a whole number from 5 to 10000"),
        ({"seed": "-1"}, "seed: ignored '-1', use a whole number from 0 to 9223372036854775807"),
        ({"seed": str(2**63)}, f"seed: ignored '{2**63}', use a whole number from 0 to 9223372036854775807"),
    ],
)
def test_bad_sampling_parameters_fall_back_to_the_defaults(query, problem):
    state, problems = parse(query)
    assert [str(p) for p in problems] == [problem]
    assert problems[0].key in query
    assert (state.n_samples, state.seed) == (500, 1)


def test_the_inspector_prefix_follows_autoload():
    assert DashboardState().inspector_prefix == ""
    assert DashboardState(autoload=False).inspector_prefix == "snap_"


def test_canonical_url_rewrites_only_what_says_the_same_in_other_words():
    from dashboard.url_state import canonical_url

    def check(query: str):
        data = QueryDict(query)
        return canonical_url(data, parse(data)[0])

    assert check("tool_id=a&profile=p") is None  # already canonical
    assert check("") is None
    assert check("profile=p&tool_id=a&workflow_mode=&n_samples=500&seed=1") == "/rmos/ai-ops/?tool_id=a&profile=p"
    assert check("tool_id=a&tool_id=b") == "/rmos/ai-ops/?tool_id=b"
    assert check("tool_id=a&autoload=on&snap_tool_id=b") == "/rmos/ai-ops/?tool_id=a"
    assert check("tool_id=a&page=2") is None  # not ours: left alone


# -- the log viewer's and the analytics' parameters ----------------------------------------------


def test_panel_parameters_round_trip_in_canonical_order():
    state, problems = parse(
        QueryDict("stats_sort=-runs&log_until=2025-07-01&log=runs&log_tool_id=saw:x&stats_max_runs=50&log_zz=1")
    )
    assert problems == []
    assert state.log_tab == "runs"
    assert state.log_query == (("tool_id", "saw:x"), ("until", "2025-07-01"), ("zz", "1"))  # API names; unknown last
    assert state.stats_query == (("max_runs", "50"), ("sort", "-runs"))
    assert (
        state.url()
        == "/rmos/ai-ops/?log=runs&log_tool_id=saw%3Ax&log_until=2025-07-01&log_zz=1&stats_max_runs=50&stats_sort=-runs"
    )
    assert state_of(state.url()) == state


def test_selecting_a_row_keeps_the_log_page_and_the_analytics_view():
    state = state_of("/rmos/ai-ops/?log=runs&log_cursor=abc&stats_sort=context")
    chosen = state.select(tool_id="saw:x", material_id="m", machine_id="c")
    assert (
        chosen.url()
        == "/rmos/ai-ops/?tool_id=saw%3Ax&material_id=m&machine_id=c&log=runs&log_cursor=abc&stats_sort=context"
    )


def test_with_log_and_with_stats_replace_only_their_panel():
    state = state_of("/rmos/ai-ops/?profile=p&log_tool_id=a&stats_tool_id=b")
    assert state.with_log(tab="runs", query={"reason": "timeout", "tool_id": ""}).url() == (
        "/rmos/ai-ops/?profile=p&log=runs&log_reason=timeout&stats_tool_id=b"
    )
    assert state.with_stats({}).url() == "/rmos/ai-ops/?profile=p&log_tool_id=a"
    with pytest.raises(ValueError):
        state.with_log(tab="events")


def test_a_bad_log_tab_is_dropped_with_a_reason_and_an_overlong_filter_kept_cut_for_the_panel_to_refuse():
    # Dropping the filter showed every row under a notice; the panel's parser refuses it by name.
    state, problems = parse({"log": "events", "log_tool_id": "x" * 5000, "log_success": "true" + " " * 300 + "x"})
    assert state.log_tab == "attempts"
    # Cut with a mark, so no cut leaves a valid value behind ("true" and spaces would have been).
    assert dict(state.log_query) == {"tool_id": "x" * 200 + "…", "success": "true" + " " * 196 + "…"}
    assert [str(p) for p in problems] == ["log: ignored 'events', use attempts or runs"]


def test_a_submitted_panel_form_has_one_canonical_url():
    from dashboard.url_state import canonical_url

    query = QueryDict("log=attempts&log_tool_id=&log_material_id=wood:x&stats_sort=")
    state, _ = parse(query)
    assert canonical_url(query, state) == "/rmos/ai-ops/?log_material_id=wood%3Ax"
    assert canonical_url(QueryDict("log_material_id=wood:x"), state) is None  # already canonical
