"""``manage.py tune_profile NAME``: a tuning job run in the foreground, with a progress bar."""

from __future__ import annotations

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from engine.tuning import DEFAULT_TRIALS, MAX_TRIALS, MIN_TRIALS
from rmos_site.errors import ApplicationError
from rmos_site.progress import progress_bar
from tuning import selectors, services


class Command(BaseCommand):
    help = (
        "Search better values for a profile on its traffic of the last 30 days (DESIGN §11), as the "
        "dashboard's 'Tune' does, but here in the foreground with a progress bar. The job is recorded "
        "like any other (its page is /rmos/tuning/<id>/). Prints the best proposals; --json prints "
        "the whole result."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the profile to tune")
        parser.add_argument(
            "--context",
            metavar="TOOL,MATERIAL,MACHINE[,WORKFLOW[,ENGINE]]",
            help="focus on one context of the profile's traffic (e.g. a hotspot): its acceptable share "
            "becomes the objective; the effect is still reported on every context",
        )
        parser.add_argument(
            "--trials", type=int, default=DEFAULT_TRIALS, help=f"{MIN_TRIALS}-{MAX_TRIALS} (default {DEFAULT_TRIALS})"
        )
        parser.add_argument(
            "--seed", type=int, help="the same seed gives the same trials and proposals (default: drawn)"
        )
        parser.add_argument(
            "--storage",
            help="an Optuna storage URL (e.g. postgresql+psycopg://…) whose study several commands share",
        )
        parser.add_argument("--study-name", help="the shared study's name (with --storage)")
        parser.add_argument(
            "--sampler-seed", type=int, help="this worker's TPE seed when several share a study (give each its own)"
        )
        parser.add_argument("--json", action="store_true", help="print the job with its whole result as JSON")

    def handle(self, *args, name, context, trials, seed, storage, study_name, sampler_seed, json: bool, **options):
        focus = None
        if context:
            parts = context.split(",")
            fields = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")
            if not 3 <= len(parts) <= 5:
                raise CommandError("--context: give TOOL,MATERIAL,MACHINE[,WORKFLOW[,ENGINE]]")
            focus = dict(zip(fields, parts))
        try:
            job = services.tuning_job_create(profile=name, context=focus, trials=trials, seed=seed, enqueue=False)
        except ApplicationError as exc:
            raise CommandError("; ".join(str(e) for e in exc.errors) or exc.detail) from None
        self.stderr.write(f"Tuning job #{job.pk}: {job.profile_name} v{job.profile_version}, seed {job.seed}")
        with progress_bar(job.trials, label=f"tuning {job.profile_name}", unit="trial", stream=self.stderr) as bar:
            job = services.tuning_job_run(
                job_id=job.pk,
                on_trial=lambda done, total: bar.update(done - bar.n),
                storage=storage,
                study_name=study_name,
                sampler_seed=sampler_seed,
            )
        if job.state == job.State.FAILED:
            raise CommandError(f"tuning job #{job.pk} failed: {job.error}")
        if json:
            self.stdout.write(_json(selectors.tuning_job_to_dict(job)))
            return
        result = job.result
        saved = result["saved"]
        self.stdout.write(
            f"Job #{job.pk} {job.state}: {result['trials_done']} trials; saved values' objective {saved['objective']}"
        )
        for proposal in result["proposals"]:
            changes = "; ".join(item["words"] for item in proposal["diff"])
            self.stdout.write(
                f"  {proposal['rank']}. objective {proposal['objective']} "
                f"({proposal['distinct_designs']} distinct designs): {changes}"
            )
        if not result["proposals"]:
            self.stdout.write("  No values beat the saved ones.")


def _json(data) -> str:
    return jsonlib.dumps(data, indent=2, default=str)
