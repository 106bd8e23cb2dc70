"""The log viewer in dashboard row 1: the log API's filters and pages, behind the ``log_`` prefix."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.panels import log_viewer
from tests.factories import T0, log_runs, run_item

pytestmark = pytest.mark.django_db

DASHBOARD = "/rmos/ai-ops/"
EBONY = {"tool_id": "saw:jeweler-0.25", "material_id": "wood:ebony", "machine_id": "prod:vmc-3axis"}
MAPLE = {
    "tool_id": "saw:slitting-0.5",
    "material_id": "wood:maple-hard",
    "machine_id": "prod:vmc-3axis",
    "geometry_engine": "",
}


def get(client, query: str = "", status: int = 200) -> str:
    response = client.get(DASHBOARD + (f"?{query}" if query else ""))
    assert response.status_code == status, response.content.decode()[:800]
    return html_lib.unescape(response.content.decode())


def panel(html: str) -> str:
    return html[html.index('id="log-viewer"') : html.index('id="snapshot-inspector"')]


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="log-row[^"]*".*?</tr>', panel(html), re.S)


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="log_{name}_error"><li>(.*?)</li>', html)
    return match.group(1) if match else ""


@pytest.fixture
def two_contexts(default_profile):
    """Run a (ebony, 2 attempts, success) at T0, run b (maple, 3 attempts, failure) an hour later."""
    a = run_item(at=T0, **EBONY)
    b = run_item(
        at=T0 + timedelta(hours=1), success=False, scores=[(30.0, "RED"), (55.0, "YELLOW"), (45.0, "RED")], **MAPLE
    )
    log_runs(a, b)
    return a, b


def test_attempts_newest_first_each_selecting_its_context_and_linking_its_run(viewer_client, two_contexts):
    a, b = two_contexts
    html = get(viewer_client)
    listed = rows(html)
    assert len(listed) == 5
    # Newest first: run b's attempts (3, 2, 1), then run a's (2, 1).
    assert [re.search(r"#(\d+)</span>", r).group(1) for r in listed] == ["3", "2", "1", "2", "1"]
    assert f'href="/rmos/runs/{b["run_id"]}/#attempt-3"' in listed[0]
    # A row selects the run's context (the default workflow left implicit) and lands on the inspector.
    select_b = "/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis#snapshot-inspector"
    select_a = (
        "/rmos/ai-ops/?tool_id=saw%3Ajeweler-0.25&material_id=wood%3Aebony&machine_id=prod%3Avmc-3axis"
        "&geometry_engine=shapely#snapshot-inspector"
    )
    assert f'class="select-link" href="{select_b}"' in listed[0]
    assert f'href="{select_a}"' in listed[3]
    # With auto-load off the inspector does not follow, so a click stays with the log.
    kept = rows(get(viewer_client, "autoload=off"))[0]
    assert f'class="select-link" href="{select_b.replace("#snapshot-inspector", "&autoload=off#log-viewer")}"' in kept
    # Scores right-aligned, buckets as badges, the profile and its version under the run.
    assert '<td class="num">45.0</td>' in listed[0] and '<span class="bucket bucket-red">RED</span>' in listed[0]
    assert '<span class="bucket bucket-green">GREEN</span> <span class="acceptable"' in listed[3]
    assert '<a href="/rmos/profiles/default/">default</a> v1' in listed[0]


def test_the_runs_tab_lists_runs_with_outcome_score_and_risk(viewer_client, two_contexts):
    a, b = two_contexts
    html = get(viewer_client, "log=runs")
    assert '<a class="tab" href="/rmos/ai-ops/?log=runs#log-viewer" aria-current="page">Runs</a>' in html
    listed = rows(html)
    assert len(listed) == 2
    assert (
        f'href="/rmos/runs/{b["run_id"]}/"' in listed[0]
        and "budget exhausted" in listed[0]
        and "3 attempts" in listed[0]
    )
    assert "outcome-failure" in listed[0] and "outcome-success" in listed[1]
    assert '<td class="num">90.0</td>' in listed[1] and "bucket-green" in listed[1]


def test_a_filter_lists_exactly_what_the_api_lists_for_it(viewer_client, two_contexts):
    query = "log_tool_id=saw:jeweler-0.25&log_risk_bucket=GREEN"
    html = get(viewer_client, query)
    listed = rows(html)
    assert len(listed) == 1 and "saw:jeweler-0.25" in listed[0]
    api = viewer_client.get("/api/rmos/logs/ai/attempts?tool_id=saw:jeweler-0.25&risk_bucket=GREEN").json()
    assert [r["run_id"] for r in api["results"]] == [
        re.search(r"/rmos/runs/([0-9a-f-]+)/", row).group(1) for row in listed
    ]
    # The active filters are listed, each with a link that removes it (and nothing else).
    log = panel(html)
    assert '<span class="chip-key">Tool</span> <span class="chip-value">saw:jeweler-0.25</span>' in log
    assert "/rmos/ai-ops/?log_risk_bucket=GREEN#log-viewer" in hrefs(log)
    assert "/rmos/ai-ops/?log_tool_id=saw%3Ajeweler-0.25#log-viewer" in hrefs(log)
    # The form shows the filter as set and starts open.
    assert '<details class="filters" open>' in log
    assert 'name="log_tool_id" value="saw:jeweler-0.25"' in log
    assert '<option value="GREEN" selected>GREEN</option>' in log


def test_since_and_until_mean_what_they_mean_in_the_api(viewer_client, two_contexts):
    a, b = two_contexts
    # until is exclusive: the hour run b ended is left out, run a's attempts stay.
    html = get(viewer_client, "log=runs&log_until=2025-06-01T12:30:00Z")
    assert [f"/rmos/runs/{a['run_id']}/" in r for r in rows(html)] == [True]
    assert len(rows(get(viewer_client, "log=runs&log_since=2025-06-01T12:30:00Z"))) == 1
    assert len(rows(get(viewer_client, "log=runs&log_since=2025-06-01&log_until=2025-06-01"))) == 2  # that whole day


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("log_risk_bucket=PURPLE", "risk_bucket", "Must be one of GREEN, YELLOW, RED; got 'PURPLE'"),
        ("log_since=yesterday", "since", "'yesterday' is not an ISO 8601 date"),
        ("log_since=2025-06-01T08:00", "since", "has no timezone; add Z or an offset"),
        ("log_until=9999-12-31", "until", "is out of range: give a moment from 1900-01-01"),
        ("log_since=2025-06-02&log_until=2025-06-01", "until", "Until must be later than since"),
        ("log_run_id=not-a-uuid", "run_id", "'not-a-uuid' is not a UUID, nor its first 8 or more hex digits"),
        ("log_workflow_mode=fast", "workflow_mode", "Must be one of constraint_first, ai_assisted, design_first"),
        ("log=runs&log_success=maybe", "success", "Must be true or false"),
        ("log_tool_id=" + "x" * 129, "tool_id", "Must be at most 128 characters"),
    ],
)
def test_a_bad_filter_value_is_shown_next_to_its_field_with_a_400(viewer_client, two_contexts, query, field, message):
    html = get(viewer_client, query, status=400)
    assert message in field_error(html, field)
    log = panel(html)
    assert rows(html) == [] and "Fix the filters marked above." in log
    assert "Download CSV" not in log  # no export of a filter that means nothing
    assert 'aria-invalid="true"' in log and '<details class="filters" open>' in log
    # The rest of the page is there, and no 500 anywhere.
    assert 'id="analytics"' in html and 'id="profile-editor"' in html


def test_an_overlong_filter_is_refused_by_name_not_dropped(viewer_client, two_contexts):
    """Past the page's 200-character cap a filter was dropped, and every row shown under a notice."""
    response = viewer_client.get(f"{DASHBOARD}?log_tool_id={'x' * 5000}")
    assert response.status_code == 302 and len(response.url) < 400  # links carry it cut, never whole
    html = get(viewer_client, response.url.split("?", 1)[1], status=400)
    assert "Must be at most 128 characters" in field_error(html, "tool_id")
    assert rows(html) == []


