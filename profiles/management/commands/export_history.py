from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from profiles import canonical, selectors


class Command(BaseCommand):
    help = (
        "Write the whole change journal of profiles and rules as JSON Lines, oldest first: one object "
        "per change with id, kind (profile|rule), subject (its name), type (created|changed|rollback|"
        "import|deleted), user, operator, note, time, version and the fields changed with before/after."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--jsonl", type=Path, required=True, metavar="PATH", help="file to write (replaced atomically)"
        )

    def handle(self, *args, jsonl: Path, **options) -> None:
        entries = selectors.journal_all()
        text = "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in entries)
        try:
            canonical.atomic_write(jsonl, text)
        except OSError as exc:
            raise CommandError(f"{jsonl}: cannot write it ({exc}).") from None
        self.stdout.write(f"{jsonl}: {len(entries)} journal entries written.")
