"""Dashboard row 2: performance analytics per context and the hotspots, behind the ``stats_`` prefix."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest

from dashboard.panels.analytics import parse_sort, sort_rows
from rmos_site.errors import ValidationFailed
from tests.factories import T0, log_runs, run_item

pytestmark = pytest.mark.django_db

DASHBOARD = "/rmos/ai-ops/"
EBONY = {"tool_id": "saw:jeweler-0.25", "material_id": "wood:ebony", "machine_id": "prod:vmc-3axis"}  # engine shapely
MAPLE = {
    "tool_id": "saw:slitting-0.5",
    "material_id": "wood:maple-hard",
    "machine_id": "prod:vmc-3axis",
    "geometry_engine": "",
}
HOLLY = {
    "tool_id": "laser:co2-40w",
    "material_id": "wood:holly",
    "machine_id": "prod:laser-cell",
    "geometry_engine": "",
}
FAIL = {"success": False, "scores": [(30.0, "RED"), (45.0, "RED")]}


def get(client, query: str = "", status: int = 200) -> str:
    response = client.get(DASHBOARD + (f"?{query}" if query else ""))
    assert response.status_code == status, response.content.decode()[:800]
    return html_lib.unescape(response.content.decode())


def stats(html: str) -> str:
    return html[html.index('id="analytics"') : html.index('id="hotspots"')]


def hotspots(html: str) -> str:
    return html[html.index('id="hotspots"') : html.index('id="profile-editor"')]


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="stats-row[^"]*".*?</tr>', stats(html), re.S)


def tools(html: str) -> list[str]:
    return [re.search(r'ctx-tool_id">([^<]+)<', r).group(1) for r in rows(html)]


@pytest.fixture
def three_contexts(default_profile):
    """EBONY: 2 of 3 runs succeed; MAPLE: 1 of 6; HOLLY: 1 of 1 (4 attempts per run for the others: 2)."""
    at = iter(T0 + timedelta(minutes=i) for i in range(100))
    log_runs(
        *[run_item(at=next(at), **EBONY) for _ in range(2)],
        run_item(at=next(at), **EBONY, **FAIL),
        run_item(at=next(at), **MAPLE),
        *[run_item(at=next(at), **MAPLE, **FAIL) for _ in range(5)],
        run_item(at=next(at), attempts=4, **HOLLY),
    )


def test_each_context_has_its_numbers_as_the_api_defines_them(viewer_client, three_contexts):
    html = get(viewer_client)
    assert tools(html) == ["saw:slitting-0.5", "saw:jeweler-0.25", "laser:co2-40w"]  # most runs first
    maple, ebony, holly = rows(html)
    assert '<td class="num">6</td>' in maple
    assert '<span class="rate">17%</span>' in maple and '<span class="ci">3–56%</span>' in maple  # Wilson, 1 of 6
    assert '<span class="rate">67%</span>' in ebony and '<span class="ci">21–94%</span>' in ebony  # 2 of 3
    assert '<span class="ci">21–100%</span>' in holly  # 1 of 1: a wide interval, not 100% ± 0
    assert '<td class="num">2.0</td>' in maple and '<td class="num">4.0</td>' in holly  # average attempts per run
    assert '<td class="num">90.0</td>' in maple  # average selected score of the successful runs (1 of 6)
    # The risk mix is a bar over the attempts, with its numbers in its name and tooltips.
    assert "12 attempts: 1 green (8%), 0 yellow (0%), 11 red (92%)" in maple
    assert ">ctx-extra" not in maple and '<span class="ctx-extra">shapely</span>' in ebony
    assert '<span class="profile-seen" title="6 runs">default v1</span>' in maple
    assert "45 contexts" not in stats(html) and "3 contexts, sorted by runs, highest first." in stats(html)


def test_a_row_selects_its_context_and_the_selected_row_is_marked(viewer_client, three_contexts):
    ebony = rows(get(viewer_client))[1]
    select = (
        "/rmos/ai-ops/?tool_id=saw%3Ajeweler-0.25&material_id=wood%3Aebony&machine_id=prod%3Avmc-3axis"
        "&geometry_engine=shapely#snapshot-inspector"
    )
    assert f'<a class="select-link" href="{select}"' in ebony
    # With auto-load off the inspector will not follow, so the click keeps the reader at the analytics.
    kept = rows(get(viewer_client, "autoload=off"))[1]
    assert f'<a class="select-link" href="{select.replace("#snapshot-inspector", "&autoload=off#analytics")}"' in kept
    selected = rows(
        get(
            viewer_client,
            "tool_id=saw:jeweler-0.25&material_id=wood:ebony&machine_id=prod:vmc-3axis&geometry_engine=shapely",
        )
    )
    assert ["is-selected" in r for r in selected] == [False, True, False]
    # A selection made elsewhere with a workflow mode still marks the analytics row (not part of its context).
    assert [
        "is-selected" in r
        for r in rows(
            get(
                viewer_client,
                "tool_id=laser:co2-40w&material_id=wood:holly&machine_id=prod:laser-cell&workflow_mode=ai_assisted",
            )
        )
    ] == [False, False, True]


@pytest.mark.parametrize(
    ("sort", "order", "aria"),
    [
        ("success_rate", ["saw:slitting-0.5", "saw:jeweler-0.25", "laser:co2-40w"], ("Success", "ascending")),
        ("-success_rate", ["laser:co2-40w", "saw:jeweler-0.25", "saw:slitting-0.5"], ("Success", "descending")),
        ("-avg_attempts", ["laser:co2-40w", "saw:slitting-0.5", "saw:jeweler-0.25"], ("Attempts", "descending")),
        ("context", ["laser:co2-40w", "saw:jeweler-0.25", "saw:slitting-0.5"], ("Context", "ascending")),
        ("-last_run", ["laser:co2-40w", "saw:slitting-0.5", "saw:jeweler-0.25"], ("Last run", "descending")),
    ],
)
def test_columns_sort_on_the_server(viewer_client, three_contexts, sort, order, aria):
    html = get(viewer_client, f"stats_sort={sort}")
    assert tools(html) == order
    label, direction = aria
    header = re.search(
        rf'<th scope="col"[^>]*aria-sort="(\w+)">\s*<a class="sort-link" href="[^"]*" title="[^"]*">{label}<',
        stats(html),
    )
    assert header and header.group(1) == direction


def test_a_header_sorts_the_interesting_end_first_then_toggles(viewer_client, three_contexts):
    table = stats(get(viewer_client, "profile=default"))
    links = {
        label: href for href, label in re.findall(r'<a class="sort-link" href="([^"]+)" title="[^"]*">([\w ]+)<', table)
    }
    assert links["Success"] == "/rmos/ai-ops/?profile=default&stats_sort=success_rate#analytics"  # lowest first
    assert links["Runs"] == "/rmos/ai-ops/?profile=default&stats_sort=runs#analytics"  # sorted by it: toggle
    assert links["Risk mix"] == "/rmos/ai-ops/?profile=default&stats_sort=-red_share#analytics"
    table = stats(get(viewer_client, "stats_sort=runs"))
    assert 'href="/rmos/ai-ops/#analytics" title="sort descending">Runs' in table  # back to the default: no parameter


def test_rows_without_a_value_sort_last_either_way():
    with_runs = {
        "tool_id": "a",
        "material_id": "",
        "machine_id": "",
        "geometry_engine": "",
        "runs": 2,
        "attempts": 4,
        "success_rate": 0.5,
    }
    without = {**with_runs, "tool_id": "b", "runs": 0, "success_rate": None}
    column, descending = parse_sort("success_rate")
    assert [r["tool_id"] for r in sort_rows([without, with_runs], column, descending)] == ["a", "b"]
    column, descending = parse_sort("-success_rate")
    assert [r["tool_id"] for r in sort_rows([without, with_runs], column, descending)] == ["a", "b"]
    for bad in ("colour", "--runs", "runs-"):
        with pytest.raises(ValidationFailed):
            parse_sort(bad)


def test_filters_and_windows_go_through_the_analytics_api_parser(viewer_client, three_contexts):
    assert tools(get(viewer_client, "stats_tool_id=saw:jeweler-0.25")) == ["saw:jeweler-0.25"]
    assert tools(get(viewer_client, "stats_material_id=wood:holly&stats_sort=context")) == ["laser:co2-40w"]
    # The newest 2 runs only: the holly run and the last maple run.
    windowed = rows(get(viewer_client, "stats_max_runs=2"))
    assert len(windowed) == 2  # those runs and their attempts: one row describes one set of runs
    api = viewer_client.get("/api/rmos/ai/analytics/profile-stats?max_runs=2").json()
    assert sorted(r["runs"] for r in api["results"]) == [1, 1]
    assert sorted(int(re.search(r'<td class="num">(\d+)</td>', r).group(1)) for r in windowed) == [1, 1]
    table = stats(get(viewer_client, "stats_max_runs=2"))
    assert '<details class="filters" open>' in table and 'name="stats_max_runs" value="2"' in table


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("stats_since=last-week", "since", "'last-week' is not an ISO 8601 date"),
        ("stats_max_runs=0", "max_runs", "Must be from 1 to 100,000, got 0"),
        ("stats_max_attempts=lots", "max_attempts", "Must be a whole number"),
        ("stats_workflow_mode=fast", "workflow_mode", "Must be one of constraint_first, ai_assisted, design_first"),
    ],
)
def test_a_bad_value_is_shown_next_to_its_field_with_a_400(viewer_client, three_contexts, query, field, message):
    html = get(viewer_client, query, status=400)
    match = re.search(rf'<ul class="errorlist" id="stats_{field}_error"><li>(.*?)</li>', html)
    assert match and message in match.group(1)
    assert rows(html) == [] and "Nothing computed" in stats(html)
    assert "Fix the parameters in the analytics panel." in hotspots(html)
    assert 'id="log-viewer"' in html  # the rest of the page is there


def test_a_bad_filter_and_a_bad_window_are_both_reported_at_once(viewer_client, three_contexts):
    html = get(viewer_client, "stats_since=last-week&stats_max_runs=0", status=400)
    assert "is not an ISO 8601 date" in re.search(r'id="stats_since_error"><li>(.*?)</li>', html).group(1)
    assert re.search(r'id="stats_max_runs_error"><li>(.*?)</li>', html).group(1) == "Must be from 1 to 100,000, got 0"


def test_outcome_filters_unknown_parameters_and_bad_sorts_are_explained(viewer_client, three_contexts):
    # (in the canonical order: the panel's names first, then the others alphabetically)
    table = stats(
        get(viewer_client, "stats_sort=colour&stats_colour=red&stats_limit=5&stats_risk_bucket=RED", status=400)
    )
    assert (
        "stats_risk_bucket: analytics reports outcomes (success rate, risk mix), so it cannot be filtered by risk_bucket"
        in table
    )
    assert "stats_limit: not a parameter of the analytics" in table
    assert "stats_colour: not a parameter of the analytics" in table
    assert (
        "stats_sort: sort by one of context, runs, success_rate, avg_attempts, avg_selected_score, red_share, last_run"
        in table
    )


def test_hotspots_rank_contexts_with_enough_runs_and_say_why(viewer_client, three_contexts):
    spots = hotspots(get(viewer_client))
    items = re.findall(r'<li class="hotspot .*?</li>\s*</ul>', spots, re.S)
    assert len(items) == 1  # only MAPLE has 5 or more runs
    assert "hotspot-high" in items[0] or "hotspot-medium" in items[0]
    assert "success 17% (95% interval 3–56%) over 6 runs" in items[0]
    # Per run: the success's 1 RED of 2, each failure's 2 of 2 -> (0.5 + 5) / 6.
    assert "RED share 92% of a run's attempts on average (95% interval 70–100%) over 6 runs" in items[0]
    assert "most failures: budget exhausted (5 of 5)" in items[0]
    select = "/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis#snapshot-inspector"
    assert f'<a class="select-link" href="{select}"' in items[0]
    assert "1 context considered" in spots
    # Filtered like the analytics beside them.
    assert "No context has 5 or more runs with these filters." in hotspots(
        get(viewer_client, "stats_tool_id=laser:co2-40w")
    )


def test_empty_states(viewer_client, default_profile):
    html = get(viewer_client)
    assert "No runs yet" in stats(html) and "No context has 5 or more runs yet." in hotspots(html)
    log_runs(run_item(at=T0, **EBONY))
    html = get(viewer_client, "stats_tool_id=laser:none")
    assert "No runs match these filters" in stats(html)


def test_the_filter_form_keeps_the_rest_of_the_state_and_the_sort(viewer_client, three_contexts):
    table = stats(
        get(viewer_client, "profile=default&log=runs&log_tool_id=x&stats_since=2025-06-01&stats_sort=context")
    )
    form = table[table.index('<form method="get"') : table.index("</form>")]
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    assert hidden == [("profile", "default"), ("log", "runs"), ("log_tool_id", "x"), ("stats_sort", "context")]
    assert (
        '<a class="button button-quiet" href="/rmos/ai-ops/?profile=default&log=runs&log_tool_id=x&stats_sort=context#analytics">Clear all</a>'
        in table
    )


def test_sorted_by_runs_the_table_is_the_selectors_own_order(viewer_client, default_profile):
    """The default sort asks the selector for the first rows only: ties must break the same way."""
    from ailog.filters import LogFilter
    from analytics.selectors import profile_stats

    at = iter(T0 + timedelta(minutes=i) for i in range(300))
    log_runs(
        *[run_item(at=next(at), attempts=1 + i % 3, **{**EBONY, "material_id": f"wood:m{i % 7}"}) for i in range(40)]
    )
    expected = [r["material_id"] for r in profile_stats(filters=LogFilter(), limit=1000)["results"]]
    column, descending = parse_sort(None)
    assert [
        r["material_id"]
        for r in sort_rows(profile_stats(filters=LogFilter(), limit=1000)["results"], column, descending)
    ] == expected
    html = get(viewer_client)
    assert re.findall(r'ctx-material_id">([^<]+)<', stats(html)) == expected


def test_the_panel_reads_aggregates_with_a_fixed_number_of_queries(
    viewer_client, default_profile, django_assert_max_num_queries
):
    at = iter(T0 + timedelta(minutes=i) for i in range(300))
    contexts = [{**EBONY, "material_id": f"wood:m{i}"} for i in range(30)]
    log_runs(*[run_item(at=next(at), **c) for c in contexts for _ in range(5)])
    with django_assert_max_num_queries(
        20
    ):  # 12 + the regression watch (refresh 3, open alerts 1) + requests awaiting you 1 + the overview 3
        html = get(viewer_client)
    assert len(rows(html)) == 30 and "30 contexts" in stats(html)


def test_contexts_the_evidence_finds_no_problem_with_are_not_hotspots(viewer_client, default_profile):
    at = iter(T0 + timedelta(minutes=i) for i in range(100))
    log_runs(*[run_item(at=next(at), scores=[(90.0, "GREEN")], **HOLLY) for _ in range(6)])
    spots = hotspots(get(viewer_client))
    assert '<li class="hotspot ' not in spots
    assert "No context with 5 or more runs shows a problem the evidence supports." in spots


def test_the_panel_takes_no_format_parameter(viewer_client, db):
    """The analytics API takes DRF's ?format=json; the dashboard panel has no such parameter."""
    response = viewer_client.get("/rmos/ai-ops/?stats_format=csv")
    assert response.status_code == 400
    assert "format" in response.content.decode()


def test_a_score_beside_no_success_says_what_it_is(viewer_client, default_profile):
    at = iter(T0 + timedelta(minutes=i) for i in range(10))
    log_runs(*[run_item(at=next(at), success=False, scores=[(70.0, "RED"), (88.5, "RED")], **EBONY) for _ in range(3)])
    table = stats(get(viewer_client))
    assert "no run succeeded; failed runs' best 88.5 on average" in table
    assert 'title="average selected score of the successful runs; sort' in get(viewer_client)
