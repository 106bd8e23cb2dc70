"""docs/performance.md, written from the benchmark's JSON results (never by hand).

Each ``./dev bench`` run writes its rows to ``bench-results/<time>-<vendor>-<size>.json``; the
report keeps, per database and dataset size, the newest measurement of every row, so a run of
``--only ingest`` refreshes the ingestion rows and leaves the others as last measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.core import Row, number

VENDORS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _size(attempts: int) -> str:
    return f"{attempts / 1_000_000:g}M" if attempts >= 1_000_000 else f"{attempts / 1000:g}k"


def _load(results_dir: Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("rows") and not data.get("quick"):
            runs.append(data)
    return sorted(runs, key=lambda run: run["time"])


def render(results_dir: Path) -> str:
    """The whole page: how to run the benchmark, then one table per database and dataset size."""
    newest: dict[tuple[str, str], dict[str, tuple[dict[str, Any], dict[str, Any]]]] = {}
    for run in _load(results_dir):
        key = (run["vendor"], run.get("size") or _size(run["dataset"]["attempts"]))
        for row in run["rows"]:
            newest.setdefault(key, {})[row["metric"]] = (row, run)
    out = [
        "# Performance",
        "",
        "Written by `./dev bench` from its results (`bench-results/*.json`): per database and dataset",
        "size, the newest measurement of every row. Every ratio is against a baseline measured in the",
        "same run on the same machine, so ratios stay meaningful on a busy machine. Do not edit by hand.",
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
            ratio = "-" if shown.ratio is None else f"{shown.ratio:.2f}×"
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
    path.write_text(render(results_dir))
