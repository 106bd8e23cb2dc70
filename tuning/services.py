"""Tuning jobs (DESIGN §11): start one, run it, cancel it. Every door (API, pages,
``manage.py tune_profile``) comes through here.

:func:`tuning_job_create` checks the request, records what the job will search (the profile's
version and values, its traffic of the last 30 days, the focus) and queues it on django-tasks'
database backend (:mod:`tuning.tasks`), in one transaction: the worker sees the job and its task
together or neither. :func:`tuning_job_run` runs :func:`engine.tuning.tune` on that record; the
engine calls back after every trial (the progress, written to the row) and before each (the
cancel flag, read from the row: a cancelled job stops there and keeps what it found).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from analytics import selectors as analytics_selectors
from engine.context import Context, parse_context
from engine.tuning import (
    DEFAULT_SAMPLES_PER_CONTEXT,
    MAX_TRIALS,
    MIN_TRIALS,
    SEED_LIMIT,
    TuningError,
    plain_values,
    tune,
)
from profiles import selectors as profile_selectors
from rmos_site.errors import Conflict, FieldError, NotFound, ValidationFailed
from tuning.models import TuningJob

logger = logging.getLogger("rmos.tuning")

START_PERMISSION = "tuning.add_tuningjob"
CANCEL_PERMISSION = "tuning.change_tuningjob"


def may_start(user) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(START_PERMISSION)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _focus(context: Any, traffic: list[tuple[Context, int]], profile: str) -> Context | None:
    if context is None:
        return None
    if not isinstance(context, Mapping):
        raise ValidationFailed.single("context", "type", "must be an object with tool_id, material_id, machine_id, …")
    parsed, problems = parse_context(context)
    unknown = sorted(set(context) - set(Context.__dataclass_fields__))
    errors = [FieldError(f"context.{p.field}", p.rule, p.message) for p in problems]
    errors += [FieldError(f"context.{k}", "unknown_field", "is not a context field") for k in unknown]
    if errors:
        raise ValidationFailed(errors=errors)
    if parsed not in [c for c, _ in traffic]:
        raise ValidationFailed.single(
            "context",
            "not_in_traffic",
            f"has no traffic of {profile} in the last 30 days (or too little: the traffic is the contexts "
            "holding 95% of its runs, at most 20); tune it on a context that has",
        )
    return parsed


def tuning_job_create(
    *,
    profile: Any,
    context: Any = None,
    trials: Any,
    seed: Any = None,
    user=None,
    samples_per_context: int = DEFAULT_SAMPLES_PER_CONTEXT,
    enqueue: bool = True,
) -> TuningJob:
    """Check and record a tuning job of ``profile`` (optionally focused on ``context``, one of
    its traffic's contexts), ``trials`` 10-2,000, ``seed`` 0-2⁶³-1 (drawn when ``None``), and
    queue it (``enqueue=False``: the caller runs it, as ``tune_profile`` does). Raises
    ValidationFailed naming ``profile``, ``context``, ``trials`` or ``seed``."""
    errors = []
    if not _whole(trials) or not MIN_TRIALS <= trials <= MAX_TRIALS:
        errors.append(FieldError("trials", "range", f"must be a whole number from {MIN_TRIALS} to {MAX_TRIALS:,}"))
    if seed is not None and (not _whole(seed) or not 0 <= seed < SEED_LIMIT):
        errors.append(FieldError("seed", "range", f"must be a whole number from 0 to {SEED_LIMIT - 1}"))
    if not isinstance(profile, str):
        errors.append(FieldError("profile", "type", "must be a profile's name"))
    if errors:
        raise ValidationFailed(errors=errors)
    try:
        found = profile_selectors.profile_get(name=profile)
    except NotFound:
        raise ValidationFailed.single("profile", "unknown", f"no profile is named {profile!r}") from None
    traffic = analytics_selectors.profile_traffic(name=found.name)
    contexts = list(traffic.contexts)
    if not contexts:
        raise ValidationFailed.single(
            "profile",
            "no_traffic",
            f"no runs resolved to {found.name} in the last 30 days: there is nothing to tune on",
        )
    focus = _focus(context, contexts, found.name)
    with transaction.atomic():
        job = TuningJob.objects.create(
            profile_name=found.name,
            profile_version=found.version,
            saved_values=plain_values(profile_selectors.profile_values(found)),
            traffic=[[c.as_dict(), runs] for c, runs in contexts],
            focus=focus.as_dict() if focus is not None else None,
            trials=trials,
            seed=seed if seed is not None else random.SystemRandom().randrange(SEED_LIMIT),
            samples_per_context=samples_per_context,
            started_by=user if (user is not None and user.is_authenticated) else None,
        )
        if enqueue:
            from tuning.tasks import tuning_job_task

            job.task_id = str(tuning_job_task.enqueue(job_id=job.pk).id)
            job.save(update_fields=["task_id"])
    return job


def _ending(state: str, result: dict | None, error: str) -> dict[str, Any]:
    """The fields a job's last write sets."""
    fields: dict[str, Any] = {"state": state, "result": result, "error": error, "finished_at": timezone.now()}
    if result is not None:
        fields["trials_done"] = result["trials_done"]
    return fields


def _finish(job: TuningJob, state: str, *, result: dict | None = None, error: str = "") -> TuningJob:
    fields = _ending(state, result, error)
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=list(fields))
    return job


