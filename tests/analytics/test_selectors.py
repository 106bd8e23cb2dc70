"""analytics.selectors on a small log whose every number is worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from scipy import stats as scipy_stats

from ailog import services as log_services
from ailog.filters import LogFilter
from analytics import selectors
from analytics.filters import Window
from profiles import services as profile_services
from tests.factories import T0, attempt_event, iso, new_run_id, run_item

pytestmark = pytest.mark.django_db
UTC = UTC
A = {"tool_id": "saw:a", "material_id": "wood:x", "machine_id": "m1", "geometry_engine": "shapely"}
B = {"tool_id": "laser:b", "material_id": "wood:x", "machine_id": "m1", "geometry_engine": ""}


@pytest.fixture
def log(default_profile):
    """Context A: 3 runs, 7 attempts; context B: 2 runs, 1 attempt (all on 2025-06-01)."""
    runs = [
        run_item(**A, at=T0, scores=[(30.0, "RED"), (60.0, "YELLOW"), (90.0, "GREEN")]),
        run_item(**A, at=T0 + timedelta(hours=1), success=False, scores=[(20.0, "RED"), (40.0, "RED")]),
        run_item(
            **A,
            at=T0 + timedelta(hours=2),
            reason="acceptable_found",
            min_feasibility_score=70.0,
            scores=[(70.0, "YELLOW"), (75.0, "YELLOW")],
        ),
        run_item(**B, at=T0 + timedelta(hours=3), success=False, reason="no_candidates", scores=[]),
        run_item(**B, at=T0 + timedelta(hours=4), success=False, reason="timeout", scores=[(10.0, "RED")]),
    ]
    runs[2]["selected_risk_bucket"] = "YELLOW"
    log_services.runs_ingest(runs=runs)
    return runs


def _row(result, context):
    return next(r for r in result["results"] if all(r[k] == v for k, v in context.items()))


def test_profile_stats_by_hand(log):
    result = selectors.profile_stats(filters=LogFilter())
    assert result["count"] == 2
    a = _row(result, A)
    assert (a["runs"], a["successes"], a["success_rate"]) == (3, 2, 0.6667)
    assert a["success_rate_ci"] == [0.2077, 0.9385]
    assert a["avg_attempts"] == 2.333  # (3 + 2 + 2) / 3
    assert a["avg_selected_score"] == 82.5  # the successful runs': (90 + 75) / 2
    assert a["avg_failed_best_score"] == 40.0  # the failed run's best, apart
    assert a["outcomes"] == {
        "green_found": 1,
        "acceptable_found": 1,
        "budget_exhausted": 1,
        "timeout": 0,
        "no_candidates": 0,
    }
    assert a["attempts"] == 7
    assert a["risk"] == {
        "GREEN": {"count": 1, "share": 0.1429},
        "YELLOW": {"count": 3, "share": 0.4286},
        "RED": {"count": 3, "share": 0.4286},
    }
    # Per-run RED shares 1/3, 2/2 and 0/2: their mean, and scipy's own t interval of it over 3 runs.
    shares = [1 / 3, 1.0, 0.0]
    assert (a["red_share"], a["red_share_runs"]) == (0.4444, 3)
    low, high = scipy_stats.t.interval(0.95, df=2, loc=sum(shares) / 3, scale=scipy_stats.sem(shares))
    assert a["red_share_ci"] == [round(max(low, 0.0), 4), round(min(high, 1.0), 4)]
    assert a["last_run"] == iso(T0 + timedelta(hours=2))
    assert a["profiles"] == [{"profile": "default", "version": 1, "runs": 3}]
    b = _row(result, B)
    assert (b["runs"], b["successes"], b["success_rate"], b["success_rate_ci"][0]) == (2, 0, 0.0, 0.0)
    # No run succeeded: no average selected score; the timeout run's best (10) stands apart, and the
    # no_candidates run has no score at all.
    assert b["avg_attempts"] == 0.5 and b["avg_selected_score"] is None and b["avg_failed_best_score"] == 10.0
    assert b["risk"]["RED"] == {"count": 1, "share": 1.0} and b["attempts"] == 1
    assert (b["red_share"], b["red_share_runs"]) == (1.0, 1)  # the run without attempts has no share
    assert [r["tool_id"] for r in result["results"]] == ["saw:a", "laser:b"]  # most runs first


def test_profile_stats_filters_and_limit(log):
    assert [r["tool_id"] for r in selectors.profile_stats(filters=LogFilter(tool_id="laser:b"))["results"]] == [
        "laser:b"
    ]
    assert selectors.profile_stats(filters=LogFilter(profile="nope"))["results"] == []
    limited = selectors.profile_stats(filters=LogFilter(), limit=1)
    assert limited["count"] == 2 and len(limited["results"]) == 1


def test_since_until_are_exact_inside_a_day(log):
    # Only the second and third runs of A, and the attempts stamped in that window.
    window = LogFilter(since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2, minutes=30))
    a = _row(selectors.profile_stats(filters=window), A)
    assert (a["runs"], a["successes"]) == (2, 1)
    assert a["attempts"] == 4 and a["risk"]["RED"]["count"] == 2


def test_whole_days_and_partial_edges_add_up(default_profile):
    days = [T0 + timedelta(days=d, hours=h) for d in range(4) for h in (1, 13)]
    log_services.runs_ingest(runs=[run_item(at=moment) for moment in days])
    since, until = T0.replace(hour=6), T0.replace(hour=6) + timedelta(days=2, hours=12)
    stats = selectors.profile_stats(filters=LogFilter(since=since, until=until))["results"][0]
    expected = [moment for moment in days if since <= moment < until]
    assert stats["runs"] == len(expected) == 5
    pieces = selectors.time_pieces(since, until)
    assert pieces == (
        (T0.date() + timedelta(days=1), T0.date() + timedelta(days=2)),  # 2 June whole
        [
            (since, datetime(2025, 6, 2, tzinfo=UTC)),
            (datetime(2025, 6, 3, tzinfo=UTC), until),
        ],  # the rest of 1 June, most of 3 June
    )


def test_run_id_filter_uses_that_run(log):
    stats = selectors.profile_stats(filters=LogFilter(run_id=uuid.UUID(log[0]["run_id"])))
    assert [(r["runs"], r["attempts"]) for r in stats["results"]] == [(1, 3)]


def test_windows_select_runs_then_their_attempts(log):
    # The two newest runs are B's (0 and 1 attempts): their one attempt, and nothing of A.
    by_runs = selectors.profile_stats(filters=LogFilter(), window=Window(max_runs=2))
    assert [(r["tool_id"], r["runs"], r["attempts"]) for r in by_runs["results"]] == [("laser:b", 2, 1)]
    # The newest runs whose attempts add up to at most 3: B's two (1) and A's newest (2).
    by_attempts = selectors.profile_stats(filters=LogFilter(), window=Window(max_attempts=3))
    assert {r["tool_id"]: (r["runs"], r["attempts"]) for r in by_attempts["results"]} == {
        "laser:b": (2, 1),
        "saw:a": (1, 2),
    }
    both = selectors.profile_stats(filters=LogFilter(tool_id="saw:a"), window=Window(max_runs=1, max_attempts=2))
    assert [(r["runs"], r["attempts"], r["avg_selected_score"]) for r in both["results"]] == [(1, 2, 75.0)]
    # A window too small for the newest run holds no run at all, rather than half of one.
    assert selectors.profile_stats(filters=LogFilter(tool_id="saw:a"), window=Window(max_attempts=1))["results"] == []


def test_hotspots_ranking_small_samples_ties_and_min_runs(default_profile):
    def runs_of(tool: str, good: int, bad: int) -> list[dict]:
        base = dict(material_id="wood:x", machine_id="m1", with_attempts=False)
        return [run_item(tool_id=tool, **base) for _ in range(good)] + [
            run_item(tool_id=tool, success=False, scores=[(45.0, "RED")], **base) for _ in range(bad)
        ]

    batch = (
        runs_of("few-all-failed", 0, 3)
        + runs_of("many-mostly-failed", 100, 400)
        + runs_of("tie-a", 5, 5)
        + runs_of("tie-b", 5, 5)
    )
    batch += runs_of("all-good", 40, 0)  # the evidence supports no problem: score 0, no hotspot
    for start in range(0, len(batch), 1000):
        log_services.runs_ingest(runs=batch[start : start + 1000])
    result = selectors.hotspots(filters=LogFilter(), min_runs=3)
    order = [r["tool_id"] for r in result["results"]]
    assert order == ["many-mostly-failed", "few-all-failed", "tie-a", "tie-b"]  # ties: by name
    assert result["results"][0]["score"] == pytest.approx(76.3, abs=0.05)
    assert result["results"][0]["reasons"][0] == "success 20% (95% interval 17–24%) over 500 runs"
    assert [r["tool_id"] for r in selectors.hotspots(filters=LogFilter(), min_runs=5)["results"]] == [
        "many-mostly-failed",
        "tie-a",
        "tie-b",
    ]
    # considered counts every context with enough runs, the all-good one too
    assert selectors.hotspots(filters=LogFilter(), min_runs=3, limit=1)["considered"] == 5


def test_profile_versions_across_a_change_and_a_rollback(default_profile):
    first = default_profile.history.get().history_id
    log_services.runs_ingest(
        runs=[run_item(profile_version=1, success=(i < 2), scores=None) for i in range(4)]
    )  # 2 of 4
    profile_services.profile_update(name="default", changes={"max_rings": 4}, note="fewer rings")
    log_services.runs_ingest(
        runs=[run_item(profile_version=2, success=(i < 1), scores=None) for i in range(4)]
    )  # 1 of 4
    profile_services.profile_rollback(name="default", history_id=first, note="back to v1")
    log_services.runs_ingest(runs=[run_item(profile_version=3, success=True) for _ in range(4)])  # 4 of 4

    result = selectors.profile_versions(profile="default", filters=LogFilter(profile="default"))
    assert result["exists"] and [v["version"] for v in result["results"]] == [3, 2, 1]
    v3, v2, v1 = result["results"]
    assert (v3["type"], v3["rollback_of"], v3["note"]) == (
        "rollback",
        first,
        f"rollback to version 1 (record #{first}): back to v1",
    )
    assert v3["changes"] == [{"field": "max_rings", "before": 4, "after": 6}]
    assert (v1["success_rate"], v2["success_rate"], v3["success_rate"]) == (0.5, 0.25, 1.0)
    # v2 against v1 (the one it replaced); v3, a rollback to v1, against v2 and against v1.
    [v2_previous] = v2["comparisons"]
    assert (v2_previous["against"], v2_previous["kind"], v2_previous["crude_difference"]) == (1, "previous", -0.25)
    assert v2_previous["verdict"] == "no_change_detected" and v2_previous["strata"] == 1
    assert [(c["against"], c["kind"]) for c in v3["comparisons"]] == [(2, "previous"), (1, "restored")]
    assert v3["comparisons"][1]["note"].startswith("v3 restored the values of v1.")
    assert v1["comparisons"] == []
    assert v2["changes"] == [{"field": "max_rings", "before": 6, "after": 4}] and v2["note"] == "fewer rings"


def test_profile_versions_of_a_profile_known_only_from_the_log():
    log_services.runs_ingest(runs=[run_item(profile="elsewhere", profile_version=7)])
    result = selectors.profile_versions(profile="elsewhere", filters=LogFilter(profile="elsewhere"))
    assert not result["exists"] and [(v["version"], v["time"], v["runs"]) for v in result["results"]] == [(7, None, 1)]


def test_hotspot_reasons_use_singular_for_one(default_profile):
    log_services.runs_ingest(runs=[run_item(attempts=1, success=False)])
    [spot] = selectors.hotspots(filters=LogFilter(), min_runs=1)["results"]
    assert any(reason.startswith("RED share 100% of a run's") for reason in spot["reasons"]), spot["reasons"]
    assert any(reason.endswith("over 1 run") for reason in spot["reasons"]), spot["reasons"]  # "1 runs" before


def test_runs_naming_a_version_the_profile_never_had_count_as_unknown_version(default_profile):
    log_services.runs_ingest(runs=[run_item(profile_version=1), run_item(profile_version=99)])
    result = selectors.profile_versions(profile="default", filters=LogFilter(profile="default"))
    assert [(v["version"], v["runs"]) for v in result["results"]] == [(1, 1)]  # v99 was listed above v1 before
    assert result["unknown_version"]["runs"] == 1


def test_timeseries_days_zero_filled_with_markers(default_profile):
    log_services.runs_ingest(runs=[run_item(at=T0), run_item(at=T0 + timedelta(days=2), success=False)])
    series = selectors.timeseries(
        filters=LogFilter(since=T0.replace(hour=0), until=T0.replace(hour=0) + timedelta(days=3))
    )
    assert [(d["day"], d["runs"], d["success_rate"]) for d in series["days"]] == [
        ("2025-06-01", 1, 1.0),
        ("2025-06-02", 0, None),
        ("2025-06-03", 1, 0.0),
    ]
    assert series["days"][0]["profiles"] == [{"profile": "default", "version": 1, "runs": 1}]
    assert series["markers"] == []  # the profile's journal is from today, outside the range
    now = datetime.now(UTC)
    recent = selectors.timeseries(
        filters=LogFilter(since=now - timedelta(days=1), until=now + timedelta(days=1), profile="default")
    )
    assert [(m["profile"], m["version"], m["type"]) for m in recent["markers"]] == [("default", 1, "created")]


def test_orphan_attempts_count_under_their_run_profile_once_it_arrives(default_profile):
    run_id = new_run_id()
    log_services.events_ingest(events=[attempt_event(run_id, 1)])
    before = selectors.profile_versions(profile="default", filters=LogFilter(profile="default"))
    assert before["results"][0]["attempts"] == 0
    assert (
        selectors.profile_stats(filters=LogFilter())["results"][0]["attempts"] == 1
    )  # counted at once under its context
    summary = run_item(run_id=run_id, with_attempts=False, scores=[(85.0, "GREEN")])
    summary["event_type"] = "ai_constraint_run_summary"
    log_services.events_ingest(events=[summary])
    after = selectors.profile_versions(profile="default", filters=LogFilter(profile="default"))
    assert (after["results"][0]["runs"], after["results"][0]["attempts"]) == (1, 1)
    assert after["unknown_version"] is None


@pytest.mark.parametrize(
    ("filters", "window"),
    [
        (LogFilter(), Window()),
        (LogFilter(tool_id="saw:a"), Window()),
        (LogFilter(since=T0 - timedelta(minutes=30), until=T0 + timedelta(hours=3, minutes=30)), Window()),
        (LogFilter(), Window(max_runs=3, max_attempts=4)),
        (LogFilter(), Window(max_runs=2)),
    ],
)
def test_stats_and_hotspots_answer_as_the_two_selectors_do(log, filters, window):
    """The dashboard's one read of the aggregates gives exactly the two endpoints' answers."""
    stats, spots = selectors.stats_and_hotspots(filters=filters, window=window, limit=1, hotspots_limit=5, min_runs=1)
    assert stats == selectors.profile_stats(filters=filters, window=window, limit=1)
    assert spots == selectors.hotspots(filters=filters, window=window, limit=5, min_runs=1)


@pytest.mark.parametrize("since_minutes", [1, 20, 60, 3 * 60, 11 * 60 + 59])
def test_most_of_a_day_is_the_days_aggregates_minus_the_short_rest(default_profile, since_minutes):
    """A start edge that is most of its day ("the last 24 h" from just after midnight) is read as
    the day's aggregates minus the log before it: every number equals reading the edge from the log."""
    from django.db.models import Q

    from analytics.selectors.aggregates import _counts, _from_log, _most_of_a_day, _sums

    midnight = datetime(2025, 6, 1, tzinfo=UTC)
    moments = [midnight + timedelta(minutes=m) for m in (10, 40, 120, 300, 780, 1430)]
    log_services.runs_ingest(
        runs=[
            run_item(
                **(A if i % 2 else B),
                at=moment,
                success=i % 3 != 0,
                attempts=1 + i % 3,
            )
            for i, moment in enumerate(moments)
        ]
        + [run_item(**A, at=midnight - timedelta(hours=1)), run_item(**B, at=midnight + timedelta(days=1, hours=2))]
    )
    group = ("tool_id", "material_id", "machine_id", "geometry_engine")
    since = midnight + timedelta(minutes=since_minutes)
    next_midnight = midnight + timedelta(days=1)
    assert _most_of_a_day(LogFilter(since=since), Q(), group, since, next_midnight) is not None
    by_difference = {k: _counts(v) for k, v in _sums(LogFilter(since=since), group, Window()).items()}
    from_log = {
        k: _counts(v) for k, v in _from_log(LogFilter(), group, since, next_midnight + timedelta(days=1)).items()
    }
    assert by_difference.keys() == from_log.keys()
    for key, counts in from_log.items():
        assert by_difference[key].summary() == counts.summary(), key
        assert by_difference[key].last_run_at == counts.last_run_at
    # Half the day or more is read from the log, as before.
    assert _most_of_a_day(LogFilter(), Q(), group, midnight + timedelta(hours=12), next_midnight) is None
