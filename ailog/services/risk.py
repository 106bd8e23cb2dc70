"""Each run's RED share for the aggregates, as a write to the log changes it (issue 16: the run is
the unit of evidence, so the aggregates keep Σ and Σ² of the runs' shares, keyed on the run).

A run created now counts the share of all its attempts (stored before it, as events may be, and
added now); a stored run that gains attempts takes back the share it had and counts the new one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection

from ailog.counts import Tally
from ailog.models import AiRun
from ailog.records import A_BUCKET


def lock_stored_runs(run_ids: set[uuid.UUID]) -> None:
    """PostgreSQL: lock the stored runs a batch adds attempts to, before their attempts are read.
    Two writers adding attempts to one run must not both read the attempts as they were before
    either (both would take back the same share); the second waits here, then reads the first's."""
    if connection.vendor == "postgresql" and run_ids:
        list(AiRun.objects.select_for_update().filter(run_id__in=run_ids).order_by("run_id").values_list("id"))


class RunRisk:
    """The attempts a write adds, per run, and the share changes they make."""

    def __init__(self) -> None:
        self.added: dict[uuid.UUID, list[int]] = {}  # per run: [RED, all] of the attempts added

    def add(self, run_id: uuid.UUID, buckets: Iterable[str]) -> None:
        into = self.added.get(run_id)
        if into is None:
            into = self.added[run_id] = [0, 0]
        for bucket in buckets:
            into[0] += bucket == "RED"
            into[1] += 1

    def tally(
        self,
        tally: Tally,
        *,
        created: set[uuid.UUID],
        stored: Mapping[tuple, tuple],
        known: Mapping[uuid.UUID, Mapping[str, Any]],
    ) -> None:
        """Fold the share changes into ``tally``: ``stored`` holds the attempts stored before this
        write for the runs it touches, ``known`` those runs' values."""
        before: dict[uuid.UUID, list[int]] = {}
        for (run_id, _), row in stored.items():
            into = before.setdefault(run_id, [0, 0])
            into[0] += row[A_BUCKET] == "RED"
            into[1] += 1
        for run_id in created | self.added.keys():
            run = known.get(run_id)
            if run is None:
                continue  # attempts of a run whose summary has not arrived: counted with it
            red, n = before.get(run_id, (0, 0))
            added_red, added = self.added.get(run_id, (0, 0))
            if run_id not in created:
                tally.run_risk(run, red=red, attempts=n, sign=-1)
            tally.run_risk(run, red=red + added_red, attempts=n + added)
