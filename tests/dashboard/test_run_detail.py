"""The run page: one run, its context, profile, resolution, budget, outcome and every attempt."""

from __future__ import annotations

import html as html_lib
import re
import uuid

import pytest

from ailog import services as log_services
from dashboard import charts
from profiles.models import ResolutionRule
from tests.factories import T0, attempt_event, candidate, log_runs, make_user, new_run_id, run_item

pytestmark = pytest.mark.django_db


def get(client, run_id, status: int = 200) -> str:
    response = client.get(f"/rmos/runs/{run_id}/")
    assert response.status_code == status, response.content.decode()[:800]
    return html_lib.unescape(response.content.decode())


@pytest.fixture
def run(default_profile):
    item = run_item(
        at=T0,
        scores=[(35.0, "RED"), (62.5, "YELLOW"), (91.0, "GREEN")],
        profile_version=1,
        rule_id=None,
        fallback_used=True,
        max_attempts=20,
        seed=42,
        selected_attempt_index=3,
        selected_candidate=candidate(rings=3, width=1.25),
        warnings=["tool 'saw:jeweler-0.25' is not in the catalog; defaults used"],
    )
    item["attempt_records"][1]["warnings"] = ["min_feature is YELLOW (62.5)"]
    log_runs(item)
    return item


def test_the_run_page_shows_everything_about_the_run(viewer_client, run):
    html = get(viewer_client, run["run_id"])
    assert f'<code class="run-id">{run["run_id"]}</code>' in html
    assert "succeeded: green found" in html and "ended <time" in html
    # Context, profile with its version (linking the version's row on the profile page), resolution, budget.
    assert "<dt>Tool</dt><dd><code>saw:jeweler-0.25</code></dd>" in html
    assert '<dt>Profile</dt><dd><a href="/rmos/profiles/default/#version-1">default v1</a>' in html
    assert "<dt>Resolved by</dt><dd>fallback <span" in html and "no rule matched" in html
    assert (
        "<dt>Max attempts</dt><dd>20</dd>" in html
        and '<dt>Seed</dt><dd><span class="fact-nowrap">42</span></dd>' in html
    )
    assert '<dt>Selected risk</dt><dd><span class="bucket bucket-green">GREEN</span>' in html
    assert '<dt>Selected attempt</dt><dd><a href="#attempt-3">#3</a>' in html
    assert "is not in the catalog; defaults used" in html
    # The selected candidate as a rosette, and the scores over the attempts.
    assert 'aria-labelledby="selected-rosette-title selected-rosette-desc"' in html and "3 rings, 3.75 mm" in html
    assert "3 attempts, scores 35.0 to 91.0; 1 GREEN, 1 YELLOW, 1 RED; the run selected attempt 3 (91.0)." in html
    # Every attempt, the selected one marked.
    attempts = re.findall(r'<tr id="attempt-(\d)" class="([^"]*)">(.*?)</tr>', html, re.S)
    assert [(i, cls) for i, cls, _ in attempts] == [("1", ""), ("2", ""), ("3", "is-selected")]
    assert '<td class="num">62.5</td>' in attempts[1][2] and "bucket-yellow" in attempts[1][2]
    assert "1 warning</summary><ul><li>min_feature is YELLOW (62.5)</li>" in attempts[1][2]
    assert '<span class="tag tag-winner">selected</span>' in attempts[2][2]
    assert "+2.00 s" in attempts[2][2] and "1.50 mm solid wood:ebony; 1.50 mm solid wood:ebony" in attempts[2][2]
    # Links back: select the context on the dashboard, this run in the log viewer, its runs, the API.
    assert (
        'href="/rmos/ai-ops/?tool_id=saw%3Ajeweler-0.25&material_id=wood%3Aebony&machine_id=prod%3Avmc-3axis&geometry_engine=shapely#snapshot-inspector"'
        in html
    )
    assert f'href="/rmos/ai-ops/?log_run_id={run["run_id"]}#log-viewer"' in html
    assert f'href="/api/rmos/logs/ai/runs/{run["run_id"]}"' in html


def test_runs_of_this_context_are_exactly_its_context(viewer_client, default_profile):
    """Seen in review: for a run without a geometry engine, "Runs of this context" also listed
    the same ids' runs with an engine (35 runs where the analytics table counted 18)."""
    item = run_item(at=T0, geometry_engine="")
    log_runs(item, run_item(at=T0, geometry_engine="ml"))
    link = re.search(
        r'<a class="button" href="([^"]+)">Runs of this context</a>', get(viewer_client, item["run_id"])
    ).group(1)
    assert "log_geometry_engine=-" in link and "log=runs" in link
    listed = viewer_client.get(link).content.decode()
    assert item["run_id"][:8] in listed and listed.count('class="log-row') == 1


def test_a_rule_is_named_and_staff_get_its_admin_page(client, default_profile):
    rule = ResolutionRule.objects.create(name="saw-tools", tool_pattern="saw:*", priority=50, profile=default_profile)
    item = run_item(at=T0, rule_id=rule.id, fallback_used=False)
    log_runs(item)
    client.force_login(make_user("victor", role="viewer"))
    html = get(client, item["run_id"])
    assert f"<dt>Resolved by</dt><dd>rule #{rule.id} saw-tools</dd>" in html
    client.force_login(make_user("ada", is_superuser=True, is_staff=True))
    assert f'<a href="/admin/profiles/resolutionrule/{rule.id}/change/">rule #{rule.id} saw-tools</a>' in get(
        client, item["run_id"]
    )


