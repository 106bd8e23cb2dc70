"""The files derived from the database: the canonical YAML of profiles (written atomically) and the
optional JSONL mirror of the journal. Both catch up after every committed change, on
``export_profiles`` and at start-up (``./dev start``), so a crash between a commit and its export
leaves neither behind for good; ``check --database default`` warns while one is (profiles.checks)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from profiles import canonical, journal, selectors


@dataclass
class ExportResult:
    path: Path
    changed: bool
    diff: str


def _export_path(path: Path | None) -> Path:
    return Path(path) if path is not None else Path(settings.RMOS_PROFILE_YAML_PATH)


def _unified_diff(old: str, new: str, path: Path) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"{path} (file)", f"{path} (database)"
        )
    )


def profiles_export(*, path: Path | None = None) -> ExportResult:
    """Write the canonical YAML for the database's current state; leave an identical file alone."""
    target = _export_path(path)
    with canonical.file_lock(target):
        canonical.remove_stale_temp_files(target)
        # Read under the lock: the last writer always writes the newest committed state.
        text = canonical.render(*selectors.canonical_state())
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        if old == text:
            return ExportResult(target, False, "")
        canonical.atomic_write(target, text)
        return ExportResult(target, True, _unified_diff(old, text, target))


def profiles_export_check(*, path: Path | None = None) -> ExportResult:
    """Compare the file with the database without writing; ``changed`` means they differ."""
    target = _export_path(path)
    text = canonical.render(*selectors.canonical_state())
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    return ExportResult(target, old != text, _unified_diff(old, text, target) if old != text else "")


def _mirror_path(path: Path | None) -> Path | None:
    if path is not None:
        return Path(path)
    configured = settings.RMOS_PROFILE_HISTORY_PATH
    return Path(configured) if configured else None


def journal_mirror_catch_up(*, path: Path | None = None) -> int:
    """Append every journal entry the JSONL mirror lacks; 0 when no mirror is configured."""
    target = _mirror_path(path)
    if target is None:
        return 0
    return journal.mirror_catch_up(target, selectors.journal_all())


def journal_mirror_missing(*, path: Path | None = None) -> int:
    """How many journal entries the mirror lacks (0 without a mirror)."""
    target = _mirror_path(path)
    if target is None:
        return 0
    return journal.mirror_missing(target, selectors.journal_all())