def test_a_value_the_select_does_not_offer_stays_visible(viewer_client, two_contexts):
    log = panel(get(viewer_client, "log_risk_bucket=PURPLE", status=400))
    assert '<option value="PURPLE" selected>PURPLE (not valid)</option>' in log


def test_parameters_that_are_not_filters_of_the_list_are_refused_by_name(viewer_client, two_contexts):
    html = get(viewer_client, "log_success=true&log_colour=red", status=400)
    log = panel(html)
    assert "log_colour: not a parameter of this list" in log
    assert "log_success: not a parameter of this list" in log  # a runs filter, on the attempts list
    assert "Start again from the newest attempts" in log


def test_pages_follow_the_cursor_without_repeats_or_gaps(viewer_client, two_contexts, monkeypatch):
    monkeypatch.setattr(log_viewer, "PAGE_SIZE", 2)
    seen: list[str] = []
    html = get(viewer_client)
    for _ in range(3):
        log = panel(html)
        seen += [re.search(r'href="(/rmos/runs/[^"]+)"', r).group(1) for r in rows(html)]
        older = re.search(r'<a href="([^"]+)" rel="next">Older →</a>', log)
        if older is None:
            break
        url = html_lib.unescape(older.group(1))
        assert "log_cursor=" in url and url.endswith("#log-viewer")
        html = get(viewer_client, urlsplit(url).query)
        assert "← Newest" in panel(html)
    assert len(seen) == 5 and len(set(seen)) == 5  # attempt links are unique per attempt
    assert "Older →" not in panel(html)


