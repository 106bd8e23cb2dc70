"""The AI log's benchmarks (``manage.py benchmark``) and the dataset every benchmark runs on.

The dataset is made by :class:`Traffic`, a seeded generator of what the log sees in a shop:
a few hundred contexts with Zipf-like popularity (catalog ids plus a few unknown to the
catalog), three workflow modes and geometry engines in uneven shares, four profiles with two or
three versions each (runs report the version in force for their time), about ten attempts per
run, search outcomes that depend on how hard the context is, candidates on internal runs,
timestamps spread over 180 days. It goes in through :func:`ailog.services.runs_ingest`, the path
integrators use, 1,000 runs per call.
"""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from ailog import services
from ailog.models import AiAttempt, AiRun
from analytics.services import aggregates_rebuild
from bench.core import Bench
from engine.profile import DEFAULTS
from profiles import services as profile_services
from profiles.selectors import profile_list
from rmos_site.present import utc_iso

UTC = UTC
SEED = 20251213
SPAN_DAYS = 180
RUNS_PER_BATCH = 1000
CONTEXTS = 400

TOOLS = [
    "saw:jeweler-0.25", "saw:slitting-0.5", "saw:table-1.0", "router:downcut-0.8", "router:upcut-1.5",
    "router:vbit-60", "laser:co2-40w", "laser:fiber-20w", "saw:custom-0.3", "router:legacy-2.0",
]  # fmt: skip
MATERIALS = [
    "wood:maple-flamed", "wood:maple-hard", "wood:ebony", "wood:rosewood", "wood:mahogany", "wood:walnut",
    "wood:holly", "wood:padauk", "wood:spruce", "wood:cedar", "shell:abalone-paua", "shell:abalone-green",
    "shell:mother-of-pearl", "wood:bubinga", "wood:koa",
]  # fmt: skip
MACHINES = ["proto:desktop-cnc", "proto:hobby-laser", "prod:vmc-3axis", "prod:laser-cell", "proto:garage-cnc"]
ENGINES = (("shapely", 0.6), ("", 0.3), ("ml", 0.1))
MODES = (("constraint_first", 0.6), ("ai_assisted", 0.3), ("design_first", 0.1))
#: Profile -> changes that make versions 2, 3, ... (version 1 is the engine's defaults).
PROFILES: dict[str, list[dict[str, Any]]] = {
    "default": [{"max_rings": 5}, {"max_rings": 6, "bias_simple": True}],
    "shell-inlay": [{"allow_segmented": False}],
    "production": [{"min_rings": 2}, {"max_total_width_mm": 10}],
    "laser-fine": [{"min_ring_width_mm": "0.40"}],
}
UNKNOWN_PROFILE = "legacy-x"
PATTERNS = ("solid", "solid", "mosaic", "segmented")


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def iso(moment: datetime) -> str:
    return utc_iso(moment)


