"""The compiled fast layer (ailog.records.fast) against the full Checker, over generated items:
it never accepts what the Checker refuses, and what it accepts it turns into the very values the
Checker would (so the stored rows are byte-identical either way)."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ailog.records import Checker, Problems, Run
from ailog.records.fast import fast_events, fast_runs
from ailog.services.ingest import _check_events
from ailog.services.rows import AttemptRows, run_row
from tests.factories import attempt_event, new_run_id, run_event, run_item

NOW = datetime(2025, 6, 1, 12, 3, tzinfo=UTC)

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=260),
    st.sampled_from([0, 1, 2, 24, 25, 50, 100, 101, 200, 201, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.1, 1.5, 3.0, 59.99, 60.0, 60.01, 79.95, 100.0, 100.000001, 1e-9, 2.0, 85.0]),
    st.text(max_size=6),
    st.sampled_from(
        [
            "",
            " x",
            "x ",
            "a\x00b",
            "a\tb",
            "\ud800",
            "-",
            "GREEN",
            "RED",
            "YELLOW",
            "green",
            "solid",
            "mosaic",
            "stripes",
            "constraint_first",
            "green_found",
            "acceptable_found",
            "budget_exhausted",
            "no_candidates",
            "default",
            "wood:ebony",
            "x" * 129,
            "2025-06-01T11:59:00Z",
            "2025-06-01T11:59:00z",
            "2025-06-01T11:59:00",
            "2025-06-01T11:59:00+01:00",
            "2025-06-01T12:07:59Z",
            "1999-12-31T23:59:59Z",
            "2025-06-01",
            "not a time",
            "6f1c2a0e-8f0b-4c8e-9a51-0d6f3c1e2b7a",
            "{6f1c2a0e-8f0b-4c8e-9a51-0d6f3c1e2b7a}",
            "6f1c2a0e",
        ]
    ),
    st.just([]),
    st.just(["a warning"]),
    st.just(["bad\x00"]),
    st.just({}),
    st.just({"rings": []}),
    st.just({"ring_count": 2}),
    st.just({"rings": [{"width_mm": 1, "pattern": "solid"}], "ring_count": 1, "total_width_mm": 1}),
    st.just({"rings": [{"width_mm": 30.0, "pattern": "solid", "material_key": "m"}] * 3}),
    st.just({"rings": [{"width_mm": 1.5, "pattern": "solid", "material_key": "x\n"}]}),
)

CANDIDATES = st.lists(
    st.fixed_dictionaries(
        {"width_mm": st.floats(min_value=0.01, max_value=12), "pattern": st.sampled_from(["solid", "mosaic"])},
        optional={"material_key": st.sampled_from(["wood:ebony", "", "a b"])},
    ),
    min_size=1,
    max_size=4,
).map(lambda rings: {"rings": rings, "ring_count": len(rings)})


PLAUSIBLE = st.one_of(
    st.floats(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=200),
    st.sampled_from([None, True, False, "", "GREEN", "YELLOW", "solid", "segmented", "wood:holly", "shapely", "rules"]),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2025, 6, 1, 12)).map(
        lambda moment: moment.isoformat() + st_choice(moment.microsecond, ("Z", "z", "+00:00", "-05:30"))
    ),
    st.lists(st.text(st.characters(codec="utf-8"), max_size=8), max_size=3),
    CANDIDATES,
)


STAMPS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2025, 6, 1, 12)).map(
    lambda moment: moment.isoformat() + st_choice(moment.microsecond, ("Z", "z", "+00:00", "-05:30", ""))
)
#: Values of the right kind for each field, mostly valid: they test that what both accept is equal.
FITTING = {
    "score": st.one_of(st.floats(0, 100), st.integers(0, 100)),
    "selected_score": st.one_of(st.none(), st.floats(0, 100), st.integers(0, 100)),
    "min_feasibility_score": st.one_of(st.none(), st.floats(0, 100)),
    "attempt_index": st.integers(1, 4),
    "selected_attempt_index": st.one_of(st.none(), st.integers(1, 4)),
    "attempts": st.integers(0, 4),
    "max_attempts": st.one_of(st.none(), st.integers(1, 5)),
    "risk_bucket": st.sampled_from(["GREEN", "YELLOW", "RED"]),
    "selected_risk_bucket": st.sampled_from([None, "GREEN", "YELLOW", "RED"]),
    "is_acceptable": st.booleans(),
    "success": st.booleans(),
    "fallback_used": st.one_of(st.none(), st.booleans()),
    "stop_on_first_green": st.one_of(st.none(), st.booleans()),
    "reason": st.sampled_from(["green_found", "acceptable_found", "budget_exhausted", "timeout", "no_candidates"]),
    "ring_count": st.one_of(st.none(), st.integers(1, 4)),
    "total_width_mm": st.one_of(st.none(), st.floats(0.01, 70)),
    "candidate": st.one_of(st.none(), CANDIDATES),
    "selected_candidate": st.one_of(st.none(), CANDIDATES),
    "warnings": st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=2)),
    "timestamp": STAMPS,
    "started_at": st.one_of(st.none(), STAMPS),
    "elapsed_seconds": st.one_of(st.none(), st.floats(0, 100), st.integers(0, 100)),
    "time_limit_seconds": st.one_of(st.none(), st.floats(0, 61)),
    "seed": st.one_of(st.none(), st.integers(-(2**64), 2**64)),
    "profile_version": st.one_of(st.none(), st.integers(0, 3)),
    "rule_id": st.one_of(st.none(), st.integers(0, 3)),
    "profile": st.sampled_from([None, "", "default", "x y", " x"]),
    "catalog_revision": st.sampled_from([None, "", "r1", "r\n"]),
    "geometry_engine": st.sampled_from([None, "", "shapely", "-", " s"]),
    "tool_id": st.sampled_from(["saw:jeweler-0.25", "saw:x", "", " t"]),
    "workflow_mode": st.sampled_from(["constraint_first", "geometry_first", "x"]),
}


def st_choice(number: int, options: tuple) -> str:
    return options[number % len(options)]


RUN_FIELDS = [
    "run_id", "timestamp", "started_at", "elapsed_seconds", "tool_id", "material_id", "machine_id",
    "workflow_mode", "geometry_engine", "profile", "profile_version", "rule_id", "fallback_used",
    "catalog_revision", "max_attempts", "time_limit_seconds", "min_feasibility_score",
    "stop_on_first_green", "seed", "attempts", "success", "reason", "selected_score",
    "selected_risk_bucket", "selected_attempt_index", "selected_candidate", "warnings", "surprise",
]  # fmt: skip
ATTEMPT_FIELDS = [
    "attempt_index", "timestamp", "score", "risk_bucket", "is_acceptable", "ring_count",
    "total_width_mm", "candidate", "warnings", "tool_id", "geometry_engine", "surprise",
]  # fmt: skip
CANDIDATE_PATHS = ["rings", "ring_count", "total_width_mm", "extra"]
RING_FIELDS = ["width_mm", "pattern", "material_key", "extra"]

MUTATION = st.tuples(
    st.sampled_from(["run", "attempt", "candidate", "ring"]),
    st.integers(min_value=0, max_value=40),  # which field
    st.integers(min_value=0, max_value=4),  # which attempt
    st.one_of(st.just("delete"), ODD_VALUES, PLAUSIBLE, PLAUSIBLE),
)


def mutate(item: dict, mutations) -> dict:
    item = copy.deepcopy(item)
    for where, field_no, attempt_no, value in mutations:
        target: dict | None = item
        fields = RUN_FIELDS
        records = item.get("attempt_records")
        if where != "run":
            if not isinstance(records, list) or not records:
                continue
            target = records[attempt_no % len(records)]
            fields = ATTEMPT_FIELDS
            if where in ("candidate", "ring"):
                target = target.get("candidate") if isinstance(target, dict) else None
                fields = CANDIDATE_PATHS
                if where == "ring" and isinstance(target, dict):
                    rings = target.get("rings")
                    target = rings[attempt_no % len(rings)] if isinstance(rings, list) and rings else None
                    fields = RING_FIELDS
        if not isinstance(target, dict):
            continue
        name = fields[field_no % len(fields)]
        if value == "delete":
            target.pop(name, None)
        else:
            target[name] = copy.deepcopy(value)
    return item


def rows_of(runs) -> str:
    """Every row the store would write for these runs, as text (1 and 1.0 differ in it)."""
    rows = AttemptRows()
    out = []
    for run in runs:
        if run is None:
            continue
        stored = Run({**run.values, "profile_history_id": None}, run.attempts, run.index, run.given)
        out.append(repr(run_row(stored, sqlite=True, recorded_at=NOW, source="api", key=1)))
        rows.add_nested({**run.values, "profile_version": None}, run.attempts)
    return "\n".join(out + [repr(row) for row in rows.rows])


def careful_runs(items):
    problems = Problems()
    checker = Checker(now=NOW, problems=problems)
    return [checker.run_item(item, i, nested=True) for i, item in enumerate(items)], problems


def base_runs(draw_seed: int) -> list[dict]:
    at = NOW - timedelta(minutes=3)
    success = draw_seed % 3 != 0
    return [run_item(at=at, attempts=3, success=success, selected_attempt_index=3, min_feasibility_score=50.0)]


def fitting(mutation):
    """A mutation whose value fits its field (see FITTING), drawn when the field is known."""
    where, field_no, attempt_no, _ = mutation
    fields = {"run": RUN_FIELDS, "attempt": ATTEMPT_FIELDS}.get(where, RING_FIELDS)
    name = fields[field_no % len(fields)]
    value = FITTING.get(name, st.just("delete"))
    return value.map(lambda v: (where, field_no, attempt_no, v))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 5),
    mutations=st.lists(st.one_of(MUTATION, MUTATION.flatmap(fitting), MUTATION.flatmap(fitting)), max_size=3),
)
def test_fast_runs_accept_only_what_the_checker_accepts_with_the_same_values(seed, mutations):
    items = [mutate(item, mutations) for item in base_runs(seed)]
    fast = fast_runs(copy.deepcopy(items), NOW)
    careful, problems = careful_runs(items)
    event("checker refuses" if problems else "checker accepts")
    event("fast layer accepts" if fast is not None else "fast layer doubts")
    if fast is None:
        return
    assert not problems, (items, problems.errors)
    assert fast == careful
    assert rows_of(fast) == rows_of(careful)


def test_the_happy_batch_takes_the_fast_layer():
    items = [run_item(at=NOW - timedelta(minutes=i), attempts=5) for i in range(20)]
    fast = fast_runs(items, NOW)
    assert fast is not None
    careful, problems = careful_runs(items)
    assert not problems
    assert fast == careful and rows_of(fast) == rows_of(careful)


def _events(seed: int) -> list[dict]:
    run_id = new_run_id()
    at = NOW - timedelta(minutes=2)
    return [
        run_event(run_id, at=at, attempts=2),
        attempt_event(run_id, 1, at=at - timedelta(seconds=1), score=40.0, risk_bucket="RED", is_acceptable=False),
        attempt_event(run_id, 2, at=at, ring_count=1, candidate={"rings": [{"width_mm": 1.5, "pattern": "solid"}]}),
    ][: 1 + seed % 3]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 5), which=st.integers(0, 2), field_no=st.integers(0, 40), data=st.data())
def test_fast_events_accept_only_what_the_checker_accepts_with_the_same_values(seed, which, field_no, data):
    events = _events(seed)
    chosen = events[which % len(events)]
    fields = RUN_FIELDS + ["event_type"] if chosen["event_type"] == "ai_constraint_run_summary" else ATTEMPT_FIELDS
    name = (fields + ["run_id", "event_type", "material_id", "machine_id", "workflow_mode"])[
        field_no % (len(fields) + 5)
    ]
    value = data.draw(
        st.one_of(st.just("delete"), ODD_VALUES, FITTING.get(name, PLAUSIBLE), FITTING.get(name, PLAUSIBLE))
    )
    if value == "delete":
        chosen.pop(name, None)
    else:
        chosen[name] = value
    fast = fast_events(copy.deepcopy(events), NOW)
    problems = Problems()
    runs, loose = _check_events(copy.deepcopy(events), Checker(now=NOW, problems=problems))
    event("checker refuses" if problems else "checker accepts")
    event("fast layer accepts" if fast is not None else "fast layer doubts")
    if fast is None:
        return
    assert not problems, (events, problems.errors)
    assert (fast[0], [(i, repr(a)) for i, a in fast[1]]) == (runs, [(i, repr(a)) for i, a in loose])
    assert rows_of(fast[0]) == rows_of(runs)


def test_json_floats_that_are_whole_stay_as_posted_in_the_candidate():
    item = run_item(at=NOW - timedelta(minutes=1), attempts=1, scores=[(90, "GREEN")])
    item["attempt_records"][0]["candidate"] = {"rings": [{"width_mm": 2, "pattern": "solid"}], "total_width_mm": 2}
    fast = fast_runs([item], NOW)
    assert fast is not None
    assert json.dumps(fast[0].attempts[0][7]) == '{"rings": [{"width_mm": 2, "pattern": "solid"}], "total_width_mm": 2}'
    assert fast[0].attempts[0][2] == 90.0 and not math.isnan(fast[0].attempts[0][2])
    assert rows_of(fast) == rows_of(careful_runs([item])[0])
