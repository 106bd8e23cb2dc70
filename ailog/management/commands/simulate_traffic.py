from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from ailog import search
from ailog.models import MAX_ATTEMPTS_PER_RUN
from engine.context import Context
from rmos_site.progress import progress_bar

# (weight, tool, material, machine, workflow mode): a shop's mix. Most traffic is ordinary work
# that should succeed; a few contexts are deliberately hard (shell on a router, fine maple work
# with a wide bit, anything on a hobby laser), so analytics and hotspots have something true to show.
MIX: tuple[tuple[float, str, str, str, str], ...] = (
    (14, "saw:slitting-0.5", "wood:ebony", "prod:vmc-3axis", "constraint_first"),
    (12, "saw:jeweler-0.25", "wood:maple-hard", "prod:vmc-3axis", "constraint_first"),
    (10, "laser:co2-40w", "wood:holly", "prod:laser-cell", "ai_assisted"),
    (9, "saw:table-1.0", "wood:rosewood", "prod:vmc-3axis", "constraint_first"),
    (8, "laser:fiber-20w", "wood:maple-flamed", "prod:laser-cell", "design_first"),
    (7, "router:downcut-0.8", "wood:walnut", "prod:vmc-3axis", "constraint_first"),
    (6, "saw:slitting-0.5", "shell:mother-of-pearl", "prod:vmc-3axis", "constraint_first"),
    (5, "router:upcut-1.5", "wood:mahogany", "proto:desktop-cnc", "constraint_first"),
    (5, "laser:co2-40w", "shell:abalone-green", "proto:hobby-laser", "ai_assisted"),
    (4, "router:upcut-1.5", "shell:abalone-paua", "proto:desktop-cnc", "constraint_first"),
    (4, "router:vbit-60", "wood:maple-flamed", "prod:vmc-3axis", "design_first"),
    (3, "saw:jeweler-0.25", "shell:abalone-paua", "proto:desktop-cnc", "ai_assisted"),
    (3, "laser:fiber-20w", "wood:padauk", "proto:hobby-laser", "constraint_first"),
    (3, "router:downcut-0.8", "shell:mother-of-pearl", "prod:vmc-3axis", "constraint_first"),
    (3, "saw:slitting-0.5", "wood:spruce", "prod:vmc-3axis", "ai_assisted"),
)
GEOMETRY_ENGINES = (("", 5), ("shapely", 3), ("ml", 2))
# Budgets people actually give a search: quick looks, the default, and patient ones.
BUDGETS = ((15, 3), (25, 4), (50, 3))
# The lowest acceptable score they ask for: mostly the default, sometimes stricter.
MIN_SCORES = ((80, 6), (85, 3), (90, 1))


class Command(BaseCommand):
    help = (
        "Drive the real search loop over a realistic mix of catalog contexts (some deliberately hard) "
        "and record every run, so the dashboard, analytics and hotspots have true data to show. Runs "
        "are stamped over the last --days days, oldest first. ./dev start runs this when the log is empty."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--runs", type=int, default=400, help="how many searches to run (default 400)")
        parser.add_argument("--seed", type=int, default=None, help="make the whole simulation reproducible")
        parser.add_argument(
            "--days", type=int, default=14, help="spread the runs over this many past days (default 14)"
        )
        parser.add_argument(
            "--max-attempts",
            type=int,
            default=None,
            help="budget of every search (default: a mix of 15, 25 and 50 attempts, as people give)",
        )

    def handle(self, *args, runs: int, seed: int | None, days: int, max_attempts: int | None, **options) -> None:
        if not 1 <= runs <= 1_000_000:
            raise CommandError("--runs must be between 1 and 1,000,000")
        if not 0 <= days <= 3650:
            raise CommandError("--days must be between 0 and 3650")
        if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS_PER_RUN:
            raise CommandError(f"--max-attempts must be between 1 and {MAX_ATTEMPTS_PER_RUN} (a search's budget)")
        rng = random.Random(seed)
        weights = [m[0] for m in MIX]
        engines, engine_weights = zip(*GEOMETRY_ENGINES)
        budgets, budget_weights = zip(*BUDGETS)
        min_scores, min_score_weights = zip(*MIN_SCORES)
        end = datetime.now(UTC)
        start = end - timedelta(days=days)
        step = (end - start) / runs
        reasons: Counter[str] = Counter()
        with progress_bar(runs, label="simulating", unit="run", stream=self.stderr) as bar:
            for i in range(runs):
                _, tool, material, machine, mode = rng.choices(MIX, weights)[0]
                context = Context(tool, material, machine, mode, rng.choices(engines, engine_weights)[0])
                budget = search.budget_parse(
                    {
                        "max_attempts": max_attempts
                        if max_attempts is not None
                        else rng.choices(budgets, budget_weights)[0],
                        "time_limit_seconds": 10,
                        "min_feasibility_score": rng.choices(min_scores, min_score_weights)[0],
                        "seed": rng.randrange(2**63),
                    }
                )
                moment = start + step * i + timedelta(seconds=rng.random() * step.total_seconds() * 0.9)
                clock = _Stamps(moment)
                _, outcome = search.search_run_execute(context=context, budget=budget, now=clock)
                reasons[outcome.reason] += 1
                bar.update(1)
        successes = reasons["green_found"] + reasons["acceptable_found"]
        summary = ", ".join(f"{k} {v}" for k, v in reasons.most_common())
        self.stdout.write(f"Recorded {runs:,} runs over {days} days: {successes / runs:.0%} succeeded ({summary}).")


class _Stamps:
    """Times for one simulated run: its start, then a few milliseconds per attempt."""

    def __init__(self, start: datetime):
        self.moment = start

    def __call__(self) -> datetime:
        self.moment += timedelta(milliseconds=7)
        return self.moment
