"""The background task that runs a tuning job (django-tasks; its database backend's worker is
``manage.py db_worker``, which ``./dev start`` runs beside the server)."""

from __future__ import annotations

from django_tasks import task


@task()
def tuning_job_task(job_id: int) -> str:
    from tuning.services import tuning_job_run

    return tuning_job_run(job_id=job_id).state
