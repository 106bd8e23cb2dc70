"""Constraint profile values: their types, their ranges and the rules between them.

This is the one place the rules of DESIGN.md §3 ("Constraint profile") are written. Every door
into the product (API, admin, dashboard forms, YAML import) ends in :func:`parse_profile`, and
the generator trusts a :class:`ProfileSpec` because it could only be built through here.

Widths are millimetres with at most two decimals. Internally the engine works in whole
hundredths of a millimetre (:attr:`ProfileSpec.units`), so bounds are exact and a candidate
can never leave them by rounding.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_RINGS_LIMIT = 24
MAX_RING_WIDTH_LIMIT = Decimal("20")
MAX_TOTAL_WIDTH_LIMIT = Decimal("60")
DESCRIPTION_MAX = 2000
#: A profile name in the log: a profile's slug here, or any name an integrator's generator used.
PROFILE_NAME_MAX = 64
PALETTE_KEY_MAX = 64
WIDTH_PLACES = 2

#: The constraint fields, in canonical order (YAML, API, history diffs).
CONSTRAINT_FIELDS: tuple[str, ...] = (
    "description",
    "min_rings",
    "max_rings",
    "min_ring_width_mm",
    "max_ring_width_mm",
    "min_total_width_mm",
    "max_total_width_mm",
    "allow_mosaic",
    "allow_segmented",
    "palette_key",
    "bias_simple",
)
INT_FIELDS = ("min_rings", "max_rings")
WIDTH_FIELDS = ("min_ring_width_mm", "max_ring_width_mm", "min_total_width_mm", "max_total_width_mm")
BOOL_FIELDS = ("allow_mosaic", "allow_segmented", "bias_simple")
STR_FIELDS = ("description", "palette_key")

DEFAULTS: dict[str, Any] = {
    "description": "",
    "min_rings": 1,
    "max_rings": 6,
    "min_ring_width_mm": Decimal("0.50"),
    "max_ring_width_mm": Decimal("3.00"),
    "min_total_width_mm": Decimal("3.00"),
    "max_total_width_mm": Decimal("12.00"),
    "allow_mosaic": True,
    "allow_segmented": True,
    "palette_key": "",
    "bias_simple": False,
}

UNITS_PER_MM = 10**WIDTH_PLACES


class Problem(NamedTuple):
    """One broken rule: which field, which rule (a stable code), and a sentence for people."""

    field: str
    rule: str
    message: str


@dataclass(frozen=True)
class ProfileSpec:
    name: str
    description: str
    min_rings: int
    max_rings: int
    min_ring_width_mm: Decimal
    max_ring_width_mm: Decimal
    min_total_width_mm: Decimal
    max_total_width_mm: Decimal
    allow_mosaic: bool
    allow_segmented: bool
    palette_key: str
    bias_simple: bool

    def values(self) -> dict[str, Any]:
        """The constraint fields (everything but ``name``) as a plain dict."""
        return {f: getattr(self, f) for f in CONSTRAINT_FIELDS}

    @property
    def units(self) -> tuple[int, int, int, int]:
        """(min ring, max ring, min total, max total) widths in hundredths of a millimetre."""
        return tuple(int(getattr(self, f) * UNITS_PER_MM) for f in WIDTH_FIELDS)  # type: ignore[return-value]

    def feasible_ring_counts(self) -> list[int]:
        return feasible_ring_counts(self.min_rings, self.max_rings, *self.units)


def feasible_ring_counts(min_rings: int, max_rings: int, min_w: int, max_w: int, min_t: int, max_t: int) -> list[int]:
    """Ring counts n for which some widths in [min_w, max_w] sum into [min_t, max_t]."""
    return [n for n in range(min_rings, max_rings + 1) if n * min_w <= max_t and n * max_w >= min_t]


def _parse_int(field: str, raw: Any, low: int, high: int) -> tuple[int | None, Problem | None]:
    if isinstance(raw, bool) or raw is None:
        return None, Problem(field, "type", f"must be a whole number, got {_show(raw)}")
    if isinstance(raw, float):
        if not math.isfinite(raw) or raw != int(raw):
            return None, Problem(field, "type", f"must be a whole number, got {_show(raw)}")
        raw = int(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite() or raw != raw.to_integral_value():
            return None, Problem(field, "type", f"must be a whole number, got {_show(raw)}")
        raw = int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            return None, Problem(field, "type", f"must be a whole number, got {_show(raw)}")
        raw = int(text)
    if not isinstance(raw, int):
        return None, Problem(field, "type", f"must be a whole number, got {_show(raw)}")
    if not low <= raw <= high:
        return None, Problem(field, "range", f"must be between {low} and {high}, got {raw}")
    return raw, None


def _parse_width(field: str, raw: Any, high: Decimal) -> tuple[Decimal | None, Problem | None]:
    if isinstance(raw, bool) or raw is None:
        return None, Problem(field, "type", f"must be a number of millimetres, got {_show(raw)}")
    try:
        if isinstance(raw, float):
            if not math.isfinite(raw):
                return None, Problem(field, "finite", f"must be a finite number, got {_show(raw)}")
            value = Decimal(repr(raw))
        elif isinstance(raw, (int, Decimal)):
            value = Decimal(raw)
        elif isinstance(raw, str):
            value = Decimal(raw.strip())
        else:
            return None, Problem(field, "type", f"must be a number of millimetres, got {_show(raw)}")
    except InvalidOperation:
        return None, Problem(field, "type", f"must be a number of millimetres, got {_show(raw)}")
    if not value.is_finite():
        return None, Problem(field, "finite", f"must be a finite number, got {_show(raw)}")
    step = Decimal(1).scaleb(-WIDTH_PLACES)
    if value.as_tuple().exponent < -WIDTH_PLACES and value != value.quantize(step):
        return None, Problem(
            field, "precision", f"must have at most {WIDTH_PLACES} decimal places (0.01 mm), got {raw}"
        )
    if not Decimal(0) < value <= high:
        return None, Problem(field, "range", f"must be greater than 0 and at most {high} mm, got {raw}")
    return value.quantize(step), None


def _parse_bool(field: str, raw: Any) -> tuple[bool | None, Problem | None]:
    if isinstance(raw, bool):
        return raw, None
    return None, Problem(field, "type", f"must be true or false, got {_show(raw)}")


def control_characters(text: str, *, allow_newlines: bool = False) -> bool:
    """Whether ``text`` holds characters no one types: controls (NUL and friends; PostgreSQL
    refuses NUL), unpaired surrogates (no UTF-8 can carry them: every JSON read of the row would
    fail) and bidirectional overrides (the text would display as other words). Other unprintables
    are text people write - a no-break space, an emoji's joiner."""
    allowed = "\n\r\t" if allow_newlines else ""
    return any(
        (unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI_CONTROLS) and ch not in allowed
        for ch in text
        if not ch.isprintable()
    )


