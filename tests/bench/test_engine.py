"""The benchmark functions run and report; the speed itself is measured by the benchmark command.

The floors here are a tenth of the targets, so they catch an accidental slowdown by an order of
magnitude (a rejection loop, a per-candidate catalog look-up) without failing on a busy machine.
"""

from __future__ import annotations

from bench.engine import MIX_CONTEXTS, MIX_PROFILES, bench_snapshot, bench_throughput, run_benchmarks


def test_throughput_by_count():
    result = bench_throughput(seconds=None, count=3_000, chunk=100)
    assert result["candidates"] == 3_000
    assert result["pairs"] == len(MIX_PROFILES) * len(MIX_CONTEXTS)
    assert result["candidates_per_second"] > 5_000


def test_throughput_by_time():
    result = bench_throughput(seconds=0.2)
    assert result["candidates"] > 0 and result["seconds"] >= 0.2


def test_snapshot_timing():
    result = bench_snapshot(n_samples=500, repeat=2)
    assert result["runs"] == 2 and result["target_ms"] == 15.0
    assert result["best_ms"] <= result["median_ms"] < 150


def test_run_benchmarks_shape():
    result = run_benchmarks(seconds=0.1, repeat=1)
    assert set(result) == {"throughput", "snapshots"}
    assert [s["n_samples"] for s in result["snapshots"]] == [500, 10_000]
