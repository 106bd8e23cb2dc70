"""The ingestion benchmark on a tiny dataset (the rates themselves are the benchmark command's
business): a second invocation with ``--reuse`` ingests new runs, and every row has a baseline."""

from __future__ import annotations

import io

import pytest

from ailog.models import AiAttempt, AiRun
from bench.core import Bench
from bench.dataset import dataset_build
from bench.ingest import RAW_INDEXES, ingest_inprocess

pytestmark = pytest.mark.django_db

DATASET_ATTEMPTS = 400


def _bench() -> Bench:
    return Bench(database_url="", vendor="test", dataset={}, stdout=io.StringIO(), stderr=io.StringIO(), quick=True)


def test_a_reused_dataset_takes_new_runs_instead_of_replaying_its_own_ids():
    first = _bench()
    first.dataset = dataset_build(first, attempts=DATASET_ATTEMPTS, reuse=False)
    dataset_runs = set(AiRun.objects.values_list("run_id", flat=True))
    assert first.dataset["attempts"] >= 0.95 * DATASET_ATTEMPTS  # what --reuse accepts as big enough

    # A later `./dev bench --reuse`: the traffic generator starts again from its seed.
    again = _bench()
    again.dataset = dataset_build(again, attempts=DATASET_ATTEMPTS, reuse=True)
    assert set(AiRun.objects.values_list("run_id", flat=True)) == dataset_runs  # kept, not rebuilt
    rows = ingest_inprocess(again)

    added = AiRun.objects.exclude(run_id__in=dataset_runs)
    assert added.count() == 1000  # one quick round of 1,000 new runs, none refused as a conflict
    assert AiAttempt.objects.exclude(run_id__in=dataset_runs).count() > 1000
    # The raw baselines' rows in the attempts and runs tables themselves are gone again.
    assert not AiAttempt.objects.exclude(run_id__in=AiRun.objects.values("run_id")).exists()
    assert not AiRun.objects.filter(run_key__lt=0).exists()
    assert [row.metric for row in rows] == [
        "ingest: runs_ingest vs raw insert into the same table",
        "ingest: runs_ingest vs raw insert of its runs and attempts into the same tables (information)",
        "ingest: unchecked floor with its runs vs raw insert into the same table (information)",
        "ingest: runs_ingest vs raw insert into a plain table (information)",
        "ingest: runs_ingest vs raw insert into an empty table with our indexes (information)",
        "ingest: raw insert, 2 indexes only",
        "ingest: unchecked floor, 2 indexes",
    ]
    assert all(row.value > 0 and row.baseline > 0 for row in rows)
    assert rows[0].target == ">= 0.70x" and all(not row.target for row in rows[1:])
    assert "attempts table" in rows[0].baseline_label
    assert "runs and attempts" in rows[1].baseline_label
    # The floor with its runs adds Python work to the raw insert of the runs and attempts.
    assert rows[2].value < rows[1].baseline and rows[2].baseline == rows[0].baseline
    plain, minimal, floor = rows[3].baseline, rows[5].value, rows[6].value
    assert rows[5].baseline == rows[6].baseline == plain
    # The floor adds Python work to the 2-index insert, so it can only be slower than that insert.
    assert floor < minimal
    assert f"our {RAW_INDEXES['ours']} indexes" in rows[4].baseline_label
