from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from profiles import canonical, services


def format_plan(plan: services.ImportPlan, *, dry_run: bool) -> str:
    verb = "would" if dry_run else "did"
    lines = []
    for name in plan.profiles_created:
        lines.append(f"+ profile {name}: create")
    for name, changes in plan.profiles_changed.items():
        for c in changes:
            lines.append(f"~ profile {name}.{c['field']}: {c['before']!r} -> {c['after']!r}")
    for name in plan.profiles_deleted:
        lines.append(f"- profile {name}: delete")
    for name in plan.rules_created:
        lines.append(f"+ rule {name}: create")
    for name, changes in plan.rules_changed.items():
        for c in changes:
            lines.append(f"~ rule {name}.{c['field']}: {c['before']!r} -> {c['after']!r}")
    for name in plan.rules_deleted:
        lines.append(f"- rule {name}: delete")
    summary = (
        f"{plan.source}: {verb} create {len(plan.profiles_created)}, change {len(plan.profiles_changed)}, "
        f"delete {len(plan.profiles_deleted)} profile(s); create {len(plan.rules_created)}, "
        f"change {len(plan.rules_changed)}, delete {len(plan.rules_deleted)} rule(s); {plan.unchanged} unchanged."
    )
    if plan.is_empty:
        summary = f"{plan.source}: the database already matches the file; nothing to import."
    return "\n".join([*lines, summary])


#: The exit status when the only problem is a file older than the database (./dev start then
#: exports the database's state over it).
STALE_FILE = 3


class Command(BaseCommand):
    help = (
        "Import constraint profiles and resolution rules from a canonical YAML file, all or nothing. "
        "Every change is journaled with the reason 'import from <file name>'. Profiles and rules that "
        "are in the database but not in the file are kept unless --prune is given. Problems are "
        "reported with the line, the profile or rule, the field and the rule broken; then nothing is written "
        "and the exit status is 1, or 3 when the only problem is a file older than the database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "path",
            nargs="?",
            type=Path,
            help="YAML file to import (default: RMOS_PROFILE_YAML_PATH, i.e. the canonical file)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print the changes per profile and field; write nothing"
        )
        parser.add_argument(
            "--prune", action="store_true", help="also delete profiles and rules that the file does not contain"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="import even when a profile's values in the file are those of an earlier version (a file older "
            "than the database); without it such an import is refused, so it cannot silently undo newer edits",
        )

    def handle(self, *args, path: Path | None, dry_run: bool, prune: bool, **options) -> None:
        path = path or Path(settings.RMOS_PROFILE_YAML_PATH)
        try:
            with path.open("rb") as handle:
                data = handle.read(canonical.MAX_FILE_BYTES + 1)  # never more: the file may be anything
            if len(data) > canonical.MAX_FILE_BYTES:
                raise CommandError(f"{path}: {canonical.too_large_message(None)}; nothing was imported.")
            text = data.decode("utf-8")
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file. Give a path, or run export_profiles first.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot read it ({exc}).") from None
        try:
            plan = services.profiles_import(
                text=text, source=path.name, dry_run=dry_run, prune=prune, force=options["force"]
            )
        except services.ImportFailed as exc:
            lines = [
                f"{path}:{p.line or '?'}: {p.path + ': ' if p.path else ''}{p.message} [{p.rule}]"
                for p in exc.line_problems
            ]
            older = all(p.rule == "stale" for p in exc.line_problems)
            raise CommandError(
                "\n".join([*lines, f"{len(lines)} problem(s); nothing was imported."]),
                returncode=STALE_FILE if older else 1,
            ) from None
        self.stdout.write(format_plan(plan, dry_run=dry_run))
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