#: The message of the rule :func:`control_characters` checks (rule "characters").
CONTROL_CHARACTERS_MESSAGE = (
    "must not contain control characters (such as NUL), direction overrides or unpaired surrogates"
)

#: Characters that reorder the text around them ("Trojan Source"): a note or warning would show
#: other words than it holds.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _parse_str(field: str, raw: Any, limit: int, *, multiline: bool = False) -> tuple[str | None, Problem | None]:
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        return None, Problem(field, "type", f"must be text, got {_show(raw)}")
    if len(raw) > limit:
        return None, Problem(field, "max_length", f"must be at most {limit} characters, got {len(raw)}")
    if control_characters(raw, allow_newlines=multiline):
        return None, Problem(field, "characters", CONTROL_CHARACTERS_MESSAGE)
    return raw, None


def _show(raw: Any) -> str:
    if raw is None:
        return "nothing (null)"
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def validate_name(raw: Any) -> Problem | None:
    if not isinstance(raw, str) or not NAME_RE.fullmatch(raw):
        return Problem(
            "name",
            "slug",
            "must be 1-64 characters of lowercase letters, digits, '-' or '_', "
            f"starting with a letter or digit; got {_show(raw)}",
        )
    return None


def parse_profile(
    name: Any,
    values: Mapping[str, Any],
    *,
    palette_keys: Collection[str] | None = None,
) -> tuple[ProfileSpec | None, list[Problem]]:
    """Check a complete set of profile values; return the spec, or ``None`` and every problem.

    ``values`` must hold every constraint field (merge a partial update onto the current values
    first). Unknown keys are problems too. ``palette_keys``, when given, are the palettes the
    catalog knows; an empty ``palette_key`` always passes (any catalog material).
    """
    problems: list[Problem] = []
    name_problem = validate_name(name)
    if name_problem:
        problems.append(name_problem)
    unknown = sorted(set(values) - set(CONSTRAINT_FIELDS))
    for key in unknown:
        problems.append(
            Problem(str(key), "unknown_field", f"is not a profile field; known fields: {', '.join(CONSTRAINT_FIELDS)}")
        )
    parsed: dict[str, Any] = {}
    for field in CONSTRAINT_FIELDS:
        if field not in values:
            problems.append(Problem(field, "required", "is required"))
            continue
        raw = values[field]
        if field in INT_FIELDS:
            value, problem = _parse_int(field, raw, 1, MAX_RINGS_LIMIT)
        elif field in WIDTH_FIELDS:
            high = MAX_RING_WIDTH_LIMIT if "ring" in field else MAX_TOTAL_WIDTH_LIMIT
            value, problem = _parse_width(field, raw, high)
        elif field in BOOL_FIELDS:
            value, problem = _parse_bool(field, raw)
        else:
            limit = DESCRIPTION_MAX if field == "description" else PALETTE_KEY_MAX
            value, problem = _parse_str(field, raw, limit, multiline=field == "description")
        if problem:
            problems.append(problem)
        else:
            parsed[field] = value

    pairs = (
        ("min_rings", "max_rings", ""),
        ("min_ring_width_mm", "max_ring_width_mm", " mm"),
        ("min_total_width_mm", "max_total_width_mm", " mm"),
    )
    for low, high, unit in pairs:
        if low in parsed and high in parsed and parsed[low] > parsed[high]:
            problems.append(
                Problem(high, "min_le_max", f"must be at least {low} ({parsed[low]}{unit}), got {parsed[high]}{unit}")
            )

    palette = parsed.get("palette_key")
    if palette and palette_keys is not None and palette not in palette_keys:
        known = ", ".join(sorted(palette_keys)) or "none"
        problems.append(
            Problem("palette_key", "unknown_palette", f"{palette!r} is not a catalog palette; known: {known}")
        )

    if problems:
        return None, problems

    spec = ProfileSpec(name=name, **parsed)
    design_problem = admits_design_problem(spec)
    if design_problem:
        return None, [design_problem]
    return spec, []


