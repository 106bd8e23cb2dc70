"""Rosette: concentric rings of a candidate, inner ring first."""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.charts.common import svg_number

MATERIAL_COLOURS: dict[str, str] = {
    "ebony": "#2b2523",
    "rosewood": "#5a3222",
    "mahogany": "#7b3f2a",
    "walnut": "#5c4332",
    "padauk": "#b5482d",
    "maple-hard": "#e8d6b0",
    "maple-flamed": "#d9b97e",
    "holly": "#f3eee2",
    "abalone-paua": "#3c7d8a",
    "abalone-green": "#4f8a6a",
    "mother-of-pearl": "#e6e1ee",
}
#: Other keys get one of these, chosen by a hash of the key (stable across runs and processes).
FALLBACK_COLOURS: tuple[str, ...] = (
    "#8c6d4f",
    "#a8845c",
    "#6b7f4e",
    "#4d6b85",
    "#8a5a6b",
    "#b39a6b",
    "#5f5a53",
    "#9a7b3f",
)
PATTERNS: tuple[str, ...] = ("solid", "mosaic", "segmented")


def material_colour(key: str) -> str:
    name = key.split(":", 1)[-1].strip().lower()
    if name in MATERIAL_COLOURS:
        return MATERIAL_COLOURS[name]
    return FALLBACK_COLOURS[zlib.crc32(key.encode("utf-8")) % len(FALLBACK_COLOURS)]


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _mix(colour: str, other: str, amount: float) -> str:
    a, b = _rgb(colour), _rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b))


def contrast_colour(colour: str) -> str:
    """A second tone for tiles and wedges: darker for light materials, lighter for dark ones."""
    return _mix(colour, "#000000", 0.35) if _luminance(colour) > 0.35 else _mix(colour, "#ffffff", 0.45)


def _sector(cx: float, cy: float, r_in: float, r_out: float, a0: float, a1: float) -> str:
    """An annular sector between angles a0 < a1 (radians, clockwise from 12 o'clock)."""

    def point(r: float, a: float) -> str:
        return f"{svg_number(cx + r * math.sin(a))},{svg_number(cy - r * math.cos(a))}"

    large = 1 if a1 - a0 > math.pi else 0
    return (
        f"M{point(r_out, a0)} A{svg_number(r_out)},{svg_number(r_out)} 0 {large} 1 {point(r_out, a1)} "
        f"L{point(r_in, a1)} A{svg_number(r_in)},{svg_number(r_in)} 0 {large} 0 {point(r_in, a0)} Z"
    )


def _annulus(cx: float, cy: float, r_in: float, r_out: float) -> str:
    """A full ring as two circles (draw with fill-rule evenodd)."""

    def circle(r: float) -> str:
        return (
            f"M{svg_number(cx + r)},{svg_number(cy)} A{svg_number(r)},{svg_number(r)} 0 1 0 {svg_number(cx - r)},{svg_number(cy)} "
            f"A{svg_number(r)},{svg_number(r)} 0 1 0 {svg_number(cx + r)},{svg_number(cy)} Z"
        )

    return circle(r_out) + " " + circle(r_in)


@dataclass(frozen=True)
class RosetteRing:
    index: int  # 1 = innermost
    width_mm: float
    pattern: str
    material_key: str
    inner_r: float
    outer_r: float
    fill: str
    base_d: str  # the whole ring in ``fill``
    detail_d: str  # wedges or tiles in ``detail_fill`` ("" for solid)
    detail_fill: str
    pieces: int  # wedges or tiles drawn
    title: str


@dataclass(frozen=True)
class Rosette:
    size: float
    center: float
    hole_r: float
    rings: tuple[RosetteRing, ...]
    boundaries: tuple[float, ...]  # radii of the lines between rings (and the outer edge)
    legend: tuple[tuple[str, str], ...]  # (material key, colour) in order of first use
    ring_count: int
    total_width_mm: float
    title: str
    summary: str
    empty: bool
    empty_message: str


