"""The benchmark suite's core: the registry, the measuring helpers and the report table.

``manage.py benchmark`` (``./dev bench``; see its ``--help``) builds a dataset in a benchmark
database of its own, then runs every registered benchmark and prints one table - metric, value,
baseline, ratio, target, met? - and writes the same rows as JSON. Each module of :data:`AREAS`
registers its rows:

    from bench.core import Row, register

    @register("log-viewer", order=30, help="first page of 100 for each filter")
    def log_viewer(bench: Bench) -> list[Row]:
        ...

A baseline is always measured in the same run, on the same machine, so that ratios stay
meaningful on a busy machine; timings take the best or the median of repeats as each row says.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib import import_module
from typing import Any, TextIO

from tqdm import tqdm

from rmos_site.progress import progress_bar


@dataclass
class Row:
    """One measured target. ``higher_is_better`` decides how the ratio reads (always "times better")."""

    metric: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    baseline: float | None = None
    baseline_label: str = ""
    higher_is_better: bool = True
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline or not self.value:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        return data


@dataclass
class Bench:
    """What a benchmark gets: the dataset's facts, a shared scratch space and output streams."""

    database_url: str
    vendor: str
    dataset: dict[str, Any]
    stdout: TextIO
    stderr: TextIO
    scratch: dict[str, Any] = field(default_factory=dict)
    quick: bool = False  # a smoke run (tests): fewer repeats, smaller samples

    def progress(self, total: int | None, label: str, unit: str = "") -> tqdm:
        return progress_bar(total, label=label, unit=unit, stream=self.stderr)

    def say(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()


@dataclass(frozen=True)
class Benchmark:
    name: str
    order: int
    help: str
    run: Callable[[Bench], list[Row]]


REGISTRY: dict[str, Benchmark] = {}
#: The modules that register benchmarks, in the order their rows are printed.
AREAS = (
    "bench.generator",
    "bench.ingest",
    "bench.log_viewer",
    "bench.analytics",
    "bench.impact",
    "bench.tuning",
    "bench.pages",
    "bench.live",
)


def register(
    name: str, *, order: int, help: str
) -> Callable[[Callable[[Bench], list[Row]]], Callable[[Bench], list[Row]]]:
    def decorate(func: Callable[[Bench], list[Row]]) -> Callable[[Bench], list[Row]]:
        REGISTRY[name] = Benchmark(name, order, help, func)
        return func

    return decorate


def discover() -> None:
    for module in AREAS:
        import_module(module)


# -- measuring -----------------------------------------------------------------------------------


def timings(func: Callable[[], Any], *, repeat: int, warmup: int = 1) -> list[float]:
    """Seconds per call of ``func``, ``repeat`` times after ``warmup`` calls."""
    for _ in range(warmup):
        func()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def p50(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def percentile(values: Iterable[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


# -- reporting -----------------------------------------------------------------------------------


def number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "ms":
        text = f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def table(rows: list[Row]) -> str:
    header = ("metric", "value", "baseline", "ratio", "target", "met?")
    lines = []
    for row in rows:
        baseline = number(row.baseline, row.unit)
        if row.baseline_label:
            baseline = f"{baseline} ({row.baseline_label})"
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        lines.append((row.metric, number(row.value, row.unit), baseline, ratio, row.target, met))
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines)]
    out = [" | ".join(str(c).ljust(w) for c, w in zip(header, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines]
    notes = [f"  {row.metric}: {row.notes}" for row in rows if row.notes]
    if notes:
        out += ["", "notes:"] + notes
    return "\n".join(out)
