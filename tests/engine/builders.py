"""Small builders for engine tests: valid profile specs, contexts, hand-made candidates."""

from __future__ import annotations

from typing import Any

from engine.catalog import load_catalog
from engine.context import Context
from engine.generator import Candidate
from engine.profile import DEFAULTS, ProfileSpec, parse_profile


def make_spec(name: str = "test", **overrides: Any) -> ProfileSpec:
    """A spec built through ``parse_profile`` (so it is valid), from the defaults plus overrides."""
    spec, problems = parse_profile(name, {**DEFAULTS, **overrides}, palette_keys=load_catalog().palette_keys())
    assert spec is not None, problems
    return spec


def make_context(
    tool_id: str = "saw:jeweler-0.25",
    material_id: str = "wood:maple-hard",
    machine_id: str = "prod:vmc-3axis",
    **rest: str,
) -> Context:
    return Context(tool_id, material_id, machine_id, **rest)


def make_candidate(*rings: tuple[float, str, str]) -> Candidate:
    """A candidate from ``(width_mm, pattern, material_key)`` rings."""
    widths = tuple(round(width * 100) for width, _, _ in rings)
    return Candidate(widths, tuple(r[1] for r in rings), tuple(r[2] for r in rings), sum(widths))


def assert_satisfies(candidate: Candidate, spec: ProfileSpec, palette: tuple[str, ...]) -> None:
    """The generator's promise: every bound and flag of ``spec`` holds for ``candidate``."""
    min_w, max_w, min_t, max_t = spec.units
    n = len(candidate.widths)
    assert spec.min_rings <= n <= spec.max_rings, candidate
    assert len(candidate.patterns) == len(candidate.materials) == n, candidate
    assert all(isinstance(w, int) and min_w <= w <= max_w for w in candidate.widths), candidate
    assert candidate.total == sum(candidate.widths), candidate
    assert min_t <= candidate.total <= max_t, candidate
    allowed = {"solid"}
    if spec.allow_mosaic:
        allowed.add("mosaic")
    if spec.allow_segmented:
        allowed.add("segmented")
    assert set(candidate.patterns) <= allowed, candidate
    assert set(candidate.materials) <= set(palette), candidate