def test_a_profile_this_server_does_not_know_is_named_without_a_link(viewer_client, default_profile):
    item = run_item(at=T0, profile="legacy-x")
    log_runs(item)
    html = get(viewer_client, item["run_id"])
    assert '<dt>Profile</dt><dd>legacy-x <span class="fact-note">not a profile on this server</span>' in html


@pytest.mark.parametrize("run_id", ["not-a-uuid", str(uuid.UUID(int=7))])
def test_an_unknown_or_malformed_run_is_a_404_that_says_so(viewer_client, default_profile, run_id):
    html = get(viewer_client, run_id, status=404)
    assert "Not found" in html and ("is not a run id" in html or f"No run {run_id}" in html)


def test_a_run_whose_summary_has_not_arrived_is_a_404_that_explains(viewer_client, default_profile):
    run_id = new_run_id()
    log_services.events_ingest(events=[attempt_event(run_id, 1), attempt_event(run_id, 2)])
    html = get(viewer_client, run_id, status=404)
    assert "has 2 attempts recorded but its summary has not arrived yet" in html


def test_anonymous_visitors_sign_in_first(client, run):
    response = client.get(f"/rmos/runs/{run['run_id']}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/rmos/runs/")


def test_the_page_costs_a_fixed_number_of_queries(viewer_client, default_profile, django_assert_max_num_queries):
    item = run_item(at=T0, scores=[(40.0, "RED")] * 199 + [(90.0, "GREEN")], max_attempts=200)
    log_runs(item)
    with django_assert_max_num_queries(
        9
    ):  # session, user, run, attempts, rules, profile, 2 x permissions, requests awaiting (header)
        html = get(viewer_client, item["run_id"])
    assert html.count('<tr id="attempt-') == 200


def test_the_score_chart_marks_the_selected_attempt_and_the_threshold():
    chart = charts.attempt_score_chart(
        [(2, 50.0, "YELLOW"), (1, 20.0, "RED"), (3, 95.0, "GREEN")], selected=3, threshold=80
    )
    assert [d.index for d in chart.dots] == [1, 2, 3] and [d.selected for d in chart.dots] == [False, False, True]
    assert chart.dots[0].x == chart.plot.left and chart.dots[-1].x == chart.plot.right
    # The axis starts a round ten below the lowest score (20), in whole steps of 20 up to 100: 0..100.
    assert [t.label for t in chart.y_ticks] == ["0", "20", "40", "60", "80", "100"]
    assert chart.dots[1].y == round(chart.plot.bottom - chart.plot.height / 2, 2)
    assert (
        chart.threshold_y == round(chart.plot.bottom - chart.plot.height * 0.8, 2) and chart.threshold_label == "min 80"
    )
    assert chart.dots[2].href == "#attempt-3"
    assert chart.best.count(",") == 6  # best so far: 20 -> 50 -> 95, a step line
    empty = charts.attempt_score_chart([])
    assert empty.empty and empty.summary == "No attempts recorded"
    with pytest.raises(ValueError):
        charts.attempt_score_chart([(1, 120.0, "GREEN")])


def test_the_score_chart_is_scaled_to_its_scores():
    chart = charts.attempt_score_chart([(1, 78.0, "YELLOW"), (2, 92.0, "GREEN")], selected=2, threshold=80)
    assert [t.label for t in chart.y_ticks] == ["70", "80", "90", "100"]
    low = charts.attempt_score_chart([(1, 40.0, "RED"), (2, 45.0, "RED")], threshold=80)
    assert [t.label for t in low.y_ticks] == ["20", "40", "60", "80", "100"]
    assert chart.dots[0].y == round(chart.plot.bottom - chart.plot.height * 8 / 30, 2)
    assert chart.dots[1].y < chart.plot.top + chart.plot.height * 0.3


def test_the_score_chart_does_not_colour_score_ranges_as_buckets(viewer_client, default_profile):
    # Attempt 1 scored 85 but is RED (its worst check): a GREEN band behind it would say otherwise.
    item = run_item(at=T0, success=False, scores=[(85.0, "RED"), (60.0, "RED")])
    log_runs(item)
    page = get(viewer_client, item["run_id"])
    chart = page[page.index('class="chart chart-scores') :]
    assert "score-band" not in chart
    assert (
        "A dot’s colour is the attempt’s risk bucket, which is its worst check’s, so a high score can still be RED."
        in chart
    )
    assert "Attempt 1: 85.0, RED" in chart


def test_a_failed_run_does_not_headline_a_selected_candidate(viewer_client, default_profile):
    from tests.factories import log_runs, run_item

    item = run_item(success=False)
    log_runs(item)
    html = viewer_client.get(f"/rmos/runs/{item['run_id']}/").content.decode()
    assert "Selected candidate</h2>" not in html
    assert "Best candidate tried" in html and "not acceptable: the run failed" in html
