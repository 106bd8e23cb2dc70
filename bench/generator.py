"""Benchmark rows of the generator side (registered with ``manage.py benchmark``).

* generator + scorer throughput in process, the fast path that snapshots use, against the full
  path (every check's detail, as the search loop records it) in the same run;
* ``GET /api/rmos/ai/snapshots`` p50 for 500 and 10,000 samples, against the same snapshot
  computed in process (so the ratio is what HTTP, auth and JSON add).
"""

from __future__ import annotations

import random
import time
from urllib.parse import urlencode

from django.test import Client

from bench import engine as engine_bench
from bench.core import Bench, Row, p50, register, timings
from engine.catalog import load_catalog
from engine.feasibility import Scorer
from engine.generator import Generator
from rmos_site.roles import api_account_ensure


def _full_path_rate(seconds: float) -> float:
    """Candidates per second through ``Scorer.score`` (all check details) on the same mix."""
    catalog = load_catalog()
    pairs = [
        (Generator(spec, catalog).sample, Scorer(context, catalog).score)
        for spec in engine_bench.mix_specs().values()
        for context in engine_bench.MIX_CONTEXTS
    ]
    rng = random.Random(0)
    done = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for sample, score in pairs:
            for _ in range(200):
                score(sample(rng))
            done += 200
    return done / (time.perf_counter() - started)


@register("generator", order=5, help="generator + feasibility scorer in process (candidates/s)")
def generator_throughput(bench: Bench) -> list[Row]:
    seconds = 0.5 if bench.quick else 3.0
    fast = engine_bench.bench_throughput(seconds=seconds)
    full = _full_path_rate(seconds)
    return [
        Row(
            "generator + scorer (fast path), realistic mix",
            fast["candidates_per_second"],
            "candidates/s",
            target=f">= {engine_bench.THROUGHPUT_TARGET:,}/s",
            met=fast["meets_target"],
            baseline=full,
            baseline_label="full scoring path with check details",
            notes=f"{fast['candidates']:,} candidates over {len(fast['profiles'])} profiles x {len(fast['contexts'])} contexts; "
            f"{fast['candidates_per_cpu_second']:,} per CPU second",
        )
    ]


def _snapshot_client() -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {api_account_ensure(username='bench-viewer', role='viewer').token}")


@register("snapshots", order=40, help="GET /api/rmos/ai/snapshots p50 (500 and 10,000 samples)")
def snapshot_api(bench: Bench) -> list[Row]:
    client = _snapshot_client()
    context = engine_bench.SNAPSHOT_CONTEXT
    rows = []
    for n_samples, target_ms, repeat in ((500, 30, 21), (10_000, 300, 7)):
        if bench.quick:
            repeat = 3
        seeds = iter(range(10_000))
        params = {
            **{k: v for k, v in context.as_dict().items() if v},
            "n_samples": n_samples,
            "profile": engine_bench.SNAPSHOT_PROFILE,
        }

        def fetch(params: dict = params, seeds=seeds) -> None:
            response = client.get(f"/api/rmos/ai/snapshots?{urlencode({**params, 'seed': next(seeds)})}")
            assert response.status_code == 200, response.content[:300]

        api_ms = p50(timings(fetch, repeat=repeat, warmup=2)) * 1000
        in_process = engine_bench.bench_snapshot(n_samples=n_samples, repeat=repeat)
        rows.append(
            Row(
                f"snapshot API p50, {n_samples:,} samples",
                api_ms,
                "ms",
                target=f"<= {target_ms} ms",
                met=api_ms <= target_ms,
                baseline=in_process["median_ms"],
                baseline_label="same snapshot in process",
                higher_is_better=False,
            )
        )
    return rows
