"""Live operations on the dashboard (issue 18, DESIGN §12): the shared time range, the overview
strip against the API, the sections in the address, and the htmx refreshes of the log tail,
the overview and the analytics."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard import url_state
from tests.factories import T0, iso, log_runs, run_item

pytestmark = pytest.mark.django_db

DASHBOARD = "/rmos/ai-ops/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def get(client, query: str = "", status: int = 200) -> str:
    response = client.get(DASHBOARD + (f"?{query}" if query else ""))
    assert response.status_code == status, response.content.decode()[:800]
    return html_lib.unescape(response.content.decode())


def figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([a-z-]+)".*?<span class="figure-value">([^<]*)</span>', html, re.S))


def overview_api_url(html: str) -> str:
    strip = html[html.index('id="overview"') :]
    return re.search(r'<a href="(/api/rmos/ai/analytics/overview[^"]*)">as JSON</a>', strip).group(1)


def log_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="log-row[^"]*".*?</tr>', html, re.S)


@pytest.fixture
def recent(default_profile):
    """Runs over the last 40 days, a run every 8 hours; every fourth one fails."""
    now = datetime.now(UTC).replace(microsecond=0)
    log_runs(
        *[
            run_item(at=now - timedelta(hours=8 * i, minutes=5), success=i % 4 != 0, attempts=1 + i % 3)
            for i in range(120)
        ]
    )
    return now


@pytest.mark.parametrize("time_range, runs", [("1h", 1), ("24h", 3), ("7d", 21), ("30d", 90), ("", 120)])
def test_the_range_applies_to_the_overview_the_log_and_the_analytics(
    viewer_client, viewer_api, recent, time_range, runs
):
    html = get(viewer_client, f"log=runs&range={time_range}" if time_range else "log=runs")
    numbers = figures(html)
    assert numbers["runs"] == f"{runs:,}"
    # The overview equals the API for the same instants (the strip's own JSON link).
    answer = viewer_api.get(overview_api_url(html)).json()
    assert answer["runs"] == runs and numbers["attempts"] == f"{answer['attempts']:,}"
    rate = answer["success_rate"]
    assert numbers["success-rate"] == ("—" if rate is None else f"{rate * 100:.0f}%")
    # The log lists that range's runs (at most a page), the analytics counts them.
    assert len(log_rows(html)) == min(runs, 100)
    analytics = html[html.index('id="analytics"') : html.index('id="hotspots"')]
    if runs:
        assert re.search(rf'<td class="num">{runs}</td>', analytics)
    else:
        assert "No runs" in analytics


def test_a_fixed_range_equals_the_api_and_a_panel_filter_wins(viewer_client, viewer_api, default_profile):
    log_runs(*[run_item(at=T0 + timedelta(hours=i), success=i % 3 != 0) for i in range(48)])
    html = get(viewer_client, "from=2025-06-01T18:00:00Z&to=2025-06-02")
    # A bare "to" date covers its day, as the log's until.
    answer = viewer_api.get(
        "/api/rmos/ai/analytics/overview?since=2025-06-01T18:00:00Z&until=2025-06-03T00:00:00Z"
    ).json()
    assert answer["runs"] == 30 and figures(html)["runs"] == "30"
    assert (
        overview_api_url(html)
        == "/api/rmos/ai/analytics/overview?since=2025-06-01T18%3A00%3A00Z&until=2025-06-03T00%3A00%3A00Z"
    )
    low, high = answer["success_rate_ci"]
    assert f"95% interval {low * 100:.0f}–{high * 100:.0f}%" in html
    # The log's own since narrows the range further for the log only.
    html = get(
        viewer_client, f"log=runs&log_since={iso(T0 + timedelta(hours=30))}&from=2025-06-01T18:00:00Z&to=2025-06-02"
    )
    assert len(log_rows(html)) == 6 and figures(html)["runs"] == "30"


def test_a_bad_range_is_ignored_with_a_notice(viewer_client, default_profile):
    html = get(viewer_client, "range=2h&from=yesterday")
    assert "range: ignored '2h', use one of 1h, 24h, 7d, 30d" in html
    assert "from: ignored, 'yesterday' is not an ISO 8601 date" in html
    assert 'Overview <span class="overview-range">All time</span>' in html


def test_range_live_and_sections_round_trip_through_the_address():
    state, problems = url_state.parse({"range": "7d", "live": "off", "open": "log,editor"})
    assert not problems and state.time_range == "7d" and not state.live and state.sections == ("log", "editor")
    assert state.url() == "/rmos/ai-ops/?range=7d&live=off&open=log%2Ceditor"
    assert url_state.parse({"open": "none"})[0].sections == ()
    assert url_state.parse({})[0].sections == url_state.SECTIONS
    # Only names it does not know: said, and the default kept (not every section closed).
    unknown, problems = url_state.parse({"open": "foo"})
    assert unknown.sections == url_state.SECTIONS and problems[0].key == "open"
    again, _ = url_state.parse(parse_qs(urlsplit(state.with_section("inspector", True).url()).query))
    assert again.sections == ("log", "inspector", "editor")


def test_sections_closed_in_the_address_are_closed_on_the_page(viewer_client, default_profile):
    html = get(viewer_client, "open=log")
    assert re.search(r'id="section-log" data-section="log" open>', html)
    assert re.search(r'id="section-editor" data-section="editor">', html)
    assert 'href="/rmos/ai-ops/?open=log%2Ceditor#profile-editor">Profile editor</a>' in html


def test_the_page_polls_only_while_live(viewer_client, recent):
    html = get(viewer_client)
    assert re.search(
        r'id="log-live" hx-get="/rmos/ai-ops/live/log/\?after=\d+&floor=[^"]+" hx-trigger="every 5s"', html
    )
    assert 'hx-get="/rmos/ai-ops/live/overview/"' in html and 'hx-get="/rmos/ai-ops/live/analytics/"' in html
    assert ">Pause</a>" in html and "htmx.min.js" in html
    paused = get(viewer_client, "live=off")
    assert "hx-get" not in paused and ">Resume</a>" in paused
    # A later page of the log stays put.
    older = re.search(r'href="([^"]*log_cursor=[^"#]*)', html).group(1)
    assert 'id="log-live" hx-get' not in get(viewer_client, urlsplit(older).query)


def test_the_log_tail_answers_204_until_a_row_arrives_then_marks_it_new(viewer_client, recent):
    html = get(viewer_client, "log=runs")
    poll = html_lib.unescape(re.search(r'hx-get="(/rmos/ai-ops/live/log/[^"]+)"', html).group(1))
    assert viewer_client.get(poll, **HTMX).status_code == 204
    log_runs(run_item(at=recent, tool_id="saw:new-one"))
    response = viewer_client.get(poll, **HTMX)
    assert response.status_code == 200
    fresh = response.content.decode()
    new_rows = [r for r in log_rows(fresh) if "is-new" in r]
    assert len(new_rows) == 1 and "saw:new-one" in new_rows[0] and ">new</span>" in new_rows[0]
    assert len(log_rows(fresh)) == 100
    # The swapped-in element asks for rows after the new one.
    next_poll = html_lib.unescape(re.search(r'hx-get="(/rmos/ai-ops/live/log/[^"]+)"', fresh).group(1))
    assert next_poll != poll and viewer_client.get(next_poll, **HTMX).status_code == 204


def test_the_log_tail_probe_is_one_query(viewer_client, recent, django_assert_max_num_queries):
    html = get(viewer_client)
    poll = html_lib.unescape(re.search(r'hx-get="(/rmos/ai-ops/live/log/[^"]+)"', html).group(1))
    with django_assert_max_num_queries(3):  # the session, the user, the probe
        assert viewer_client.get(poll, **HTMX).status_code == 204


def test_live_urls_without_htmx_go_to_the_dashboard(viewer_client, db):
    response = viewer_client.get("/rmos/ai-ops/live/overview/?range=24h&log=runs")
    assert response.status_code == 302 and response["Location"] == "/rmos/ai-ops/?log=runs&range=24h"


def test_the_overview_and_analytics_refreshes_render_their_parts(viewer_client, recent):
    response = viewer_client.get("/rmos/ai-ops/live/overview/?range=7d", **HTMX)
    assert response.status_code == 200
    body = html_lib.unescape(response.content.decode())
    assert body.lstrip().startswith('<div class="overview-live" id="overview-live"') and figures(body)["runs"] == "21"
    response = viewer_client.get("/rmos/ai-ops/live/analytics/?range=7d", **HTMX)
    body = response.content.decode()
    assert 'id="analytics-live"' in body and 'id="hotspots-live" hx-swap-oob="true"' in body
    # The part keeps polling: its own trigger comes back with it.
    assert 'hx-get="/rmos/ai-ops/live/analytics/?range=7d"' in body and 'hx-trigger="every 30s' in body
    assert '<td class="num">21</td>' in body


def test_live_urls_need_a_sign_in(client, db):
    response = client.get("/rmos/ai-ops/live/log/?after=0", **HTMX)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
