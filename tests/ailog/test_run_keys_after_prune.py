"""Run keys and prune (found in review of issue 19's keys): a key issued once is never issued
again, and attempts that outlive their pruned run (an attempt may be dated after its run's
summary) stay found by their run id, so a retry of the run does not store them twice."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta

import pytest
from django.db.models import Q

from ailog import selectors, services
from ailog.models import AiAttempt, AiRun, AiRunKey
from tests.factories import T0, attempt_event, attempt_item, new_run_id, run_event, run_item

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


def test_a_prune_drops_the_key_rows_of_the_runs_it_deletes_whole_and_keeps_the_others(default_profile):
    """A run whose attempts came before its summary has an AiRunKey row; so has a run deleted
    while attempts of it stay. Once a prune has deleted a run and every attempt of it, nothing
    needs the row: it goes, and a late retry of such a run is stored once under a new key."""
    orphan, summarised, outliving = new_run_id(), new_run_id(), run_item(attempts=1, at=T0)
    outliving["attempt_records"] = [attempt_item(1, at=T0 + timedelta(hours=2))]
    services.events_ingest(events=[attempt_event(orphan, 1, at=T0)])  # its summary never comes
    services.events_ingest(events=[attempt_event(summarised, 1, at=T0)])
    services.events_ingest(events=[run_event(summarised, at=T0)])
    services.runs_ingest(runs=[copy.deepcopy(outliving)])
    keys = dict(AiRunKey.objects.values_list("run_id", "id"))
    assert set(map(str, keys)) == {orphan, summarised}

    services.logs_prune(before=T0 + timedelta(hours=1))
    # Deleted whole: the orphan run's attempt, the summarised run and its attempt. The third run
    # is deleted but its attempt stays: its key moves to a row of its own.
    assert list(AiAttempt.objects.values_list("run_id", flat=True)) == [uuid.UUID(outliving["run_id"])]
    assert list(AiRunKey.objects.values_list("run_id", flat=True)) == [uuid.UUID(outliving["run_id"])]

    services.events_ingest(events=[attempt_event(orphan, 1, at=T0 + timedelta(hours=3))])  # a late retry
    assert AiAttempt.objects.filter(run_id=orphan).count() == 1
    assert AiRunKey.objects.get(run_id=orphan).id > max(keys.values())  # a key is never issued again

    services.logs_prune(before=T0 + timedelta(hours=4))
    assert (AiRun.objects.count(), AiAttempt.objects.count(), AiRunKey.objects.count()) == (0, 0, 0)