def rosette(
    candidate: Mapping[str, Any],
    *,
    size: float = 180,
    band_fraction: float = 0.4,
    empty_message: str = "No candidate to draw",
) -> Rosette:
    """Draw a candidate ``{rings: [{width_mm, pattern, material_key}], ...}``, inner ring first.

    Not to scale: the soundhole is drawn so that the rings take ``band_fraction`` of the radius
    whatever their total width, which keeps thin rosettes readable. Ring widths stay exact
    relative to each other; the summary states the real widths.
    """
    raw_rings = list(candidate.get("rings") or [])
    center = size / 2
    rings_in: list[tuple[float, str, str]] = []
    for i, ring in enumerate(raw_rings, start=1):
        try:
            width_mm = float(ring["width_mm"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"ring {i} has no numeric width_mm") from None
        if not math.isfinite(width_mm) or width_mm <= 0:
            raise ValueError(f"ring {i} width_mm must be > 0, got {ring['width_mm']!r}")
        rings_in.append((width_mm, str(ring.get("pattern") or "solid"), str(ring.get("material_key") or "")))
    total_mm = sum(w for w, _, _ in rings_in)
    if not rings_in:
        return Rosette(size, center, 0, (), (), (), 0, 0.0, "Rosette", empty_message, True, empty_message)

    outer = center * 0.94  # a little of the top shows around the rosette
    hole = outer * (1 - band_fraction)
    scale = (outer - hole) / total_mm
    rings: list[RosetteRing] = []
    legend: dict[str, str] = {}
    radius = hole
    for index, (width_mm, pattern, material) in enumerate(rings_in, start=1):
        r_in, r_out = radius, radius + width_mm * scale
        radius = r_out
        fill = material_colour(material) if material else "#b9b2a6"
        legend.setdefault(material or "(no material)", fill)
        detail_fill = contrast_colour(fill)
        ring_px = r_out - r_in
        r_mid = (r_in + r_out) / 2
        detail: list[str] = []
        pieces = 0
        if pattern == "segmented":
            # Wedges about three ring-widths long, an even number so the tones alternate.
            count = max(8, min(48, 2 * round(math.tau * r_mid / max(ring_px * 3, 4) / 2)))
            step = math.tau / count
            detail = [_sector(center, center, r_in, r_out, k * step, (k + 1) * step) for k in range(1, count, 2)]
            pieces = count
        elif pattern == "mosaic":
            rows = 2 if ring_px >= 5 else 1
            tile = ring_px / rows
            count = max(12, min(120, 2 * round(math.tau * r_mid / max(tile, 2) / 2)))
            step = math.tau / count
            for row in range(rows):
                t_in, t_out = r_in + row * tile, r_in + (row + 1) * tile
                detail.extend(
                    _sector(center, center, t_in, t_out, k * step, (k + 1) * step) for k in range(row % 2, count, 2)
                )
            pieces = count * rows
        rings.append(
            RosetteRing(
                index=index,
                width_mm=width_mm,
                pattern=pattern,
                material_key=material,
                inner_r=round(r_in, 2),
                outer_r=round(r_out, 2),
                fill=fill,
                base_d=_annulus(center, center, r_in, r_out),
                detail_d=" ".join(detail),
                detail_fill=detail_fill,
                pieces=pieces,
                title=f"Ring {index}: {width_mm:.2f} mm {pattern}, {material or 'no material'}",
            )
        )
    boundaries = tuple(round(r.outer_r, 2) for r in rings)
    described = "; ".join(f"{r.width_mm:.2f} mm {r.pattern} {r.material_key or 'no material'}" for r in rings)
    summary = (
        f"{len(rings)} ring{'s' if len(rings) != 1 else ''}, {total_mm:.2f} mm in total, inner to outer: {described}."
    )
    return Rosette(
        size=size,
        center=center,
        hole_r=round(hole, 2),
        rings=tuple(rings),
        boundaries=boundaries,
        legend=tuple(legend.items()),
        ring_count=len(rings),
        total_width_mm=round(total_mm, 2),
        title=f"Rosette: {len(rings)} ring{'s' if len(rings) != 1 else ''}, {total_mm:.2f} mm",
        summary=summary,
        empty=False,
        empty_message=empty_message,
    )
