from __future__ import annotations

from django.core.management.base import BaseCommand

from analytics.services import predictions_fill


class Command(BaseCommand):
    help = (
        "Compute the predictions stored for saved profile versions that are still pending (a process "
        "that stopped before its background prediction ended leaves one so). With --all, recompute "
        "every one: each uses its version's own seed and the traffic of the 30 days before its save."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="recompute every stored prediction")

    def handle(self, *args, **options) -> None:
        done = predictions_fill(everything=options["all"])
        for row in done:
            self.stdout.write(
                f"{row.profile_name} v{row.version}: {row.state}" + (f" ({row.error})" if row.error else "")
            )
        self.stdout.write(f"{len(done)} prediction{'s' if len(done) != 1 else ''} computed.")
