"""The profile page's "did my edit help?" table and success rate over time, across a change and a rollback."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.panels.outcomes import DAYS_DEFAULT, parse_days
from profiles import selectors, services
from tests.factories import edit_profile, log_runs, make_profile, make_user, run_item

pytestmark = pytest.mark.django_db

# Half past an hour, at least half an hour ago: each group of runs below spans at most 7 minutes
# before it, so it never straddles midnight (at 00:03 UTC, "3 days with data" read 4).
NOW = (datetime.now(UTC) - timedelta(hours=1)).replace(minute=30, second=0, microsecond=0)
FAIL = {"success": False, "scores": [(30.0, "RED"), (45.0, "RED")]}


def get(client, query: str = "", status: int = 200) -> str:
    response = client.get("/rmos/profiles/default/" + (f"?{query}" if query else ""))
    assert response.status_code == status, response.content.decode()[:800]
    return html_lib.unescape(response.content.decode())


def outcomes(html: str) -> str:
    return html[html.index('id="outcomes"') : html.index('id="success-over-time"')]


def chart(html: str) -> str:
    return html[html.index('id="success-over-time"') :]


def version_row(html: str, version: int) -> str:
    return re.search(rf'<tr id="version-{version}".*?</tr>', outcomes(html), re.S).group(0)


@pytest.fixture
def changed_and_rolled_back(db):
    """v1: 0 of 8 runs succeed; v2 (max rings 6 -> 9): 8 of 8; v3 rolls back to v1's values: 1 of 2."""
    olga = make_user("olga", role="operator")
    make_profile("default", max_rings=6)
    log_runs(*[run_item(at=NOW - timedelta(days=20, minutes=i), profile_version=1, **FAIL) for i in range(8)])
    edit_profile("default", max_rings=9, note="allow more rings", user=olga)
    log_runs(*[run_item(at=NOW - timedelta(days=10, minutes=i), profile_version=2) for i in range(8)])
    first = next(e for e in selectors.profile_history(name="default") if e["version"] == 1)
    services.profile_rollback(name="default", history_id=first["id"], note="9 rings chipped", version=2, user=olga)
    log_runs(
        run_item(at=NOW - timedelta(days=1), profile_version=3),
        run_item(at=NOW - timedelta(days=1, minutes=1), profile_version=3, **FAIL),
    )


def test_each_version_has_its_change_its_numbers_and_the_difference_it_made(viewer_client, changed_and_rolled_back):
    html = get(viewer_client)
    assert re.findall(r'<tr id="version-(\d+)"', outcomes(html)) == ["3", "2", "1"]
    v3, v2, v1 = version_row(html, 3), version_row(html, 2), version_row(html, 1)
    # v2: who, why, what changed; its numbers; against v1 within their one context.
    assert '<span class="type-tag type-tag-changed">changed</span>' in v2 and " · olga</span>" in v2
    assert "allow more rings" in v2 and "<li>Most rings: <del>6</del> → <ins>9</ins></li>" in v2
    assert (
        '<td class="num">8</td>' in v2
        and '<span class="rate">100%</span>' in v2
        and '<span class="ci">68–100%</span>' in v2
    )
    # Every run of each version had one outcome: no interval (Sato's variance is 0), so the CMH
    # test decides (0 of 8 against 8 of 8), and the note says why; the crude difference is shown.
    assert '<span class="verdict verdict-better">better</span>' in v2 and "vs v1" in v2
    assert "within contexts <strong>+100.0 pp</strong> (—) · crude +100.0 pp" in v2
    assert "each version's runs all had the same outcome" in v2
    assert '<a href="/rmos/profiles/default/compare/?a=1&b=2">per context</a>' in v2
    # v3, the rollback: what it restored, and a verdict it cannot give yet on two runs.
    assert '<span class="type-tag type-tag-rollback">rollback</span>' in v3 and "restores the values of v1" in v3
    assert "<li>Most rings: <del>9</del> → <ins>6</ins></li>" in v3 and "9 rings chipped" in v3
    assert '<span class="tag">current</span>' in v3 and "is-current" in v3
    # ... against the version it replaced (v2) and the one whose values it restored (v1).
    assert "within contexts <strong>-50.0 pp</strong>" in v3 and "within contexts <strong>+50.0 pp</strong>" in v3
    assert "vs v2" in v3 and "vs v1 (the values it restored)" in v3 and "v3 restored the values of v1." in v3
    # v1: its first values, folded away; no version before it.
    assert "First values (13 fields)" in v1 and "first version" in v1 and '<span class="rate">0%</span>' in v1
    assert '<a href="/api/rmos/ai/analytics/profile-versions?profile=default">as JSON</a>' in outcomes(html)


