"""Small builders for AI-log items, in the shapes the API takes (plain JSON-ready dicts)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

UTC = UTC
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CONTEXT = {
    "tool_id": "saw:jeweler-0.25",
    "material_id": "wood:ebony",
    "machine_id": "prod:vmc-3axis",
    "workflow_mode": "constraint_first",
    "geometry_engine": "shapely",
}
_counter = itertools.count(1)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def new_run_id() -> str:
    return str(uuid.uuid4())


def candidate(rings: int = 2, width: float = 1.5) -> dict[str, Any]:
    return {
        "rings": [{"width_mm": width, "pattern": "solid", "material_key": "wood:ebony"} for _ in range(rings)],
        "ring_count": rings,
        "total_width_mm": round(rings * width, 2),
    }


def attempt_item(
    index: int = 1,
    *,
    at: datetime = T0,
    score: float = 85.0,
    bucket: str = "GREEN",
    acceptable: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    item = {
        "attempt_index": index,
        "timestamp": iso(at),
        "score": score,
        "risk_bucket": bucket,
        "is_acceptable": acceptable,
        "candidate": candidate(),
    }
    item.update(extra)
    return item


def run_item(
    *,
    run_id: str | None = None,
    at: datetime = T0,
    attempts: int = 2,
    success: bool = True,
    reason: str | None = None,
    scores: list[tuple[float, str]] | None = None,
    with_attempts: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A run with ``attempts`` attempt records; by default the last one is GREEN and selected."""
    reason = reason or ("green_found" if success else "budget_exhausted")
    if scores is None:
        scores = [(40.0, "RED")] * (attempts - 1) + [(90.0, "GREEN") if success else (45.0, "RED")]
    start = at - timedelta(seconds=len(scores))
    item: dict[str, Any] = {
        "run_id": run_id or new_run_id(),
        "timestamp": iso(at),
        **CONTEXT,
        "profile": "default",
        "max_attempts": 50,
        "time_limit_seconds": 30.0,
        "attempts": len(scores),
        "success": success,
        "reason": reason,
        "selected_score": scores[-1][0] if scores else None,
        "selected_risk_bucket": scores[-1][1] if scores else None,
    }
    if with_attempts:
        item["attempt_records"] = [
            attempt_item(
                i,
                at=start + timedelta(seconds=i - 1),
                score=score,
                bucket=bucket,
                acceptable=score >= 80 and bucket != "RED",
            )
            for i, (score, bucket) in enumerate(scores, start=1)
        ]
    item.update(extra)
    return item


def attempt_event(run_id: str, index: int = 1, *, at: datetime = T0, **extra: Any) -> dict[str, Any]:
    item = {"event_type": "ai_constraint_attempt", "run_id": run_id, **CONTEXT, **attempt_item(index, at=at)}
    item.pop("candidate")
    item["ring_count"] = 2
    item.update(extra)
    return item


def run_event(run_id: str, *, at: datetime = T0, attempts: int = 1, **extra: Any) -> dict[str, Any]:
    item = run_item(
        run_id=run_id, at=at, with_attempts=False, scores=[(40.0, "RED")] * (attempts - 1) + [(90.0, "GREEN")]
    )
    item["event_type"] = "ai_constraint_run_summary"
    item.update(extra)
    return item