class Traffic:
    """A deterministic stream of realistic runs (plain dicts, as decoded from JSON)."""

    def __init__(self, seed: int = SEED, *, end: datetime) -> None:
        rng = random.Random(seed)
        self.end = end
        self.start = end - timedelta(days=SPAN_DAYS)
        seen = set()
        self.contexts: list[dict[str, Any]] = []
        while len(self.contexts) < CONTEXTS:
            key = (rng.choice(TOOLS), rng.choice(MATERIALS), rng.choice(MACHINES), _weighted(rng, ENGINES))
            if key in seen:
                continue
            seen.add(key)
            tool, material, machine, engine = key
            if material.startswith("shell:"):
                profile = "shell-inlay"
            elif tool.startswith("laser:"):
                profile = "laser-fine"
            elif machine.startswith("prod:"):
                profile = "production"
            else:
                profile = "default"
            difficulty = rng.betavariate(2, 3) + (0.25 if material.startswith("shell:") else 0.0)
            self.contexts.append(
                {
                    "tool_id": tool,
                    "material_id": material,
                    "machine_id": machine,
                    "geometry_engine": engine,
                    "profile": profile,
                    "difficulty": min(difficulty, 0.98),
                }
            )
        weights = [1.0 / (rank + 1) ** 1.1 for rank in range(CONTEXTS)]
        self.cumulative = list(itertools.accumulate(weights))
        self.candidates = [self._candidate(rng) for _ in range(2000)]
        self.rng = rng

    @staticmethod
    def _candidate(rng: random.Random) -> dict[str, Any]:
        rings = [
            {
                "width_mm": rng.randint(40, 250) / 100,
                "pattern": rng.choice(PATTERNS),
                "material_key": rng.choice(MATERIALS),
            }
            for _ in range(rng.randint(1, 6))
        ]
        return {"rings": rings, "ring_count": len(rings), "total_width_mm": round(sum(r["width_mm"] for r in rings), 2)}

    def context_share(self, index: int) -> float:
        previous = self.cumulative[index - 1] if index else 0.0
        return (self.cumulative[index] - previous) / self.cumulative[-1]

    def run(self, at: datetime) -> dict[str, Any]:
        rng = self.rng
        context = self.contexts[bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])]
        internal = rng.random() < 0.7
        max_attempts = rng.choice((10, 20, 20, 30))
        p_green = 0.015 + 0.22 * (1 - context["difficulty"]) ** 2
        mean = 85 - 55 * context["difficulty"]
        attempts: list[dict[str, Any]] = []
        outcome = "budget_exhausted"
        timed_out = rng.random() < 0.03
        if rng.random() < 0.004:
            outcome, max_attempts = "no_candidates", 0
        for index in range(1, max_attempts + 1):
            if rng.random() < p_green:
                score = rng.uniform(80, 100)
            else:
                score = min(79.9, max(0.0, rng.gauss(mean - 10, 14)))
            bucket = "GREEN" if score >= 80 else "YELLOW" if score >= 50 else "RED"
            if bucket != "RED" and rng.random() < 0.08:  # one weak check makes the overall bucket worse
                bucket = "YELLOW" if bucket == "GREEN" else "RED"
            attempts.append(
                {
                    "attempt_index": index,
                    "score": round(score, 2),
                    "risk_bucket": bucket,
                    "is_acceptable": bucket == "GREEN",
                }
            )
            if bucket == "GREEN":
                outcome = "green_found"
                break
            if timed_out and index >= max_attempts // 2:
                outcome = "timeout"
                break
        selected = max(attempts, key=lambda a: a["score"]) if attempts else None
        # A RED candidate is never acceptable (tested last: the random stream, hence the dataset, stays as it was).
        if (
            outcome in ("budget_exhausted", "timeout")
            and selected
            and selected["score"] >= 70
            and rng.random() < 0.5
            and selected["risk_bucket"] != "RED"
        ):
            outcome = "acceptable_found"
            for attempt in attempts:
                attempt["is_acceptable"] = attempt["score"] >= 70 and attempt["risk_bucket"] != "RED"
        for position, attempt in enumerate(attempts):
            attempt["timestamp"] = iso(at - timedelta(milliseconds=300 * (len(attempts) - position)))
            if internal:
                attempt["candidate"] = rng.choice(self.candidates)
            else:
                attempt["ring_count"] = rng.randint(1, 6)
        profile = context["profile"]
        versions = 1 + len(PROFILES[profile])
        position = (at - self.start) / (self.end - self.start)
        run = {
            "run_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "timestamp": iso(at),
            "elapsed_seconds": round(0.3 * len(attempts) + 0.05, 3),
            "tool_id": context["tool_id"],
            "material_id": context["material_id"],
            "machine_id": context["machine_id"],
            "workflow_mode": _weighted(rng, MODES),
            "geometry_engine": context["geometry_engine"],
            "profile": profile,
            "profile_version": min(versions, 1 + int(max(0.0, position) * versions)),
            "max_attempts": max(max_attempts, 1),
            "time_limit_seconds": 30.0,
            "min_feasibility_score": 70.0,
            "stop_on_first_green": True,
            "attempts": len(attempts),
            "success": outcome in ("green_found", "acceptable_found"),
            "reason": outcome,
            "selected_score": selected["score"] if selected and outcome != "no_candidates" else None,
            "selected_risk_bucket": selected["risk_bucket"] if selected and outcome != "no_candidates" else None,
            "attempt_records": attempts,
        }
        if outcome == "green_found":
            run["selected_score"], run["selected_risk_bucket"] = attempts[-1]["score"], "GREEN"
        if internal and selected:
            run["selected_candidate"] = selected.get("candidate")
        if not internal and rng.random() < 0.02:
            run["profile"] = UNKNOWN_PROFILE
            del run["profile_version"]
        run["_source"] = "internal" if internal else "api"
        return run

    def batches(self, runs: int, *, start: datetime, end: datetime) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """``runs`` runs spread evenly from ``start`` to ``end``, in batches of one source each."""
        step = (end - start) / runs
        pending: dict[str, list[dict[str, Any]]] = {"internal": [], "api": []}
        for i in range(runs):
            run = self.run(start + step * (i + self.rng.random()))
            source = run.pop("_source")
            pending[source].append(run)
            if len(pending[source]) == RUNS_PER_BATCH:
                yield source, pending[source]
                pending[source] = []
        for source, rest in pending.items():
            if rest:
                yield source, rest