def test_a_cursor_that_is_not_one_of_this_list_is_a_clear_400(viewer_client, two_contexts, monkeypatch):
    monkeypatch.setattr(log_viewer, "PAGE_SIZE", 1)
    runs_page = panel(get(viewer_client, "log=runs"))
    runs_cursor = parse_qs(
        urlsplit(html_lib.unescape(re.search(r'href="([^"]+)" rel="next"', runs_page).group(1))).query
    )["log_cursor"][0]
    for cursor in ("garbage", runs_cursor):
        log = panel(get(viewer_client, f"log_cursor={cursor}", status=400))
        assert "log_cursor: not a page of this list; start again from the newest attempts." in log
        assert '<a href="/rmos/ai-ops/#log-viewer">Start again from the newest attempts</a>' in log


def test_the_csv_link_exports_the_same_filter_through_the_api(viewer_client, two_contexts):
    log = panel(get(viewer_client, "log_material_id=wood:maple-hard&log_since=2025-06-01"))
    link = re.search(r'<a href="([^"]+)" download>Download CSV</a>', log).group(1)
    assert link == "/api/rmos/logs/ai/attempts?format=csv&material_id=wood%3Amaple-hard&since=2025-06-01T00%3A00%3A00Z"
    response = viewer_client.get(link)  # the signed-in session is enough
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(exported) == 3 and {r["material_id"] for r in exported} == {"wood:maple-hard"}
    assert (
        '<a href="/api/rmos/logs/ai/attempts?material_id=wood%3Amaple-hard&since=2025-06-01T00%3A00%3A00Z&limit=100">As JSON</a>'
        in log
    )
    runs_log = panel(get(viewer_client, "log=runs&log_success=false"))
    assert 'href="/api/rmos/logs/ai/runs?format=csv&success=false" download' in runs_log
    assert (
        '<span class="chip-key">Success</span> <span class="chip-value">failed</span>' in runs_log
    )  # as the select says it


def test_empty_states_say_why_there_is_nothing(viewer_client, default_profile):
    log = panel(get(viewer_client))
    assert "The log is empty" in log and "POST /api/rmos/logs/ai/runs" in log and "Download CSV" in log
    log_runs(run_item(at=T0, **EBONY))
    log = panel(get(viewer_client, "log_tool_id=laser:none"))
    assert (
        "No attempts match these filters" in log
        and '<a class="button button-quiet" href="/rmos/ai-ops/#log-viewer">Clear all</a>' in log
    )
    log = panel(get(viewer_client, "log=runs&log_reason=timeout"))
    assert "No runs match these filters" in log


def test_the_selected_context_is_marked_and_can_filter_the_log(viewer_client, two_contexts):
    html = get(viewer_client, "tool_id=saw:slitting-0.5&material_id=wood:maple-hard&machine_id=prod:vmc-3axis")
    listed = rows(html)
    assert [("is-selected" in r) for r in listed] == [True, True, True, False, False]
    link = re.search(r'<a class="button button-small" href="([^"]+)">Only the selected context</a>', panel(html)).group(
        1
    )
    assert link == (
        "/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis"
        "&log_tool_id=saw%3Aslitting-0.5&log_material_id=wood%3Amaple-hard&log_machine_id=prod%3Avmc-3axis"
        "&log_geometry_engine=-#log-viewer"
    )
    # The selected context has no geometry engine: the same ids with an engine are another
    # context (as the analytics table counts them), so "only the selected context" leaves them out.
    with_engine = run_item(at=T0 + timedelta(hours=2), **{**MAPLE, "geometry_engine": "ml"})
    log_runs(with_engine)
    filtered = get(viewer_client, urlsplit(link).query)
    assert len(rows(filtered)) == 3
    assert '<span class="chip-key">Geometry engine</span> <span class="chip-value">- (no engine)</span>' in panel(
        filtered
    )
    assert len(rows(get(viewer_client, urlsplit(link).query.replace("&log_geometry_engine=-", "")))) == 3 + len(
        with_engine["attempt_records"]
    )  # any engine


