"""The tuning assistant's benchmarks (issue 20, DESIGN §11).

- ``tuning``: wall time of one 200-trial search, one worker, 300 samples per context, on the
  dataset's profile with the most traffic contexts (at most 20, the traffic's limit), and on a
  worst case of 20 contexts from the catalog. Target: 60 s on this 2-core machine.
- ``tuning-gain``: the worst hotspot's profile (the profile whose traffic holds the top hotspot),
  tuned for 200 trials on its whole traffic: how much the best proposal's predicted acceptable
  share beats the saved values' by, against the sampling noise, the spread of the saved values'
  share under 5 seeds (:func:`engine.tuning.sampling_noise`). Met when the gain is larger.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from ailog.filters import LogFilter
from analytics import selectors as analytics_selectors
from bench.core import Bench, Row, register
from engine.context import Context
from engine.tuning import plain_values, sampling_noise, tune
from profiles import selectors as profile_selectors
from tuning import selectors as tuning_selectors

TRIALS = 200
SAMPLES = 300
TARGET_SECONDS = 60.0


def _timed_tune(saved: dict[str, Any], traffic: list[tuple[Context, int]], *, trials: int, samples: int) -> float:
    start = time.perf_counter()
    tune(profile_selectors.catalog_get(), saved, traffic, trials=trials, samples_per_context=samples, seed=1)
    return time.perf_counter() - start


def _catalog_traffic(count: int) -> list[tuple[Context, int]]:
    """``count`` distinct catalog contexts (tools x materials x machines), weights falling."""
    catalog = profile_selectors.catalog_get()
    combos = itertools.product(sorted(catalog.tools), sorted(catalog.materials), sorted(catalog.machines))
    return [(Context(t, m, k), count - i) for i, (t, m, k) in zip(range(count), combos, strict=False)]


@register("tuning", order=47, help="one 200-trial tuning search, one worker, 300 samples per context")
def tuning_speed(bench: Bench) -> list[Row]:
    trials, samples = (20, 50) if bench.quick else (TRIALS, SAMPLES)
    names = [p.name for p in profile_selectors.profile_list()]
    traffics = {name: list(analytics_selectors.profile_traffic(name=name).contexts) for name in names}
    busiest = max(traffics, key=lambda n: len(traffics[n]))
    worst = _catalog_traffic(20)
    default = plain_values(profile_selectors.profile_values(profile_selectors.profile_get(name=busiest)))
    rows = []
    for label, traffic in (
        (f"{busiest}, {len(traffics[busiest])} contexts", traffics[busiest]),
        ("20 catalog contexts", worst),
    ):
        if not traffic:
            continue
        seconds = _timed_tune(default, traffic, trials=trials, samples=samples)
        rows.append(
            Row(
                f"tuning: {trials} trials, {label} x {samples} samples, 1 worker",
                seconds,
                "s",
                target=f"<= {TARGET_SECONDS:g} s at 20 contexts",
                met=seconds <= TARGET_SECONDS if len(traffic) == 20 and not bench.quick else None,
                higher_is_better=False,
                notes=f"{busiest}'s saved values; seeded TPE, common samples for every trial",
            )
        )
    return rows


def worst_hotspot_gain(*, trials: int = TRIALS, samples: int = SAMPLES, seed: int = 1) -> dict[str, Any]:
    """Tune the worst hotspot's profile on its whole traffic; the gain and the noise."""
    spots = analytics_selectors.hotspots(filters=LogFilter())["results"]
    for spot in spots:
        found = tuning_selectors.tuning_focus_find(
            profile=None,
            tool_id=spot["tool_id"],
            material_id=spot["material_id"],
            machine_id=spot["machine_id"],
            geometry_engine=spot["geometry_engine"],
        )
        if found is not None:
            break
    else:
        raise LookupError("no hotspot has a profile with it in its traffic")
    name, focus_values = found
    profile = profile_selectors.profile_get(name=name)
    saved = plain_values(profile_selectors.profile_values(profile))
    traffic = list(analytics_selectors.profile_traffic(name=name).contexts)
    catalog = profile_selectors.catalog_get()
    start = time.perf_counter()
    result = tune(catalog, saved, traffic, trials=trials, samples_per_context=samples, seed=seed)
    seconds = time.perf_counter() - start
    noise = sampling_noise(catalog, saved, traffic, samples_per_context=samples)
    best = result["proposals"][0] if result["proposals"] else None
    gain = (best["objective"] - result["saved"]["objective"]) if best else 0.0
    return {
        "profile": name,
        "hotspot": focus_values,
        "contexts": len(traffic),
        "seconds": seconds,
        "saved_objective": result["saved"]["objective"],
        "best_objective": best["objective"] if best else None,
        "best_overall": best["prediction"]["overall"] if best else None,
        "gain": gain,
        "noise_spread": noise["spread"],
        "noise_stdev": noise["stdev"],
        "noise_objectives": noise["objectives"],
        "changes": [item["words"] for item in best["diff"]] if best else [],
    }


@register("tuning-gain", order=48, help="the worst hotspot's profile tuned 200 trials: gain vs sampling noise")
def tuning_gain(bench: Bench) -> list[Row]:
    found = worst_hotspot_gain(trials=20 if bench.quick else TRIALS, samples=50 if bench.quick else SAMPLES)
    spot = found["hotspot"]
    return [
        Row(
            f"tuning: gain for the worst hotspot's profile ({found['profile']}, {found['contexts']} contexts)",
            found["gain"] * 100,
            "pp",
            target="> the sampling noise",
            met=found["gain"] > found["noise_spread"],
            baseline=found["noise_spread"] * 100,
            baseline_label="noise: spread of the saved values under 5 seeds",
            notes=f"hotspot {spot['tool_id']} · {spot['material_id']} · {spot['machine_id']}; saved "
            f"{found['saved_objective']:.1%} -> best proposal {found['best_objective'] or 0:.1%} in "
            f"{found['seconds']:.0f} s; changes: {'; '.join(found['changes'])}",
        )
    ]
