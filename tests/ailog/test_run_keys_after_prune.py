"""Run keys and prune (found in review of issue 19's keys): a key issued once is never issued
again, and attempts that outlive their pruned run (an attempt may be dated after its run's
summary) stay found by their run id, so a retry of the run does not store them twice."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.db.models import Q

from ailog import selectors, services
from ailog.models import AiAttempt, AiRun
from tests.factories import T0, attempt_item, run_item

pytestmark = pytest.mark.django_db


def test_a_pruned_runs_key_is_not_issued_again_while_its_attempts_remain(default_profile):
    # The newest run's attempt is dated after its summary (nothing refuses that), so a prune
    # between the two deletes the run and keeps the attempt, with the run's key.
    gone = run_item(attempts=1, at=T0)
    gone["attempt_records"] = [attempt_item(1, at=T0 + timedelta(minutes=1))]
    services.runs_ingest(runs=[gone])
    old_key = AiRun.objects.get().run_key
    services.logs_prune(before=T0 + timedelta(seconds=30))
    assert (AiRun.objects.count(), AiAttempt.objects.count()) == (0, 1)

    fresh = run_item(attempts=1, at=T0 + timedelta(minutes=2))
    result = services.runs_ingest(runs=[fresh])  # SQLite: IntegrityError on (run_key, attempt_index)
    assert (result.runs_created, result.attempts_created) == (1, 1)
    assert AiRun.objects.get().run_key != old_key
    assert [a["run_id"] for a in selectors.run_get(run_id=fresh["run_id"]).attempts] == [AiRun.objects.get().run_id]


def test_a_pruned_runs_key_is_not_issued_again(default_profile):
    """Keys follow arrival order: a run posted after a prune does not take the key of a run
    posted (and pruned) before it."""
    services.runs_ingest(runs=[run_item(attempts=1, at=T0)])
    old_key = AiRun.objects.get().run_key
    services.logs_prune(before=T0 + timedelta(seconds=30))
    services.runs_ingest(runs=[run_item(attempts=1, at=T0 + timedelta(minutes=2))])
    assert AiRun.objects.get().run_key > old_key


def test_attempts_that_outlive_their_pruned_run_stay_found_by_its_run_id(default_profile):
    """A prune that deletes a run but keeps an attempt dated after it must leave the attempt
    reachable from its run id: else a retry of the run stores the attempt a second time under a
    new key, and the filters by run id no longer find it."""
    gone = run_item(attempts=1, at=T0)
    gone["attempt_records"] = [attempt_item(1, at=T0 + timedelta(minutes=1))]
    services.runs_ingest(runs=[copy.deepcopy(gone)])
    services.logs_prune(before=T0 + timedelta(seconds=30))
    assert (AiRun.objects.count(), AiAttempt.objects.count()) == (0, 1)

    result = services.runs_ingest(runs=[copy.deepcopy(gone)])  # the integrator retries the batch
    assert AiAttempt.objects.filter(run_id=gone["run_id"], attempt_index=1).count() == 1
    assert (result.runs_created, result.attempts_created, result.attempts_unchanged) == (1, 0, 1)


def test_the_attempts_filter_finds_attempts_that_outlive_their_pruned_run(default_profile):
    gone = run_item(attempts=1, at=T0)
    gone["attempt_records"] = [attempt_item(1, at=T0 + timedelta(minutes=1))]
    services.runs_ingest(runs=[gone])
    services.logs_prune(before=T0 + timedelta(seconds=30))
    assert AiAttempt.objects.count() == 1
    assert selectors.run_keys(Q(run_id=gone["run_id"])) == [AiAttempt.objects.get().run_key]
