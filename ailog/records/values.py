"""Checks of single posted values, for the item checks of :mod:`ailog.records.items`."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from ailog.records.shapes import (
    CANDIDATE_KEYS,
    EARLIEST,
    FUTURE_SLACK,
    MAX_RING_WIDTH_MM,
    MAX_TOTAL_WIDTH_MM,
    MAX_WARNINGS,
    NOT_PRINTABLE,
    RING_KEYS,
    RING_PATTERNS,
    TIMESTAMP_TEXT_MAX,
    WARNING_MAX_LENGTH,
    WIDTH_TOLERANCE_MM,
    Problems,
    _fmt,
    shown,
)
from engine.context import ID_MAX_LENGTH
from engine.profile import (
    CONTROL_CHARACTERS_MESSAGE,
    MAX_RINGS_LIMIT,
    control_characters,
)


class ValueChecks:
    """Checks of single values (types, ranges, lengths, formats): each adds a problem and returns
    None when the value is refused. ``now`` bounds future timestamps."""

    def __init__(self, *, now: datetime, problems: Problems) -> None:
        self.latest = now + FUTURE_SLACK
        self.problems = problems

    # -- single values --------------------------------------------------------------------

    def timestamp(self, value: Any, index: int, path: str) -> datetime | None:
        add = self.problems.add
        if value is None:
            add(index, path, "required", "this field is required")
            return None
        if type(value) is not str or len(value) > TIMESTAMP_TEXT_MAX:
            add(index, path, "type", "must be an ISO 8601 date-time text with a timezone, e.g. 2025-12-13T10:15:00Z")
            return None
        try:
            # RFC 3339 allows a lower-case "z" for UTC; Python's parser takes only "Z".
            parsed = datetime.fromisoformat(value[:-1] + "Z" if value[-1:] == "z" else value)
        except ValueError:
            add(index, path, "format", f"{value!r} is not an ISO 8601 date-time (e.g. 2025-12-13T10:15:00Z)")
            return None
        if parsed.tzinfo is None:
            add(index, path, "timezone", f"{value!r} has no timezone; add Z or an offset such as +01:00")
            return None
        try:
            parsed = parsed.astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is past the last moment Python knows
            parsed = None
        if parsed is None or parsed < EARLIEST or parsed > self.latest:
            add(
                index,
                path,
                "range",
                f"{value!r} is out of range: from 2000-01-01 up to {FUTURE_SLACK.total_seconds() / 60:g} minutes "
                "ahead of this server's clock",
            )
            return None
        return parsed

    def number(
        self, value: Any, index: int, path: str, low: float, high: float, *, low_open: bool = False
    ) -> float | None:
        kind = type(value)
        if kind is not float and kind is not int:
            if value is None:
                self.problems.add(index, path, "required", "this field is required")
            else:
                self.problems.add(index, path, "type", "must be a number")
            return None
        if kind is float and not math.isfinite(value):
            self.problems.add(index, path, "finite", "must be a finite number")
            return None
        if value < low or value > high or (low_open and value == low):
            where = f"greater than {_fmt(low)}" if low_open else f"at least {_fmt(low)}"
            self.problems.add(index, path, "range", f"must be {where} and at most {_fmt(high)}, got {shown(value)}")
            return None
        return float(value)

    def integer(self, value: Any, index: int, path: str, low: int, high: int) -> int | None:
        if type(value) is not int:
            if type(value) is float and value.is_integer():
                value = int(value)
            elif value is None:
                self.problems.add(index, path, "required", "this field is required")
                return None
            else:
                self.problems.add(index, path, "type", "must be a whole number")
                return None
        if value < low or value > high:
            self.problems.add(index, path, "range", f"must be from {low} to {high}, got {value}")
            return None
        return value

    def boolean(self, value: Any, index: int, path: str) -> bool | None:
        if value is None:
            self.problems.add(index, path, "required", "this field is required")
            return None
        if type(value) is not bool:
            self.problems.add(index, path, "type", "must be true or false")
            return None
        return value

    def text(self, value: Any, index: int, path: str, max_length: int, *, required: bool) -> str | None:
        if value is None and required:
            self.problems.add(index, path, "required", "this field is required")
            return None
        if type(value) is not str:
            self.problems.add(index, path, "type", "must be text")
            return None
        if not value:
            if required:
                self.problems.add(index, path, "required", "must not be empty")
                return None
            return value
        if len(value) > max_length:
            self.problems.add(index, path, "max_length", f"must be at most {max_length} characters, got {len(value)}")
            return None
        if not value.isprintable() or value.strip() != value:
            self.problems.add(index, path, "printable", f"{NOT_PRINTABLE}, without leading or trailing spaces")
            return None
        return value

    def choice(self, value: Any, index: int, path: str, allowed: frozenset[str]) -> str | None:
        if value is None:
            self.problems.add(index, path, "required", "this field is required")
            return None
        if type(value) is not str or value not in allowed:
            self.problems.add(index, path, "choice", f"must be one of {', '.join(sorted(allowed))}; got {shown(value)}")
            return None
        return value

    def run_id(self, value: Any, index: int, path: str) -> uuid.UUID | None:
        if value is None:
            self.problems.add(index, path, "required", "this field is required")
            return None
        if type(value) is not str or len(value) > 45:
            self.problems.add(index, path, "type", "must be a UUID text, e.g. 6f1c2a0e-8f0b-4c8e-9a51-0d6f3c1e2b7a")
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.problems.add(index, path, "format", f"{value!r} is not a UUID")
            return None

    def warnings(self, value: Any, index: int, path: str) -> list[str] | None:
        if type(value) is not list:
            self.problems.add(index, path, "type", "must be a list of texts")
            return None
        if len(value) > MAX_WARNINGS:
            self.problems.add(index, path, "max_items", f"at most {MAX_WARNINGS} warnings, got {len(value)}")
            return None
        for i, item in enumerate(value):
            if type(item) is not str:
                self.problems.add(index, f"{path}[{i}]", "type", "must be text")
                return None
            if len(item) > WARNING_MAX_LENGTH:
                self.problems.add(
                    index,
                    f"{path}[{i}]",
                    "max_length",
                    f"must be at most {WARNING_MAX_LENGTH} characters, got {len(item)}",
                )
                return None
            if control_characters(item, allow_newlines=True):  # a NUL or a lone surrogate could not be stored or shown
                self.problems.add(index, f"{path}[{i}]", "characters", CONTROL_CHARACTERS_MESSAGE)
                return None
        return value

    def candidate(self, value: Any, index: int, path: str) -> dict | None:
        """A candidate ``{rings: [{width_mm, pattern, material_key}], ring_count, total_width_mm}``."""
        add = self.problems.add
        if type(value) is not dict:
            add(index, path, "type", "must be an object {rings, ring_count, total_width_mm}")
            return None
        unknown = value.keys() - CANDIDATE_KEYS
        if unknown:
            add(
                index,
                f"{path}.{min(unknown)}",
                "unknown_field",
                "unknown field; known fields: rings, ring_count, total_width_mm",
            )
            return None
        rings = value.get("rings")
        if rings is not None:
            if type(rings) is not list or not rings or len(rings) > MAX_RINGS_LIMIT:
                add(index, f"{path}.rings", "type", f"must be a list of 1 to {MAX_RINGS_LIMIT} rings")
                return None
            total = 0.0
            for i, ring in enumerate(rings):
                where = f"{path}.rings[{i}]"
                if type(ring) is not dict or ring.keys() - RING_KEYS:
                    add(index, where, "type", "must be an object {width_mm, pattern, material_key}")
                    return None
                width = self.number(
                    ring.get("width_mm"), index, f"{where}.width_mm", 0.0, MAX_RING_WIDTH_MM, low_open=True
                )
                if width is None:
                    return None
                total += width
                pattern = ring.get("pattern")
                if type(pattern) is not str or pattern not in RING_PATTERNS:
                    add(
                        index,
                        f"{where}.pattern",
                        "choice",
                        f"must be one of mosaic, segmented, solid; got {shown(pattern)}",
                    )
                    return None
                material = ring.get("material_key", "")
                if type(material) is not str:
                    add(index, f"{where}.material_key", "type", "must be text")
                    return None
                if len(material) > ID_MAX_LENGTH:
                    add(
                        index,
                        f"{where}.material_key",
                        "max_length",
                        f"must be at most {ID_MAX_LENGTH} characters, got {len(material)}",
                    )
                    return None
                if not material.isprintable():
                    add(index, f"{where}.material_key", "printable", NOT_PRINTABLE)
                    return None
            if total > MAX_TOTAL_WIDTH_MM + WIDTH_TOLERANCE_MM:
                field = "total_width_mm" if "total_width_mm" in value else "rings"
                add(
                    index,
                    f"{path}.{field}",
                    "range",
                    f"the rings add up to {total:.2f} mm; a candidate is at most {MAX_TOTAL_WIDTH_MM:g} mm wide",
                )
                return None
            count = value.get("ring_count")
            if count is not None and (type(count) is not int or count != len(rings)):
                add(
                    index,
                    f"{path}.ring_count",
                    "consistency",
                    f"is {shown(count)} but the candidate has {len(rings)} rings",
                )
                return None
            stated = value.get("total_width_mm")
            if stated is not None and (type(stated) not in (int, float) or abs(stated - total) > WIDTH_TOLERANCE_MM):
                add(
                    index,
                    f"{path}.total_width_mm",
                    "consistency",
                    f"is {shown(stated)} but the rings add up to {total:.2f}",
                )
                return None
        else:
            if (
                "ring_count" in value
                and self.integer(value["ring_count"], index, f"{path}.ring_count", 1, MAX_RINGS_LIMIT) is None
            ):
                return None
            if (
                "total_width_mm" in value
                and self.number(
                    value["total_width_mm"], index, f"{path}.total_width_mm", 0.0, MAX_TOTAL_WIDTH_MM, low_open=True
                )
                is None
            ):
                return None
        return value