def admits_design_problem(spec: ProfileSpec) -> Problem | None:
    """Why no candidate can satisfy ``spec``, or ``None`` when at least one can."""
    min_w, max_w, min_t, max_t = spec.units
    narrowest = spec.min_rings * min_w
    if narrowest > max_t:
        return Problem(
            "max_total_width_mm",
            "admits_design",
            f"no design fits: the narrowest allowed rosette ({spec.min_rings} rings x "
            f"{spec.min_ring_width_mm} mm = {_mm(narrowest)} mm) is wider than max_total_width_mm "
            f"({spec.max_total_width_mm} mm); lower min_rings or min_ring_width_mm, or raise max_total_width_mm",
        )
    widest = spec.max_rings * max_w
    if widest < min_t:
        return Problem(
            "min_total_width_mm",
            "admits_design",
            f"no design fits: the widest allowed rosette ({spec.max_rings} rings x "
            f"{spec.max_ring_width_mm} mm = {_mm(widest)} mm) is narrower than min_total_width_mm "
            f"({spec.min_total_width_mm} mm); raise max_rings or max_ring_width_mm, or lower min_total_width_mm",
        )
    if not spec.feasible_ring_counts():
        return Problem(
            "min_total_width_mm",
            "admits_design",
            f"no design fits: no ring count from {spec.min_rings} to {spec.max_rings} with rings of "
            f"{spec.min_ring_width_mm}-{spec.max_ring_width_mm} mm adds up to a total between "
            f"{spec.min_total_width_mm} and {spec.max_total_width_mm} mm; widen one of these ranges",
        )
    return None


def _mm(units: int) -> str:
    return f"{Decimal(units) / UNITS_PER_MM:.2f}"


def spec_from_values(name: str, values: Mapping[str, Any]) -> ProfileSpec:
    """Build a spec from values already known to be valid (e.g. read back from the database)."""
    spec, problems = parse_profile(name, {f: values[f] for f in CONSTRAINT_FIELDS})
    if spec is None:
        raise ValueError(f"profile {name!r} is invalid: " + "; ".join(f"{p.field}: {p.message}" for p in problems))
    return spec


__all__ = [
    "CONSTRAINT_FIELDS",
    "DEFAULTS",
    "Problem",
    "ProfileSpec",
    "UNITS_PER_MM",
    "admits_design_problem",
    "feasible_ring_counts",
    "parse_profile",
    "spec_from_values",
    "validate_name",
]
