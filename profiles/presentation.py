"""How profile fields read on pages: labels, units, limits, groups and value formatting.

The limits come from ``engine.profile``, where the rules themselves are written; this module only
says them in words. Used by the editor form, the profile list, history diffs and rollback pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.profile import (
    DESCRIPTION_MAX,
    MAX_RING_WIDTH_LIMIT,
    MAX_RINGS_LIMIT,
    MAX_TOTAL_WIDTH_LIMIT,
    PALETTE_KEY_MAX,
    WIDTH_PLACES,
)

MM_STEP = Decimal(1).scaleb(-WIDTH_PLACES)  # 0.01 mm


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # int | mm | bool | text | palette
    limits: str  # the allowed range in words ("1–24", "0.01–20.00 mm")
    help: str = ""  # a sentence where the label alone does not say enough
    low: Decimal | int | None = None
    high: Decimal | int | None = None

    @property
    def unit(self) -> str:
        return "mm" if self.kind == "mm" else ""


def _mm(value: Decimal) -> str:
    return f"{value.quantize(MM_STEP)}"


FIELD_SPECS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("description", "Description", "text", f"up to {DESCRIPTION_MAX} characters"),
        FieldSpec("min_rings", "Fewest rings", "int", f"1–{MAX_RINGS_LIMIT}", low=1, high=MAX_RINGS_LIMIT),
        FieldSpec(
            "max_rings", "Most rings", "int", f"1–{MAX_RINGS_LIMIT}, at least the fewest", low=1, high=MAX_RINGS_LIMIT
        ),
        FieldSpec(
            "min_ring_width_mm",
            "Narrowest ring",
            "mm",
            f"{_mm(MM_STEP)}–{_mm(MAX_RING_WIDTH_LIMIT)} mm",
            low=MM_STEP,
            high=MAX_RING_WIDTH_LIMIT,
        ),
        FieldSpec(
            "max_ring_width_mm",
            "Widest ring",
            "mm",
            f"{_mm(MM_STEP)}–{_mm(MAX_RING_WIDTH_LIMIT)} mm, at least the narrowest",
            low=MM_STEP,
            high=MAX_RING_WIDTH_LIMIT,
        ),
        FieldSpec(
            "min_total_width_mm",
            "Narrowest rosette",
            "mm",
            f"{_mm(MM_STEP)}–{_mm(MAX_TOTAL_WIDTH_LIMIT)} mm (all rings together)",
            low=MM_STEP,
            high=MAX_TOTAL_WIDTH_LIMIT,
        ),
        FieldSpec(
            "max_total_width_mm",
            "Widest rosette",
            "mm",
            f"{_mm(MM_STEP)}–{_mm(MAX_TOTAL_WIDTH_LIMIT)} mm, at least the narrowest",
            low=MM_STEP,
            high=MAX_TOTAL_WIDTH_LIMIT,
        ),
        FieldSpec("allow_mosaic", "Allow mosaic rings", "bool", "", "Rings of small tiles."),
        FieldSpec("allow_segmented", "Allow segmented rings", "bool", "", "Rings cut into wedges."),
        FieldSpec(
            "palette_key",
            "Palette",
            "palette",
            f"a catalog palette, up to {PALETTE_KEY_MAX} characters",
            "Materials the generator may use; none means any catalog material.",
        ),
        FieldSpec("bias_simple", "Prefer simple designs", "bool", "", "Favour fewer rings and solid patterns."),
    )
}
#: How the editor groups the fields: (legend, fields).
FIELD_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Ring count", ("min_rings", "max_rings")),
    ("Ring width", ("min_ring_width_mm", "max_ring_width_mm")),
    ("Total width of the rosette", ("min_total_width_mm", "max_total_width_mm")),
    ("Patterns and materials", ("allow_mosaic", "allow_segmented", "bias_simple", "palette_key")),
    ("About", ("description",)),
)


def field_label(field: str) -> str:
    spec = FIELD_SPECS.get(field)
    return spec.label if spec else field.replace("_", " ").capitalize()


def display_value(field: str, value: Any) -> str:
    """A value as a person reads it: "2.50 mm", "yes", "any catalog material"."""
    if value is None:
        return "—"
    spec = FIELD_SPECS.get(field)
    kind = spec.kind if spec else ""
    if kind == "bool" or isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "mm":
        try:
            return f"{Decimal(str(value)).quantize(MM_STEP)} mm"
        except InvalidOperation:
            return str(value)
    if kind == "palette":
        return str(value) if value else "any catalog material"
    if kind == "text":
        return str(value) if value else "(empty)"
    return str(value)


def same_value(field: str, a: Any, b: Any) -> bool:
    """Whether two spellings of a value are the same value ("3" and 3.0 mm are)."""
    spec = FIELD_SPECS.get(field)
    if spec and spec.kind in ("int", "mm"):
        try:
            return Decimal(str(a).strip()) == Decimal(str(b).strip())
        except (InvalidOperation, ValueError):
            return False
    if spec and spec.kind == "bool":
        return bool(a) == bool(b)
    return ("" if a is None else str(a)) == ("" if b is None else str(b))


@dataclass(frozen=True)
class ChangeRow:
    field: str
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class HistoryRow:
    """A journal entry (``profiles.selectors.profile_history``) ready for a template."""

    id: int
    version: int
    type: str  # created | changed | rollback | import | deleted
    user: str | None
    operator: str
    note: str
    time: datetime | None
    rollback_of: int | None
    rollback_of_version: int | None  # the version a rollback restored, when known
    change_request: int | None  # the change request this version published
    changes: tuple[ChangeRow, ...]
    is_first: bool  # no earlier record: the changes are the initial values
    restorable: bool  # an earlier version one may roll back to


def change_rows(changes: Iterable[Mapping[str, Any]], *, initial: bool = False) -> tuple[ChangeRow, ...]:
    """``[{field, before, after}]`` as rows; ``initial``: first values, nothing before them."""
    return tuple(
        ChangeRow(
            c["field"],
            field_label(c["field"]),
            "" if initial else display_value(c["field"], c["before"]),
            display_value(c["field"], c["after"]),
        )
        for c in changes
    )


def history_rows(entries: Iterable[Mapping[str, Any]], *, current_version: int | None) -> list[HistoryRow]:
    rows = []
    for entry in entries:
        changes = entry.get("changes") or []
        is_first = bool(changes) and all(c.get("before") is None for c in changes)
        time = entry.get("time")
        rows.append(
            HistoryRow(
                id=entry["id"],
                version=entry["version"],
                type=entry["type"],
                user=entry.get("user"),
                operator=entry.get("operator") or "",
                note=entry.get("note") or "",
                time=datetime.fromisoformat(time) if isinstance(time, str) else time,
                rollback_of=entry.get("rollback_of"),
                rollback_of_version=entry.get("rollback_of_version"),
                change_request=entry.get("change_request"),
                changes=change_rows(changes, initial=is_first),
                is_first=is_first,
                restorable=entry["type"] != "deleted" and entry["version"] != current_version,
            )
        )
    return rows
