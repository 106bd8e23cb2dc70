"""Every write to the AI log: the search loop, the ingestion API and the commands all come here.

* :func:`run_record` — one run of this server's search loop, with its attempts.
* :func:`runs_ingest` — a batch of runs posted by an integrator, each with its attempts.
* :func:`events_ingest` — a batch of seed-style events; attempts may come before their run.
* :func:`logs_prune` — delete everything older than a date.

The rules every write keeps are in :mod:`ailog.services.ingest`; storing a checked batch in one
transaction is :mod:`ailog.services.store`, its raw inserts :mod:`ailog.services.rows`.
"""

from ailog.services.ingest import (
    MAX_ATTEMPTS_PER_REQUEST,
    MAX_EVENTS_PER_REQUEST,
    MAX_RUNS_PER_REQUEST,
    events_ingest,
    paused_gc,
    run_record,
    runs_ingest,
)
from ailog.services.prune import PruneResult, log_hold_writers, logs_prune
from ailog.services.store import IngestResult

__all__ = [
    "MAX_ATTEMPTS_PER_REQUEST",
    "MAX_EVENTS_PER_REQUEST",
    "MAX_RUNS_PER_REQUEST",
    "IngestResult",
    "events_ingest",
    "paused_gc",
    "run_record",
    "runs_ingest",
    "PruneResult",
    "log_hold_writers",
    "logs_prune",
]
