"""Tuning jobs' lifecycle (DESIGN §11): queued -> running -> done, failed or cancelled, run by
django-tasks' real database worker; the same job in the foreground (``tune_profile``)."""

from __future__ import annotations

import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django_tasks_db.models import DBTaskResult

from engine.profile import parse_profile
from profiles import selectors as profile_selectors
from tests.factories import run_task_worker
from tests.tuning.conftest import ROUTER
from tuning import services
from tuning.models import TuningJob


@pytest.mark.django_db(transaction=True)  # the worker closes its connection between tasks
def test_a_queued_job_runs_on_the_worker_to_done_with_valid_proposals(tuned_profile, operator):
    job = services.tuning_job_create(profile="tuned", trials=12, seed=4, user=operator)
    assert job.state == "queued" and job.trials_done == 0 and job.task_id
    assert job.profile_version == 1 and [runs for _, runs in job.traffic] == [20, 10]
    run_task_worker()
    job.refresh_from_db()
    assert job.state == "done", job.error
    assert job.trials_done == 12 and job.started_at <= job.finished_at
    assert DBTaskResult.objects.get(id=job.task_id).status == "SUCCESSFUL"
    result = job.result
    assert result["seed"] == 4 and len(result["history"]) == 12
    assert 1 <= len(result["proposals"]) <= 3
    palettes = profile_selectors.catalog_get().palette_keys()
    for proposal in result["proposals"]:
        spec, problems = parse_profile("p", proposal["values"], palette_keys=palettes)
        assert spec is not None, problems
        assert proposal["distinct_designs"] >= result["saved"]["min_distinct_designs"]
        assert {item["field"] for item in proposal["diff"]} == {c["field"] for c in proposal["changes"]}


@pytest.mark.django_db
def test_a_seed_gives_the_same_result(tuned_profile):
    results = []
    for _ in range(2):
        job = services.tuning_job_create(profile="tuned", trials=10, seed=9, enqueue=False)
        job = services.tuning_job_run(job_id=job.pk)
        results.append({k: v for k, v in job.result.items() if k != "study_name"})
    assert results[0] == results[1]


@pytest.mark.django_db
def test_a_focused_job_makes_that_contexts_share_the_objective(tuned_profile):
    router = {**ROUTER, "workflow_mode": "constraint_first", "geometry_engine": "shapely"}
    job = services.tuning_job_create(profile="tuned", context=router, trials=10, seed=2, enqueue=False)
    job = services.tuning_job_run(job_id=job.pk)
    assert job.state == "done"
    assert job.focus == job.result["focus"] == router
    assert job.result["saved"]["objective"] != job.result["saved"]["acceptable_share"]


@pytest.mark.django_db(transaction=True)  # the worker closes its connection between tasks
def test_a_job_whose_record_breaks_a_rule_fails_and_says_why(tuned_profile):
    job = services.tuning_job_create(profile="tuned", trials=10, seed=1)
    # The catalog lost the palette since the job was queued.
    TuningJob.objects.filter(pk=job.pk).update(saved_values={**job.saved_values, "palette_key": "gone"})
    run_task_worker()
    job.refresh_from_db()
    assert job.state == "failed" and job.result is None
    assert "palette_key" in job.error and "gone" in job.error


@pytest.mark.django_db(transaction=True)  # the worker closes its connection between tasks
def test_a_queued_job_cancelled_never_runs(tuned_profile, operator):
    job = services.tuning_job_create(profile="tuned", trials=10, seed=1, user=operator)
    cancelled = services.tuning_job_cancel(job_id=job.pk, user=operator)
    assert cancelled.state == "cancelled" and cancelled.finished_at is not None
    run_task_worker()
    job.refresh_from_db()
    assert job.state == "cancelled" and job.trials_done == 0 and job.result is None


