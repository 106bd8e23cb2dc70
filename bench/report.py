"""docs/performance.md, written from the benchmark's JSON results (never by hand).

Each ``./dev bench`` run writes its rows to ``bench-results/<time>-<vendor>-<size>.json``; the
report keeps, per database and dataset size, the newest measurement of every row, so a run of
``--only ingest`` refreshes the ingestion rows and leaves the others as last measured.

``bench-results/`` stays on the machine that measured, so the record of what is newest lives
beside the page, in ``docs/performance.json`` (committed): each run there keeps the rows no later
run has measured again. A run on a fresh checkout therefore adds to the record instead of
replacing it with its own few rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.core import Row, number

VENDORS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _size(attempts: int) -> str:
    return f"{attempts / 1_000_000:g}M" if attempts >= 1_000_000 else f"{attempts / 1000:g}k"


Newest = dict[tuple[str, str], dict[str, tuple[dict[str, Any], dict[str, Any]]]]


def _load(results_dir: Path, record: Path | None) -> list[dict[str, Any]]:
    """The runs of the record (``docs/performance.json``) and of ``results_dir``, oldest first;
    a run in both (same time, database and size) counts once, as in ``results_dir``."""
    runs: dict[tuple[str, str, str], dict[str, Any]] = {}
    if record is not None and record.exists():
        for data in json.loads(record.read_text()):
            runs[(data["time"], data["vendor"], data.get("size", ""))] = data
    for path in sorted(results_dir.glob("*.json")) if results_dir.is_dir() else ():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("rows") and not data.get("quick"):
            runs[(data["time"], data["vendor"], data.get("size", ""))] = data
    return sorted(runs.values(), key=lambda run: run["time"])


def newest(results_dir: Path, record: Path | None = None) -> Newest:
    """Per database and dataset size, the newest measurement of every row, with its run."""
    found: Newest = {}
    for run in _load(results_dir, record):
        key = (run["vendor"], run.get("size") or _size(run["dataset"]["attempts"]))
        for row in run["rows"]:
            found.setdefault(key, {})[row["metric"]] = (row, run)
    return found


def record(found: Newest) -> list[dict[str, Any]]:
    """The runs of ``found``, each with only the rows it is the newest measurement of."""
    kept: dict[int, dict[str, Any]] = {}
    for rows in found.values():
        for row, run in rows.values():
            kept.setdefault(id(run), {**run, "rows": []})["rows"].append(row)
    return sorted(kept.values(), key=lambda run: (run["time"], run["vendor"]))


def render(results_dir: Path, record: Path | None = None) -> str:
    """The whole page: how to run the benchmark, then one table per database and dataset size."""
    return _page(newest(results_dir, record))


def _page(newest: Newest) -> str:
    out = [
        "# Performance",
        "",
        "Written by `./dev bench` from its results (`bench-results/*.json`, and the record of earlier runs",
        "in `docs/performance.json`): per database and dataset size, the newest measurement of every row.",
        "Every ratio is against a baseline measured in the same run on the same machine, so ratios stay",
        "meaningful on a busy machine. Do not edit by hand.",
        "",
        "```sh",
        "./dev bench                                   # 1M attempts on SQLite",
        "./dev bench --attempts 10000000 --reuse       # 10M; --reuse keeps a dataset already built",
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/rmos ./dev bench   # the same on PostgreSQL",
        "./dev bench --list                            # the rows; --only NAME,… runs some of them",
        "```",
    ]
    if not newest:
        out += ["", "No measurements yet: run `./dev bench`."]
    for (vendor, size), rows in sorted(newest.items()):
        runs = {id(run): run for _, run in rows.values()}
        out += ["", f"## {VENDORS.get(vendor, vendor)}, {size} attempts", ""]
        for run in sorted(runs.values(), key=lambda r: r["time"]):
            machine = run.get("machine", {})
            described = ", ".join(
                str(part)
                for part in (
                    machine.get("cpu"),
                    f"{machine['cpus']} cores" if machine.get("cpus") else None,
                    f"load {machine['load']}" if machine.get("load") else None,
                    f"Python {machine['python']}" if machine.get("python") else None,
                    machine.get("database"),
                )
                if part
            )
            out.append(f"- {run['time']}: `{run.get('command', './dev bench')}` on {described}")
        out += [
            "",
            "| metric | value | baseline | ratio | target | met? | run |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row, run in rows.values():
            shown = Row(**{k: v for k, v in row.items() if k != "ratio"})
            baseline = number(shown.baseline, shown.unit)
            if shown.baseline_label:
                baseline = f"{baseline} ({shown.baseline_label})"
            ratio = row.get("ratio", shown.ratio)  # as measured; the value may be shown rounded
            ratio = "-" if ratio is None else f"{ratio:.2f}×"
            met = {True: "yes", False: "**no**", None: "-"}[shown.met]
            cells = (
                shown.metric,
                number(shown.value, shown.unit),
                baseline,
                ratio,
                shown.target or "-",
                met,
                run["time"],
            )
            out.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |")
        notes = [(row["metric"], row["notes"]) for row, _ in rows.values() if row.get("notes")]
        if notes:
            out += ["", *(f"- *{metric}*: {text}" for metric, text in notes)]
    return "\n".join(out) + "\n"


def write(results_dir: Path, path: Path) -> None:
    """``path`` (docs/performance.md) and its record beside it (the same name, ``.json``)."""
    kept = path.with_suffix(".json")
    found = newest(results_dir, kept)
    path.write_text(_page(found))
    kept.write_text(json.dumps(record(found), indent=1, default=str) + "\n")