def test_the_filter_form_carries_the_rest_of_the_state_and_starts_on_the_first_page(viewer_client, two_contexts):
    html = get(
        viewer_client,
        "tool_id=saw:fine&profile=default&stats_sort=-avg_attempts&log=runs&log_reason=timeout&log_cursor=abc",
        status=400,
    )
    form = panel(html)[panel(html).index('<form method="get"') :]
    form = form[: form.index("</form>")]
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    assert hidden == [("tool_id", "saw:fine"), ("profile", "default"), ("log", "runs"), ("stats_sort", "-avg_attempts")]
    assert 'name="log_reason"' in form and 'name="log_success"' in form and "log_cursor" not in form


def test_switching_lists_keeps_the_filters_that_apply(viewer_client, two_contexts):
    log = panel(get(viewer_client, "log=runs&log_tool_id=saw:jeweler-0.25&log_success=true"))
    assert '<a class="tab" href="/rmos/ai-ops/?log_tool_id=saw%3Ajeweler-0.25#log-viewer">Attempts</a>' in log
    assert 'name="log_success"' in log
    assert 'name="log_success"' not in panel(get(viewer_client, "log_tool_id=saw:jeweler-0.25"))


def test_a_submitted_form_lands_on_one_clean_url(viewer_client, two_contexts):
    response = viewer_client.get(
        DASHBOARD + "?log=runs&log_tool_id=&log_material_id=wood:ebony&log_success=&log_since="
    )
    assert response.status_code == 302
    assert response["Location"] == "/rmos/ai-ops/?log=runs&log_material_id=wood%3Aebony"


def test_one_page_is_one_query_however_long_the_log(viewer_client, default_profile, django_assert_max_num_queries):
    log_runs(*[run_item(at=T0 + timedelta(minutes=i), attempts=3, **EBONY) for i in range(40)])
    # 11 with an empty log, + the profile's other queries for the analytics row, + the alerts' 4
    with django_assert_max_num_queries(20):  # + requests awaiting you + the overview 3
        html = get(viewer_client)
    assert len(rows(html)) == 100 and "Older →" in panel(html)
    with django_assert_max_num_queries(20):  # + requests awaiting you + the overview 3
        html = get(viewer_client, "log=runs")
    assert len(rows(html)) == 40


def test_every_text_in_the_rows_is_escaped(viewer_client, default_profile):
    odd = {"tool_id": 'saw:"<zz1>', "material_id": "wood:a&b", "machine_id": "prod:<zz2>", "geometry_engine": "<zz3>"}
    log_runs(run_item(at=T0, profile="<zz4>", **odd))  # a posted run may name any profile: no link, no 500
    raw = viewer_client.get(DASHBOARD + "?log=runs").content.decode()
    assert not any(f"<zz{i}>" in raw for i in range(1, 5))
    assert "saw:&quot;&lt;zz1&gt;" in raw and "wood:a&amp;b" in raw and "&lt;zz3&gt;" in raw and "&lt;zz4&gt;" in raw
    stats_table = raw[raw.index('id="analytics"') : raw.index('id="hotspots"')]
    assert "prod:&lt;zz2&gt;" in stats_table


def test_a_nul_byte_in_a_filter_is_a_400_on_every_database(viewer_client, two_contexts):
    html = get(viewer_client, "log_tool_id=a%00b&stats_profile=%00", status=400)
    assert "Must be printable text, without control characters" in field_error(html, "tool_id")
    assert 'id="stats_profile_error"><li>Must be printable text' in html


def test_the_pager_counts_the_page_not_the_log(viewer_client, two_contexts):
    html = get(viewer_client)
    pager = html[html.index('aria-label="Log pages"') :]
    shown = len(rows(html))
    assert shown > 0 and f"{shown} attempts on this page" in pager  # "N attempts" read like the log's total
