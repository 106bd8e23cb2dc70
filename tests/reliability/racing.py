"""Racing identical retries (issue 15, item 1), for the reliability stage: each round, several
clients post the identical batch at the same moment - a run's attempt events after its summary
(``/events``), and runs with their attempts after their summaries (``/runs``). One stores, the
others find its rows: no 5xx, and the stage's verification counts each attempt once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

CONTEXT_KEYS = ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")


def summary_of(run: dict) -> dict:
    return {**{k: v for k, v in run.items() if k != "attempt_records"}, "event_type": "ai_constraint_run_summary"}


def attempt_events_of(run: dict) -> list[dict]:
    context = {key: run[key] for key in CONTEXT_KEYS}
    return [
        {"event_type": "ai_constraint_attempt", "run_id": run["run_id"], **context, **attempt}
        for attempt in run["attempt_records"]
    ]


def racing_identical_retries(
    post: Callable[[str, object], int],
    make_batch: Callable[..., list[dict]],
    *,
    rounds: int,
    clients: int,
    rng,
) -> tuple[dict, dict[str, int]]:
    """``post(path, body)`` answers the status. Returns the figures and the runs stored
    (run_id: attempts) for the stage's verification."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    expected: dict[str, int] = {}
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for path in ("/api/rmos/logs/ai/events", "/api/rmos/logs/ai/runs"):
        batches = [
            make_batch(rng, runs=5, attempts_per_run=10, start=start + timedelta(hours=r)) for r in range(rounds)
        ]
        start += timedelta(days=1)
        summaries = [summary_of(run) for batch in batches for run in batch]
        status = post("/api/rmos/logs/ai/events", {"events": summaries})
        if status != 201:
            raise RuntimeError(f"racing: the summaries were answered {status}")
        for batch in batches:
            expected.update({run["run_id"]: len(run["attempt_records"]) for run in batch})
            if path.endswith("/events"):
                body: object = {"events": [event for run in batch for event in attempt_events_of(run)]}
            else:
                body = {"runs": batch}
            barrier = threading.Barrier(clients)

            def one(path: str = path, body: object = body, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                try:
                    code = str(post(path, body))
                except OSError as exc:
                    code = type(exc).__name__
                with lock:
                    statuses[f"{path.rsplit('/', 1)[-1]} {code}"] += 1

            threads = [threading.Thread(target=one) for _ in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    fivexx = sum(n for key, n in statuses.items() if key.split()[-1].startswith("5"))
    others = sum(n for key, n in statuses.items() if key.split()[-1] not in ("200", "201"))
    return {
        "rounds": rounds,
        "paths": 2,
        "clients": clients,
        "statuses": dict(statuses),
        "fivexx": fivexx,
        "not_2xx": others,
        "figure": f"racing identical retries: {fivexx} 5xx over {rounds} rounds on each of /events and /runs",
    }, expected
