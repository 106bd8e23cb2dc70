"""System checks about the files derived from the database (``check --database default``, also run
by ``migrate``): the canonical YAML and the journal mirror must not stay behind it."""

from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError


@register(Tags.database)
def derived_files_caught_up(app_configs, databases=None, **kwargs) -> list[Warning]:
    if "default" not in (databases or ()):
        return []
    from profiles import services

    try:
        yaml = services.profiles_export_check()
        missing = services.journal_mirror_missing()
    except DatabaseError:  # not migrated yet: nothing is derived from it either
        return []
    problems = []
    if yaml.changed:
        problems.append(
            Warning(
                f"The canonical YAML {yaml.path} differs from the database (a change was committed but not "
                "exported, or the file was edited).",
                hint="Run 'manage.py export_profiles' to write the database's state, or 'import_profiles' if the "
                "file is the newer one ('export_profiles --check' shows the difference).",
                id="rmos.W002",
            )
        )
    if missing:
        problems.append(
            Warning(
                f"The journal mirror (RMOS_PROFILE_HISTORY_PATH) lacks {missing} journal entr"
                f"{'y' if missing == 1 else 'ies'} of the database.",
                hint="Run 'manage.py export_profiles': it appends what the mirror lacks (so does the next change).",
                id="rmos.W003",
            )
        )
    return problems