def _finish_running(job: TuningJob, state: str, *, result: dict | None = None, error: str = "") -> TuningJob:
    """The worker's last write, only if the job is still running: a cancel of a job that looked
    stalled (:attr:`TuningJob.stalled`) has finished it already, and stands."""
    fields = _ending(state, result, error)
    if TuningJob.objects.filter(pk=job.pk, state=TuningJob.State.RUNNING).update(**fields):
        for name, value in fields.items():
            setattr(job, name, value)
    else:
        job.refresh_from_db()
    return job


def tuning_job_run(
    *,
    job_id: int,
    on_trial: Callable[[int, int], None] | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    sampler_seed: int | None = None,
) -> TuningJob:
    """Run a queued job to its end: done (with the result), cancelled (with what it found
    before the cancel) or failed (with the reason, also re-raised when it is not a rule the
    job's record breaks). A job no longer queued is left as it is. ``on_trial(done, total)``
    is called after each trial (the command's progress bar); ``storage``, ``study_name`` and
    ``sampler_seed`` share one Optuna study between workers (see :func:`engine.tuning.tune`)."""
    with transaction.atomic():
        job = TuningJob.objects.select_for_update().get(pk=job_id)
        if job.state != TuningJob.State.QUEUED:
            return job
        if job.cancel_requested:
            return _finish(job, TuningJob.State.CANCELLED)
        job.state, job.started_at = TuningJob.State.RUNNING, timezone.now()
        job.heartbeat_at = job.started_at
        job.save(update_fields=["state", "started_at", "heartbeat_at"])
    rows = TuningJob.objects.filter(pk=job.pk)

    def progress(done: int, total: int) -> None:
        rows.update(trials_done=done, heartbeat_at=timezone.now())  # not a tracked model: a plain update
        if on_trial is not None:
            on_trial(done, total)

    def should_stop() -> bool:
        return rows.filter(cancel_requested=True).exists()

    try:
        result = tune(
            profile_selectors.catalog_get(),
            job.saved_values,
            [(Context(**context), runs) for context, runs in job.traffic],
            focus=Context(**job.focus) if job.focus else None,
            trials=job.trials,
            samples_per_context=job.samples_per_context,
            seed=job.seed,
            storage=storage,
            study_name=study_name,
            sampler_seed=sampler_seed,
            progress=progress,
            should_stop=should_stop,
        )
    except TuningError as exc:
        return _finish_running(job, TuningJob.State.FAILED, error=f"The job's record breaks a rule: {exc}")
    except Exception as exc:
        logger.exception("tuning job %s failed", job.pk)
        _finish_running(job, TuningJob.State.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    state = TuningJob.State.CANCELLED if result["stopped"] else TuningJob.State.DONE
    return _finish_running(job, state, result=result)


def tuning_job_cancel(*, job_id: int, user=None) -> TuningJob:
    """Cancel a job: a queued one at once; a running one stops before its next trial and keeps
    what it found. A finished job answers 409."""
    with transaction.atomic():
        job = TuningJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"No tuning job #{job_id}.", extra={"field": "id"})
        if job.finished:
            message = f"tuning job #{job.pk} is {job.state}: there is nothing to cancel"
            raise Conflict(message[:1].upper() + message[1:] + ".", errors=[FieldError("state", "state", message)])
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
        if job.state == TuningJob.State.QUEUED:
            return _finish(job, TuningJob.State.CANCELLED)
        if job.stalled:  # its worker is gone: nobody else would ever finish it
            beat = job.heartbeat_at or job.started_at
            return _finish(
                job,
                TuningJob.State.CANCELLED,
                result=job.result,
                error=f"Its worker stopped: no trial finished after {beat:%Y-%m-%d %H:%M} UTC.",
            )
    return job
