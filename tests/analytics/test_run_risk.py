"""Per-run risk in the aggregates (issue 16 item 2): each run's RED share counted once, whether its
attempts come with it, before its summary, after it, or are pruned from under it; always equal to
a recomputation from the log (rebuild_aggregates --check)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from ailog import services as log_services
from analytics.models import ContextTotal
from analytics.services import aggregates_rebuild
from tests.factories import T0, attempt_event, new_run_id, run_event, run_item, together


def _totals() -> tuple[int, float, float]:
    row = ContextTotal.objects.get()
    return row.risk_runs, row.red_share_sum, row.red_share_sq_sum


def _red(run_id: str, index: int, **extra) -> dict:
    return attempt_event(
        run_id,
        index,
        at=T0 - timedelta(seconds=10 - index),
        score=30.0,
        risk_bucket="RED",
        is_acceptable=False,
        **extra,
    )


def _green(run_id: str, index: int) -> dict:
    return attempt_event(run_id, index, at=T0 - timedelta(seconds=10 - index))


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["same batch", "attempts first", "summary first", "split around the summary"])
def test_a_runs_red_share_is_counted_once_in_any_arrival_order(default_profile, order):
    run_id = new_run_id()
    summary = run_event(run_id, attempts=4)
    attempts = [_red(run_id, 1), _red(run_id, 2), _red(run_id, 3), _green(run_id, 4)]  # RED share 3/4
    if order == "same batch":
        batches = [attempts + [summary]]
    elif order == "attempts first":
        batches = [attempts, [summary]]
    elif order == "summary first":
        batches = [[summary], attempts]
    else:
        batches = [attempts[:1], [summary], attempts[1:3], attempts[3:]]
    for batch in batches:
        log_services.events_ingest(events=batch)
    risk_runs, total, total_sq = _totals()
    assert (risk_runs, total, total_sq) == (1, pytest.approx(0.75), pytest.approx(0.5625))
    assert aggregates_rebuild(check_only=True) == []


@pytest.mark.django_db
def test_nested_attempts_and_a_run_without_attempts(default_profile):
    log_services.runs_ingest(
        runs=[
            run_item(scores=[(40.0, "RED"), (90.0, "GREEN")]),  # 1/2
            run_item(scores=[(90.0, "GREEN")]),  # 0
            run_item(with_attempts=False),  # no attempt rows: no share
        ]
    )
    assert _totals() == (2, pytest.approx(0.5), pytest.approx(0.25))
    assert aggregates_rebuild(check_only=True) == []


@pytest.mark.django_db
def test_a_prune_that_cuts_a_run_at_midnight_counts_its_share_anew(default_profile):
    """A run just after midnight whose first attempts were before it: the prune of the day before
    removes those attempts, and the run's share is then that of the attempts left."""
    run_id = new_run_id()
    log_services.events_ingest(
        events=[
            attempt_event(run_id, 1, at=T0 - timedelta(seconds=2), score=30.0, risk_bucket="RED", is_acceptable=False),
            attempt_event(run_id, 2, at=T0 + timedelta(seconds=1)),
            run_event(run_id, at=T0 + timedelta(seconds=2), attempts=2),
        ]
    )
    assert _totals()[:2] == (1, pytest.approx(0.5))
    log_services.logs_prune(before=T0)
    assert _totals() == (1, pytest.approx(0.0), pytest.approx(0.0))
    assert aggregates_rebuild(check_only=True) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_of_one_stored_run_add_up(default_profile):
    """Two writers add attempts to the same stored run at once: each takes back the share it read,
    so without the run's lock both would take back the same one."""
    for _ in range(4):
        run_id = new_run_id()
        log_services.events_ingest(events=[run_event(run_id, attempts=4), _red(run_id, 1)])
        first, second = [_red(run_id, 2), _green(run_id, 3)], [_red(run_id, 4)]
        _, errors = together(
            lambda first=first: log_services.events_ingest(events=copy.deepcopy(first)),
            lambda second=second: log_services.events_ingest(events=copy.deepcopy(second)),
        )
        assert errors == []
        assert aggregates_rebuild(check_only=True) == []
    assert _totals() == (4, pytest.approx(3.0), pytest.approx(4 * 0.5625))
