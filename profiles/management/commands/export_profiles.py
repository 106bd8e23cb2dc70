from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from profiles import services


class Command(BaseCommand):
    help = (
        "Write the canonical YAML of every profile and rule (deterministic: an unchanged database "
        "gives a byte-identical file), and append to the journal mirror (RMOS_PROFILE_HISTORY_PATH, "
        "when set) every entry it lacks: both catch up with the database, e.g. after a crash between a "
        "commit and its export. With --check, write nothing: print the difference between the YAML "
        "and the database and exit with status 1 when they differ (drift detection for CI)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="target file (default: RMOS_PROFILE_YAML_PATH)")
        parser.add_argument(
            "--check", action="store_true", help="compare only; exit 1 when the file and the database differ"
        )

    def handle(self, *args, path: Path | None, check: bool, **options) -> None:
        if check:
            result = services.profiles_export_check(path=path)
            if result.changed:
                self.stdout.write(result.diff)
                self.stderr.write(f"{result.path} differs from the database (see the diff above).")
                sys.exit(1)
            self.stdout.write(f"{result.path} matches the database.")
            return
        result = services.profiles_export(path=path)
        self.stdout.write(f"{result.path}: {'written' if result.changed else 'already up to date'}.")
        appended = services.journal_mirror_catch_up()
        if appended:
            self.stdout.write(f"journal mirror: {appended} missing entr{'y' if appended == 1 else 'ies'} appended.")