# -- the dataset -----------------------------------------------------------------------------------


#: While building a PostgreSQL dataset, refresh the planner's statistics after this many attempts.
ANALYZE_EVERY = 500_000


def _dataset_end() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1)


def _ensure_profiles() -> None:
    existing = {p.name for p in profile_list()}
    for name, changes in PROFILES.items():
        if name in existing:
            continue
        profile_services.profile_create(name=name, values=DEFAULTS, note="benchmark profile")
        for number, change in enumerate(changes, start=2):
            profile_services.profile_update(name=name, changes=change, note=f"benchmark version {number}")


def dataset_build(bench: Bench, *, attempts: int, reuse: bool) -> dict[str, Any]:
    """Fill the benchmark database with about ``attempts`` attempts (kept when ``reuse`` and big enough)."""
    _ensure_profiles()
    traffic = Traffic(end=_dataset_end())
    have = AiAttempt.objects.count()
    if not (reuse and have >= attempts * 0.95):
        if have:
            AiAttempt.objects.all().delete()
            AiRun.objects.all().delete()
            aggregates_rebuild(check_only=False)  # an empty log: the old dataset's aggregates go too
        # The generator averages about 8.47 attempts a run: plan slightly more runs than that
        # needs and stop at the size asked for, so the dataset spans the whole period and
        # --reuse finds it big enough later.
        runs = int(attempts / 8.4)
        bench.say(f"Building the dataset: about {attempts:,} attempts ({runs:,} runs over {SPAN_DAYS} days)")
        done, analyzed = 0, 0
        with bench.progress(attempts, "ingesting", "attempts") as bar:
            for source, batch in traffic.batches(runs, start=traffic.start, end=traffic.end):
                services.runs_ingest(runs=batch, source=source)
                done += sum(len(run["attempt_records"]) for run in batch)
                bar.update(done - bar.n)
                if done >= attempts:
                    break
                if connection.vendor == "postgresql" and done - analyzed >= ANALYZE_EVERY:
                    # What autovacuum does on a server where it is on (see rmos.W001): without
                    # statistics PostgreSQL scans the whole attempts table for each batch's lookup.
                    _analyze()
                    analyzed = done
        _analyze()
    facts = _facts(traffic)
    bench.scratch["traffic"] = traffic
    return facts


def _analyze() -> None:
    """Fresh planner statistics, as a deployment's maintenance would keep them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 1000")
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")


def _facts(traffic: Traffic) -> dict[str, Any]:
    runs = AiRun.objects.count()
    attempts = AiAttempt.objects.count()
    first, last = traffic.start, traffic.end
    return {
        "attempts": attempts,
        "runs": runs,
        "attempts_per_run": round(attempts / runs, 2) if runs else 0,
        "contexts": CONTEXTS,
        "span": [first.isoformat(), last.isoformat()],
    }
