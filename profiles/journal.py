"""The change journal: what every historical record says, in one JSON-ready shape.

django-simple-history writes one record per save. Services stamp each save with a
:class:`JournalStamp` (change type, operator, record rolled back to); the receiver below copies
it onto the record. :func:`entries` turns records into journal entries with the fields each one
changed, which the history API, the dashboard, ``export_history`` and the JSONL mirror share.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.profile import CONSTRAINT_FIELDS
from profiles.models import ChangeType
from rmos_site.present import utc_iso

#: Who may change a profile's values and how (DESIGN §10); journaled, but not values runs see.
GOVERNANCE_FIELDS: tuple[str, ...] = ("protected", "required_approvals")
PROFILE_FIELDS: tuple[str, ...] = CONSTRAINT_FIELDS + GOVERNANCE_FIELDS
RULE_FIELDS: tuple[str, ...] = (
    "tool_pattern",
    "material_pattern",
    "machine_pattern",
    "workflow_mode",
    "geometry_engine",
    "priority",
    "enabled",
    "note",
    "profile_id",
)
_DEFAULT_TYPES = {"+": ChangeType.CREATED, "~": ChangeType.CHANGED, "-": ChangeType.DELETED}


@dataclass(frozen=True)
class JournalStamp:
    change_type: str
    operator: str = ""
    rollback_of: int | None = None
    change_request: int | None = None


def stamp_journal_fields(sender, instance, history_instance, **kwargs) -> None:
    """pre_create_historical_record receiver: copy the service's stamp onto the record."""
    if not hasattr(history_instance, "change_type"):
        return
    stamp: JournalStamp | None = getattr(instance, "_journal", None)
    if stamp is None:
        history_instance.change_type = _DEFAULT_TYPES[history_instance.history_type]
        return
    history_instance.change_type = ChangeType.DELETED if history_instance.history_type == "-" else stamp.change_type
    history_instance.operator = stamp.operator
    history_instance.rollback_of = stamp.rollback_of
    if hasattr(history_instance, "change_request"):
        history_instance.change_request = stamp.change_request


def plain(value: Any) -> Any:
    """A JSON-ready value: decimals become numbers with their two places kept exact."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def record_changes(record, previous, fields: Sequence[str]) -> list[dict[str, Any]]:
    """Fields whose value differs between ``previous`` (or nothing) and ``record``."""
    changes = []
    for field in fields:
        after = getattr(record, field)
        before = getattr(previous, field) if previous is not None else None
        if previous is None or before != after:
            changes.append({"field": _public_name(field), "before": plain(before), "after": plain(after)})
    return changes


def _public_name(field: str) -> str:
    return "profile" if field == "profile_id" else field


def entry(record, previous, fields: Sequence[str], *, subject: str) -> dict[str, Any]:
    """One journal entry; ``previous`` is the record before it for the same object, or None."""
    user = record.history_user
    return {
        "id": record.history_id,
        "subject": subject,
        "version": record.version,
        "type": record.change_type,
        "user": user.get_username() if user is not None else None,
        "operator": record.operator,
        "note": record.history_change_reason or "",
        # UTC as the log writes it (Z), always to the microsecond so that these texts sort as times.
        "time": utc_iso(record.history_date, timespec="microseconds"),
        "rollback_of": record.rollback_of,
        "change_request": getattr(record, "change_request", None),
        "changes": [] if record.history_type == "-" else record_changes(record, previous, fields),
    }


def entries(records_oldest_first: Iterable, fields: Sequence[str], *, subject_of) -> list[dict[str, Any]]:
    """Journal entries for records of one object, oldest first; each diffed against the one before."""
    out = []
    previous = None
    for record in records_oldest_first:
        out.append(entry(record, previous, fields, subject=subject_of(record)))
        previous = record
    return out


def _mirrored_keys(text: str) -> set[tuple[str, int]]:
    """The (kind, id) of every entry already in the mirror; a line torn by a crash is skipped."""
    keys = set()
    for line in text.splitlines():
        try:
            item = json.loads(line)
            keys.add((item["kind"], item["id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return keys


def mirror_catch_up(path: Path, entries: Iterable[dict[str, Any]]) -> int:
    """Append to the JSONL mirror every entry (with ``kind`` and ``id``) it does not hold yet, one
    line each, under an exclusive lock; return how many. The mirror is derived from the journal,
    so an entry a crash kept out (committed, never appended) comes with the next call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with open(fd, "rb", closefd=False) as handle:
            handle.seek(0)
            text = handle.read().decode("utf-8", errors="replace")
        have = _mirrored_keys(text)
        missing = [item for item in entries if (item["kind"], item["id"]) not in have]
        if not missing:
            return 0
        lines = "".join(json.dumps(item, sort_keys=True, ensure_ascii=False) + "\n" for item in missing)
        if text and not text.endswith("\n"):
            lines = "\n" + lines  # a torn last line stays alone on its line
        os.write(fd, lines.encode("utf-8"))
        os.fsync(fd)
        return len(missing)
    finally:
        os.close(fd)


def mirror_missing(path: Path, entries: Iterable[dict[str, Any]]) -> int:
    """How many of ``entries`` the mirror lacks (read only)."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    have = _mirrored_keys(text)
    return sum(1 for item in entries if (item["kind"], item["id"]) not in have)