def test_the_chart_shows_the_rate_per_day_with_a_marker_per_change_linking_its_version(
    viewer_client, changed_and_rolled_back
):
    rate = chart(get(viewer_client))
    # From the first run in the range (20 days ago), not 70 empty days before it.
    first = (NOW - timedelta(days=20, minutes=7)).date()
    assert f"Success rate per day since {first.day} {first:%b %Y}" in rate
    markers = re.findall(r'<a href="(#version-\d+)">\s*<line', rate)
    assert markers == ["#version-1", "#version-2", "#version-3"]
    assert "v2 changed" in rate and "v3 rollback" in rate
    assert "3 days with data" in rate and "18 runs" in rate and "3 profile changes marked" in rate
    assert '<a href="/rmos/profiles/default/?days=30#success-over-time">30 days</a>' in rate
    assert '<a href="/rmos/profiles/default/#success-over-time" aria-current="true">90 days</a>' in rate


def test_the_time_range_is_chosen_from_a_few(viewer_client, changed_and_rolled_back):
    rate = chart(get(viewer_client, "days=14"))
    assert "last 14 days" in rate and "10 runs" in rate  # v2's and v3's, not v1's 20 days ago
    assert parse_days("365") == 365 and parse_days("7") == DAYS_DEFAULT and parse_days("x") == DAYS_DEFAULT
    assert 'aria-current="true">90 days</a>' in chart(get(viewer_client, "days=-3"))
    assert "days=7 is not one of 14, 30, 90, 365; showing the last 90 days." in chart(get(viewer_client, "days=7"))
    assert "is not one of" not in chart(get(viewer_client, "days=30"))


def test_a_short_history_is_drawn_over_two_weeks_at_least(viewer_client, db):
    make_profile("default")
    log_runs(run_item(at=NOW - timedelta(hours=2), profile_version=1))
    rate = chart(get(viewer_client))
    first = (datetime.now(UTC) - timedelta(days=13)).date()  # two weeks up to today, whatever NOW's day
    assert f"since {first.day} {first:%b %Y}" in rate and rate.count('<th scope="row">20') == 14


def test_a_profile_without_runs_says_so(viewer_client, db):
    make_profile("default")
    edit_profile("default", max_rings=9)
    html = get(viewer_client)
    assert "No runs under this profile yet" in outcomes(html)
    v2 = version_row(html, 2)
    assert '<span class="verdict verdict-not_comparable">not comparable</span>' in v2 and "v1 has no runs." in v2
    assert '<td class="num">0</td><td class="num muted" colspan="3">no runs yet</td>' in version_row(html, 1)
    assert "No runs under default in the last 90 days" in chart(html)


def test_a_viewer_sees_the_outcomes_but_no_edit_controls(viewer_client, changed_and_rolled_back):
    html = get(viewer_client)
    assert "Did my edit help?" in html and "Save changes" not in html and "Roll back to" not in html


def test_the_outcomes_read_the_aggregates_with_a_fixed_number_of_queries(
    viewer_client, changed_and_rolled_back, django_assert_max_num_queries
):
    # 22 + the regression watch (refresh 3, header 1), the comparisons' strata, the predictions, the alerts;
    # + 2 for change requests (the profile's requests under way, the header's count awaiting you)
    # + 1 for the profile's latest tuning jobs
    with django_assert_max_num_queries(32):
        get(viewer_client)
    log_runs(*[run_item(at=NOW - timedelta(days=d % 80, minutes=d), profile_version=2) for d in range(200)])
    with django_assert_max_num_queries(32):
        get(viewer_client)


def test_runs_older_than_the_profiles_journal_are_explained(viewer_client, db):
    """The demo's runs (and backfilled ones) predate the profile's v1 here: the page credited
    them to v1 without a word, while the chart drew v1's marker after all of them."""
    profile = make_profile("default")
    journaled = profile.history.get().history_date
    # Three days before, and a second before on the same day (whole days would miss that one).
    log_runs(*[run_item(at=journaled - timedelta(days=3, minutes=i), profile_version=1) for i in range(3)])
    log_runs(
        run_item(at=journaled - timedelta(seconds=1), profile_version=1),
        run_item(at=journaled + timedelta(seconds=1), profile_version=1),
    )
    page = outcomes(get(viewer_client))
    note = re.search(r'<p class="hint" id="early-runs">(.*?)</p>', page, re.S).group(1)
    assert note.startswith(
        f"4 runs are dated before {journaled:%-d %b %Y, %H:%M} UTC, when this server first journaled default"
    )
    assert '<td class="num">5</td>' in version_row(get(viewer_client), 1)  # still counted under v1


def test_no_explanation_when_every_run_follows_the_journal(viewer_client, db):
    journaled = make_profile("default").history.get().history_date
    log_runs(run_item(at=journaled + timedelta(seconds=1), profile_version=1))
    assert 'id="early-runs"' not in outcomes(get(viewer_client))
