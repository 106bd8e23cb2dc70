from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from ailog import search
from ailog import selectors as log_selectors
from ailog.apis import attempt_json, run_json
from profiles import selectors as profile_selectors
from rmos_site.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Run one constraint search for a context, record it in the AI log like any run, and print a "
        "readable summary: which profile the context resolved to and why, the budget, every attempt "
        "(score, risk, rings, width) and the outcome. Example: run_search --tool saw:slitting-0.5 "
        "--material wood:ebony --machine prod:vmc-3axis --max-attempts 30 --seed 7"
    )

    def add_arguments(self, parser) -> None:
        ctx = parser.add_argument_group("context")
        ctx.add_argument("--tool", required=True, help="tool id, e.g. saw:slitting-0.5 (see GET /api/rmos/ai/catalog)")
        ctx.add_argument("--material", required=True, help="material id, e.g. wood:ebony")
        ctx.add_argument("--machine", required=True, help="machine id, e.g. prod:vmc-3axis")
        ctx.add_argument(
            "--workflow-mode", default="constraint_first", help="constraint_first | ai_assisted | design_first"
        )
        ctx.add_argument("--geometry-engine", default="", help="free text, e.g. shapely")
        ctx.add_argument("--profile", help="search under this profile instead of the one the rules pick")
        budget = parser.add_argument_group("budget")
        budget.add_argument("--max-attempts", type=int, help="1-200 (default 50)")
        budget.add_argument("--time-limit", type=float, help="seconds, 0.1-60 (default 30)")
        budget.add_argument("--min-score", type=float, help="lowest acceptable feasibility score, 0-100 (default 80)")
        budget.add_argument("--keep-going", action="store_true", help="do not stop at the first acceptable GREEN")
        budget.add_argument("--seed", type=int, help="make the run reproducible")
        parser.add_argument("--json", action="store_true", help="print the recorded run as JSON instead of a summary")

    def handle(self, *args, **o) -> None:
        try:
            context = profile_selectors.context_parse(
                {
                    "tool_id": o["tool"],
                    "material_id": o["material"],
                    "machine_id": o["machine"],
                    "workflow_mode": o["workflow_mode"],
                    "geometry_engine": o["geometry_engine"],
                }
            )
            budget = search.budget_parse(
                {
                    "max_attempts": o["max_attempts"],
                    "time_limit_seconds": o["time_limit"],
                    "min_feasibility_score": o["min_score"],
                    "seed": o["seed"],
                    "stop_on_first_green": False if o["keep_going"] else None,
                }
            )
            run, outcome = search.search_run_execute(context=context, budget=budget, profile_name=o["profile"])
        except ApplicationError as exc:
            lines = [f"  {e.field or '-'}: {e.message} [{e.rule}]" for e in exc.errors] or [f"  {exc.detail}"]
            raise CommandError("the search was not run:\n" + "\n".join(lines)) from None
        if o["json"]:
            # What GET /api/rmos/logs/ai/runs/{run_id} answers for the run just recorded.
            detail = log_selectors.run_get(run_id=str(run.run_id))
            body = {**run_json(detail.run), "attempt_records": [attempt_json(a) for a in detail.attempts]}
            self.stdout.write(json.dumps(body, indent=1, default=str))
            return
        w = self.stdout.write
        w(f"Context    {context.tool_id} / {context.material_id} / {context.machine_id} ({context.workflow_mode})")
        how = _how_chosen(run)
        w(f"Profile    {run.profile_name} v{run.profile_version}: {how}")
        b = outcome.budget
        w(
            f"Budget     {b.max_attempts} attempts, {b.time_limit_seconds:g} s, accept score >= {b.min_feasibility_score:g} "
            f"and not RED, {'stop at first GREEN' if b.stop_on_first_green else 'use the whole budget'}, seed {outcome.seed}"
        )
        w("")
        w("   #  score  risk    rings  width mm  acceptable")
        for a in outcome.attempts:
            mark = " <- selected" if outcome.selected and a.attempt_index == outcome.selected.attempt_index else ""
            w(
                f"{a.attempt_index:4d}  {a.score:5.1f}  {a.risk_bucket:<6}  {a.ring_count:5d}  {a.total_width_mm:8.2f}  "
                f"{'yes' if a.is_acceptable else 'no':<10}{mark}"
            )
        w("")
        verdict = "SUCCESS" if outcome.success else "NO ACCEPTABLE DESIGN"
        selected = (
            f"selected #{outcome.selected.attempt_index}: score {outcome.selected_score:.1f} {outcome.selected_risk_bucket}"
            if outcome.selected
            else "nothing selected"
        )
        w(
            f"Outcome    {verdict} ({outcome.reason}) after {outcome.attempt_count} attempts in "
            f"{outcome.elapsed_ms:.0f} ms; {selected}; {outcome.duplicates_skipped} duplicate draws skipped"
        )
        if outcome.selected:
            rings = ", ".join(
                f"{r['width_mm']:.2f} mm {r['pattern']} {r['material_key']}"
                for r in outcome.selected_candidate["rings"]
            )
            w(f"Design     {rings}")
        for warning in outcome.warnings:
            w(f"Warning    {warning}")
        w(f"Recorded   run {run.run_id} (GET /api/rmos/logs/ai/runs/{run.run_id})")


def _how_chosen(run) -> str:
    """How the recorded run's profile was chosen (what the run page says too)."""
    if run.fallback_used:
        return "no enabled rule matched, so the fallback profile was used"
    if run.rule_id is not None:
        rule = profile_selectors.rule_find(rule_id=run.rule_id)
        return f"chosen by rule #{run.rule_id}" + (f" {rule.name}" if rule else "")
    return "named with --profile"
