"""The context that steers generation and scoring (DESIGN.md §3)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

WORKFLOW_MODES: tuple[str, ...] = ("constraint_first", "ai_assisted", "design_first")
CONTEXT_FIELDS: tuple[str, ...] = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")
ID_MAX_LENGTH = 128


@dataclass(frozen=True)
class Context:
    tool_id: str
    material_id: str
    machine_id: str
    workflow_mode: str = "constraint_first"
    geometry_engine: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
