"""bench.report: docs/performance.md from the benchmark's JSON results."""

from __future__ import annotations

import json

from bench.report import render


def _run(tmp_path, name, *, time, vendor="sqlite", size="1M", rows, quick=False):
    data = {
        "time": time,
        "vendor": vendor,
        "size": size,
        "command": "./dev bench --attempts 1000000",
        "quick": quick,
        "dataset": {"attempts": 1_000_000, "runs": 118_000},
        "machine": {"cpu": "Test CPU", "cpus": 2, "load": "0.5 0.4 0.3", "python": "3.11.7", "database": "SQLite 3.40"},
        "rows": rows,
    }
    (tmp_path / name).write_text(json.dumps(data))


def _row(metric, value, **extra):
    return {"metric": metric, "value": value, "unit": "ms", "target": "<= 50 ms", "met": True, **extra}


def test_the_newest_measurement_of_each_row_per_database_and_size(tmp_path):
    _run(tmp_path, "a.json", time="20261201T100000Z", rows=[_row("stats", 20.0), _row("hotspots", 9.0)])
    _run(
        tmp_path, "b.json", time="20261202T100000Z", rows=[_row("stats", 30.0, baseline=600.0, higher_is_better=False)]
    )
    _run(tmp_path, "c.json", time="20261203T100000Z", vendor="postgresql", rows=[_row("stats", 40.0, met=False)])
    _run(tmp_path, "d.json", time="20261204T100000Z", rows=[_row("stats", 1.0)], quick=True)  # a smoke run
    page = render(tmp_path)
    postgresql, sqlite = page[page.index("## PostgreSQL") : page.index("## SQLite")], page[page.index("## SQLite") :]
    assert "| stats | 30.0 ms | 600 ms | 20.00× | <= 50 ms | yes | 20261202T100000Z |" in sqlite
    assert "| hotspots | 9.00 ms |" in sqlite and "1.00 ms" not in page
    assert "20261201T100000Z: `./dev bench --attempts 1000000` on Test CPU, 2 cores, load 0.5 0.4 0.3" in sqlite
    assert "| stats | 40.0 ms | - | - | <= 50 ms | **no** |" in postgresql


def test_without_results_it_says_how_to_get_them(tmp_path):
    assert "No measurements yet: run `./dev bench`." in render(tmp_path)


def test_a_run_on_a_fresh_checkout_adds_to_the_record_instead_of_replacing_it(tmp_path):
    """bench-results/ stays on the machine that measured; docs/performance.json keeps what is
    newest, so a later run's few rows join the earlier ones, and rows it measured again replace them."""
    from bench.report import write

    first, later = tmp_path / "first", tmp_path / "later"
    first.mkdir(), later.mkdir()
    page = tmp_path / "performance.md"
    _run(first, "a.json", time="20261201T100000Z", rows=[_row("stats", 20.0), _row("hotspots", 9.0)])
    write(first, page)
    _run(later, "b.json", time="20261205T100000Z", rows=[_row("stats", 30.0, baseline=600.0, higher_is_better=False)])
    write(later, page)  # a fresh checkout: only its own results, and the record
    text = page.read_text()
    assert "| hotspots | 9.00 ms |" in text and "| stats | 30.0 ms | 600 ms | 20.00× |" in text
    assert "20.0 ms" not in text
    kept = json.loads((tmp_path / "performance.json").read_text())
    assert [(run["time"], [row["metric"] for row in run["rows"]]) for run in kept] == [
        ("20261201T100000Z", ["hotspots"]),
        ("20261205T100000Z", ["stats"]),
    ]
