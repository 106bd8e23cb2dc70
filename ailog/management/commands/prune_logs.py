from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ailog import services
from ailog.filters import parse_instant
from rmos_site.errors import ValidationFailed
from rmos_site.present import utc_iso
from rmos_site.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Delete every AI run and attempt older than --before (each by its own timestamp), one UTC day "
        "per transaction, oldest first; the analytics aggregates are updated in the same transactions. "
        "--dry-run only counts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--before",
            required=True,
            help="a date (YYYY-MM-DD, midnight UTC) or an ISO date-time with a timezone; older records go",
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args, before: str, dry_run: bool, **options) -> None:
        try:
            cutoff = parse_instant(before.strip(), "before")
        except ValidationFailed as exc:
            raise CommandError(str(exc)) from None
        when = utc_iso(cutoff)
        if dry_run:
            result = services.logs_prune(before=cutoff, dry_run=True)
            self.stdout.write(
                f"Dry run: {result.runs:,} runs and {result.attempts:,} attempts are older than {when}; nothing deleted."
            )
            return
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = progress_bar(total, label="pruning", unit="day", stream=self.stderr)
            bar.update(done - bar.n)

        result = services.logs_prune(before=cutoff, progress=progress if options["verbosity"] >= 1 else None)
        if bar is not None:
            bar.close()
        self.stdout.write(f"Deleted {result.runs:,} runs and {result.attempts:,} attempts older than {when}.")
