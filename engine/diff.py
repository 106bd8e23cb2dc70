"""The semantic diff of two sets of profile values: what a change does, in words and marks.

A plain diff says ``max_rings: 10 → 8``; a reviewer wants to know that this *tightens* the profile
(fewer designs are allowed). :func:`semantic_diff` classifies each changed field:

=========================  ===================================================================
kind                        when
=========================  ===================================================================
``tightened``               a bound that now allows less: a minimum raised or a maximum lowered
``widened``                 a bound that now allows more: a minimum lowered or a maximum raised
``moved``                   both bounds of one range changed, one tightening and one widening:
                            the range shifted rather than grew or shrank (both are ``moved``)
``on`` / ``off``            a flag turned on or off
``changed``                 the palette or the description (no order to speak of)
=========================  ===================================================================

Each item keeps ``field``, ``before`` and ``after`` (JSON-ready, as the journal has them), so it is
a superset of a plain diff, and adds ``kind``, ``mark`` (a one-character sign for tables) and
``words`` (a sentence for people). :func:`diff_summary` says the whole change in one line. Used by
change requests (DESIGN §10) and the tuning assistant (§11). Plain Python: no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.profile import CONSTRAINT_FIELDS, WIDTH_FIELDS

#: (minimum field, maximum field, what the range bounds, unit)
RANGES: tuple[tuple[str, str, str, str], ...] = (
    ("min_rings", "max_rings", "ring count", ""),
    ("min_ring_width_mm", "max_ring_width_mm", "ring width", " mm"),
    ("min_total_width_mm", "max_total_width_mm", "total width", " mm"),
)
FLAGS: dict[str, str] = {
    "allow_mosaic": "mosaic rings",
    "allow_segmented": "segmented rings",
    "bias_simple": "the preference for simple designs",
}
MARKS: dict[str, str] = {
    "tightened": "▼",
    "widened": "▲",
    "moved": "↔",
    "on": "●",
    "off": "○",
    "changed": "✎",
}
KINDS: tuple[str, ...] = tuple(MARKS)

_BOUND_OF: dict[str, tuple[str, str, str, str]] = {}
for _low, _high, _what, _unit in RANGES:
    _BOUND_OF[_low] = ("min", _high, _what, _unit)
    _BOUND_OF[_high] = ("max", _low, _what, _unit)


def _number(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _plain(field: str, value: Any) -> Any:
    """JSON-ready: widths as numbers with their two places (as the journal shows them)."""
    if field in WIDTH_FIELDS and value is not None:
        return float(_number(value))
    return value


def _shown(field: str, value: Any) -> str:
    if field in WIDTH_FIELDS:
        return f"{_number(value):.2f} mm"
    if field == "palette_key":
        return f"'{value}'" if value else "any catalog material"
    return str(value)


def _same(field: str, before: Any, after: Any) -> bool:
    if field in WIDTH_FIELDS or field in ("min_rings", "max_rings"):
        return _number(before) == _number(after)
    return before == after


def _bound_kind(field: str, before: Any, after: Any) -> str:
    side = _BOUND_OF[field][0]
    raised = _number(after) > _number(before)
    return "tightened" if (side == "min") == raised else "widened"


def _bound_words(field: str, kind: str, before: Any, after: Any) -> str:
    side, _, what, _ = _BOUND_OF[field]
    direction = "raised" if _number(after) > _number(before) else "lowered"
    change = f"{_shown(field, before)} → {_shown(field, after)}"
    if kind == "moved":
        return f"{side}imum {what} {direction} ({change}): the allowed range moves"
    allows = "allows less" if kind == "tightened" else "allows more"
    return f"{side}imum {what} {direction} ({change}): {kind}, {allows}"


def semantic_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every constraint field that differs between ``before`` and ``after``, in canonical order,
    each as ``{field, before, after, kind, mark, words}``. ``after`` may be partial: a field it
    lacks keeps its ``before`` value (a change request's proposal names only what it changes)."""
    merged = {field: after.get(field, before[field]) for field in CONSTRAINT_FIELDS}
    changed = [f for f in CONSTRAINT_FIELDS if not _same(f, before[f], merged[f])]
    kinds: dict[str, str] = {}
    for field in changed:
        if field in _BOUND_OF:
            kinds[field] = _bound_kind(field, before[field], merged[field])
        elif field in FLAGS:
            kinds[field] = "on" if merged[field] else "off"
        else:
            kinds[field] = "changed"
    for low, high, _, _ in RANGES:
        if low in kinds and high in kinds and kinds[low] != kinds[high]:
            kinds[low] = kinds[high] = "moved"
    items = []
    for field in changed:
        kind = kinds[field]
        old, new = before[field], merged[field]
        if field in _BOUND_OF:
            words = _bound_words(field, kind, old, new)
        elif field in FLAGS:
            words = (
                f"{FLAGS[field]} turned {kind}"
                if field == "bias_simple"
                else f"{FLAGS[field]} {'allowed' if kind == 'on' else 'no longer allowed'}"
            )
        elif field == "palette_key":
            words = f"palette changed from {_shown(field, old)} to {_shown(field, new)}"
        else:
            words = "description changed"
        items.append(
            {
                "field": field,
                "before": _plain(field, old),
                "after": _plain(field, new),
                "kind": kind,
                "mark": MARKS[kind],
                "words": words,
            }
        )
    return items


def diff_summary(items: list[Mapping[str, Any]]) -> str:
    """One line for a whole diff: "tightens 2 bounds, widens 1; mosaic rings off; palette changed"."""
    if not items:
        return "no change"
    count = {kind: sum(1 for item in items if item["kind"] == kind) for kind in KINDS}
    parts = []
    for kind, verb in (("tightened", "tightens"), ("widened", "widens"), ("moved", "moves")):
        if count[kind]:
            parts.append(f"{verb} {count[kind]} bound{'s' if count[kind] != 1 else ''}")
    for item in items:
        if item["kind"] in ("on", "off"):
            parts.append(f"{FLAGS[item['field']]} {item['kind']}")
        elif item["field"] == "palette_key":
            parts.append("palette changed")
        elif item["field"] == "description":
            parts.append("description changed")
    return "; ".join(parts)


__all__ = ["FLAGS", "KINDS", "MARKS", "RANGES", "diff_summary", "semantic_diff"]
