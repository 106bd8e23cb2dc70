from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.services import aggregates_rebuild
from rmos_site.progress import progress_bar

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Recompute the analytics aggregates from the AI log, day by day. With --check nothing is "
        "written: every mismatch is reported and the exit status is 1 if there is any."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="compare only; exit status 1 on any mismatch")

    def handle(self, *args, check: bool, **options) -> None:
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = progress_bar(total, label="checking" if check else "rebuilding", unit="day", stream=self.stderr)
            bar.update(done - bar.n)

        mismatches = aggregates_rebuild(check_only=check, progress=progress if options["verbosity"] >= 1 else None)
        if bar is not None:
            bar.close()
        for mismatch in mismatches[:SHOWN] if options["verbosity"] < 2 else mismatches:
            self.stdout.write(str(mismatch))
        if len(mismatches) > SHOWN and options["verbosity"] < 2:
            self.stdout.write(f"… and {len(mismatches) - SHOWN:,} more (-v 2 lists them all)")
        if check:
            if mismatches:
                raise CommandError(f"{len(mismatches):,} mismatches between the aggregates and the log", returncode=1)
            self.stdout.write("The aggregates match the log.")
        else:
            self.stdout.write(f"Aggregates rebuilt from the log ({len(mismatches):,} values corrected).")
