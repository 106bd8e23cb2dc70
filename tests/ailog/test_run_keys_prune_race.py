"""A retry of a run racing a prune of that run (review of issue 19's keys, h-review).

Ingestion looks up a run's key (AiRunKey) before it touches the runs table; a prune that
commits in between deletes the run and moves its key to AiRunKey. The retry must not then
store the run again under a new key beside its surviving attempts (each attempt stored twice,
the old ones no longer found by the run id)."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta

import pytest
from django.db import connection

from ailog import services
from ailog.models import AiAttempt, AiRun
from ailog.services import store
from tests.factories import T0, attempt_item, run_item

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retry_racing_a_prune_of_its_run_stores_no_attempt_twice(default_profile, monkeypatch):
    gone = run_item(attempts=1, at=T0)
    gone["attempt_records"] = [attempt_item(1, at=T0 + timedelta(minutes=1))]  # outlives the prune
    services.runs_ingest(runs=[copy.deepcopy(gone)])

    pruned = []

    def prune() -> None:
        try:
            pruned.append(services.logs_prune(before=T0 + timedelta(seconds=30)).runs)
        except BaseException as exc:  # reported below
            pruned.append(exc)
        finally:
            connection.close()

    pruner = threading.Thread(target=prune)
    allocate = store.run_keys_allocate

    def allocate_then_let_a_prune_in(*args, **kwargs):
        keys = allocate(*args, **kwargs)
        if not pruner.is_alive() and pruner.ident is None:
            pruner.start()
            pruner.join(timeout=3)  # the prune commits here unless ingestion keeps it out
        return keys

    monkeypatch.setattr(store, "run_keys_allocate", allocate_then_let_a_prune_in)
    services.runs_ingest(runs=[copy.deepcopy(gone)])  # the integrator retries the batch
    pruner.join(timeout=30)
    assert not pruner.is_alive()
    assert pruned == [1]

    assert AiAttempt.objects.filter(run_id=gone["run_id"], attempt_index=1).count() == 1
    run = AiRun.objects.filter(run_id=gone["run_id"]).first()
    if run is not None:  # the retry came after the prune: the run is back under its old key
        assert run.run_key == AiAttempt.objects.get(run_id=gone["run_id"]).run_key
