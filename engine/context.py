"""The context that steers generation and scoring (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from engine.profile import Problem

WORKFLOW_MODES: tuple[str, ...] = ("constraint_first", "ai_assisted", "design_first")
CONTEXT_FIELDS: tuple[str, ...] = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")
REQUIRED_CONTEXT_FIELDS: tuple[str, ...] = ("tool_id", "material_id", "machine_id")
ID_MAX_LENGTH = 128
#: The geometry engine is free text (e.g. ``shapely``, ``ml``), up to this many characters.
GEOMETRY_ENGINE_MAX = 64
#: Stands for "no geometry engine" in the log's filters (an empty filter means "any"), so no
#: context may name an engine this.
NO_GEOMETRY_ENGINE = "-"


@dataclass(frozen=True)
class Context:
    tool_id: str
    material_id: str
    machine_id: str
    workflow_mode: str = "constraint_first"
    geometry_engine: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def parse_context(values: Mapping[str, Any]) -> tuple[Context | None, list[Problem]]:
    """Check a context given as plain values (query parameters, JSON, command options).

    ``tool_id``, ``material_id`` and ``machine_id`` are required ids (unknown ids are fine: the
    catalog falls back to defaults and warns); ``workflow_mode`` defaults to
    ``constraint_first``; ``geometry_engine`` is optional free text.
    """
    problems: list[Problem] = []
    clean: dict[str, str] = {}
    for field in CONTEXT_FIELDS:
        raw = values.get(field)
        if raw is None or raw == "":
            if field in REQUIRED_CONTEXT_FIELDS:
                problems.append(Problem(field, "required", "is required (a catalog id such as 'saw:slitting-0.5')"))
            continue
        if not isinstance(raw, str):
            problems.append(Problem(field, "type", "must be text"))
            continue
        value = raw.strip()
        if len(value) > ID_MAX_LENGTH:
            problems.append(Problem(field, "max_length", f"must be at most {ID_MAX_LENGTH} characters"))
        elif any(ch.isspace() or not ch.isprintable() for ch in value):
            problems.append(Problem(field, "characters", "cannot contain spaces or control characters"))
        elif field == "geometry_engine" and value == NO_GEOMETRY_ENGINE:
            problems.append(
                Problem(
                    field,
                    "reserved",
                    f"{NO_GEOMETRY_ENGINE!r} means 'no engine' in the log's filters; leave the field out or empty instead",
                )
            )
        elif field == "workflow_mode" and value not in WORKFLOW_MODES:
            problems.append(Problem(field, "choice", f"must be one of {', '.join(WORKFLOW_MODES)}, got {value!r}"))
        else:
            clean[field] = value
    if problems:
        return None, problems
    return Context(**clean), []
