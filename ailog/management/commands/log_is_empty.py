from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from ailog.selectors import log_is_empty


class Command(BaseCommand):
    help = (
        "Exit with status 0 when the AI log has no runs, 1 when it has some "
        "(./dev start uses it to decide whether to make demo data)."
    )

    def handle(self, *args, **options) -> None:
        empty = log_is_empty()
        if options["verbosity"] >= 1:
            self.stdout.write("The AI log is empty." if empty else "The AI log has runs.")
        sys.exit(0 if empty else 1)