@pytest.mark.django_db(transaction=True)
def test_a_running_job_cancelled_stops_before_its_next_trial_and_keeps_what_it_found(tuned_profile, operator):
    job = services.tuning_job_create(profile="tuned", trials=2000, seed=1, user=operator)

    def in_thread() -> None:
        try:
            run_task_worker()
        finally:
            connections.close_all()  # this thread's own connection: PostgreSQL drops the test database after

    worker = threading.Thread(target=in_thread)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while TuningJob.objects.get(pk=job.pk).trials_done < 3:
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
        assert TuningJob.objects.get(pk=job.pk).state == "running"
        services.tuning_job_cancel(job_id=job.pk, user=operator)
    finally:
        worker.join(120)
    job.refresh_from_db()
    assert job.state == "cancelled"
    assert 3 <= job.trials_done < 2000
    assert job.result["stopped"] is True and job.result["trials_done"] == job.trials_done
    assert len(job.result["history"]) == job.trials_done


@pytest.mark.django_db
def test_a_job_whose_worker_died_reads_stalled_and_a_cancel_finishes_it_at_once(tuned_profile, operator):
    from datetime import timedelta

    from django.utils import timezone

    from tuning.selectors import tuning_job_to_dict

    job = services.tuning_job_create(profile="tuned", trials=100, seed=1, user=operator, enqueue=False)
    # A worker that is alive: its last trial 10 s ago. A cancel only asks it to stop.
    TuningJob.objects.filter(pk=job.pk).update(
        state="running", started_at=timezone.now() - timedelta(minutes=1), heartbeat_at=timezone.now()
    )
    job.refresh_from_db()
    assert tuning_job_to_dict(job)["stalled"] is False
    assert services.tuning_job_cancel(job_id=job.pk, user=operator).state == "running"
    # As a SIGKILLed worker leaves it: running, its last trial 10 minutes ago.
    TuningJob.objects.filter(pk=job.pk).update(
        cancel_requested=False, heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    job.refresh_from_db()
    assert tuning_job_to_dict(job)["stalled"] is True
    cancelled = services.tuning_job_cancel(job_id=job.pk, user=operator)
    assert cancelled.state == "cancelled" and cancelled.finished_at is not None
    assert "worker stopped" in cancelled.error
    assert tuning_job_to_dict(cancelled)["stalled"] is False


@pytest.mark.django_db
def test_a_worker_that_was_only_slow_does_not_undo_a_stalled_jobs_cancel(tuned_profile, operator):
    """The cancel of a job that looked stalled lands while its worker, alive after all, is past its
    last trial: the worker's final write must not turn the cancelled job into a done one."""
    from django.utils import timezone

    job = services.tuning_job_create(profile="tuned", trials=10, seed=1, user=operator, enqueue=False)

    def cancelled_meanwhile(done: int, total: int) -> None:
        if done == total:  # as tuning_job_cancel leaves a stalled job
            TuningJob.objects.filter(pk=job.pk).update(
                state="cancelled", error="Its worker stopped: no trial finished after …", finished_at=timezone.now()
            )

    finished = services.tuning_job_run(job_id=job.pk, on_trial=cancelled_meanwhile)
    job.refresh_from_db()
    assert job.state == finished.state == "cancelled" and job.error.startswith("Its worker stopped")


@pytest.mark.django_db
def test_cancelling_a_finished_job_is_refused(tuned_profile):
    from rmos_site.errors import Conflict

    job = services.tuning_job_create(profile="tuned", trials=10, seed=1, enqueue=False)
    services.tuning_job_run(job_id=job.pk)
    with pytest.raises(Conflict):
        services.tuning_job_cancel(job_id=job.pk)


@pytest.mark.django_db
def test_tune_profile_runs_a_job_in_the_foreground_with_a_progress_bar(tuned_profile):
    out, err = StringIO(), StringIO()
    call_command("tune_profile", "tuned", "--trials", "10", "--seed", "3", stdout=out, stderr=err)
    job = TuningJob.objects.get()
    assert job.state == "done" and job.trials_done == 10 and job.task_id == ""
    assert f"Job #{job.pk} done: 10 trials" in out.getvalue()
    assert "tuning tuned" in err.getvalue() and "10/10" in err.getvalue()


@pytest.mark.django_db
def test_tune_profile_names_the_broken_rule(tuned_profile):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="trials"):
        call_command("tune_profile", "tuned", "--trials", "5", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="context"):
        call_command("tune_profile", "tuned", "--context", "a,b,c", "--trials", "10", stdout=StringIO())
