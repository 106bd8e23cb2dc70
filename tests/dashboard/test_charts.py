"""Chart geometry (dashboard.charts) and the component templates that draw it."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.template.loader import render_to_string

from dashboard import charts
from dashboard.charts import ChangeMarker, RatePoint
from dashboard.charts.rosette import _luminance

# -- percentages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([1, 1, 1], [34, 33, 33]),
        ([2, 1, 0], [67, 33, 0]),
        ([0, 0, 0], [0, 0, 0]),
        ([1, 0, 199], [1, 0, 99]),
        ([5], [100]),
    ],
)
def test_percentages_add_up_to_100(counts, expected):
    assert charts.percentages(counts) == expected


# -- risk mix ----------------------------------------------------------------------------------


def test_risk_mix_segments_tile_the_bar_in_bucket_order():
    bar = charts.risk_mix_bar({"red": 5, "GREEN": 12, "yellow": 3}, width=400, noun="attempts")
    assert [s.bucket for s in bar.segments] == ["GREEN", "YELLOW", "RED"]
    assert [s.count for s in bar.segments] == [12, 3, 5]
    assert [s.percent for s in bar.segments] == [60, 15, 25]
    assert bar.segments[0].x == 0
    for left, right in zip(bar.segments, bar.segments[1:]):
        assert math.isclose(left.x + left.width, right.x, abs_tol=0.02)
    assert math.isclose(sum(s.width for s in bar.segments), 400, abs_tol=0.05)
    assert bar.segments[0].title == "GREEN: 12 of 20 attempts (60%)"
    assert bar.summary == "20 attempts: 12 green (60%), 3 yellow (15%), 5 red (25%)"


def test_risk_mix_segments_fill_the_whole_bar_in_percent():
    """Seen in review: a bar labelled 100% stopped at 80% of its column (its 480 px did not grow),
    and on a phone it shrank with its labels. The page now draws it across its box in percent."""
    bar = charts.risk_mix_bar({"GREEN": 1, "YELLOW": 1, "RED": 1})
    assert [(s.left_percent, s.width_percent) for s in bar.segments] == [(0, 33.33), (33.33, 33.34), (66.67, 33.33)]
    assert charts.risk_mix_bar({"RED": 7}).segments[0].width_percent == 100
    html = render_to_string("components/chart_risk_mix.html", {"chart": bar, "chart_id": "mix"})
    assert 'width="100%"' in html and "viewBox" not in html  # nothing scales the 12px labels down
    assert '<svg role="presentation" x="33.33%" y="0" width="33.34%" height="100%">' in html


def test_risk_mix_labels_only_where_they_fit():
    bar = charts.risk_mix_bar({"GREEN": 96, "YELLOW": 3, "RED": 1}, width=320)
    green, yellow, red = bar.segments
    assert green.label == "96 · 96%"
    assert (yellow.label, red.label) == ("", "")  # 9.6 px and 3.2 px: no room; the tooltip says it
    narrow = charts.risk_mix_bar({"GREEN": 10, "RED": 10}, width=80)
    assert [s.label for s in narrow.segments] == ["50%", "50%"]
    compact = charts.risk_mix_bar({"GREEN": 1}, labels=False)
    assert compact.segments[0].label == ""


def test_risk_mix_keeps_empty_buckets_in_the_legend_only():
    bar = charts.risk_mix_bar({"GREEN": 4}, noun="runs")
    assert [s.bucket for s in bar.segments] == ["GREEN"]
    assert [(s.bucket, s.count, s.percent) for s in bar.legend] == [("GREEN", 4, 100), ("YELLOW", 0, 0), ("RED", 0, 0)]
    assert charts.risk_mix_bar({"GREEN": 1}, noun="runs").title == "Risk mix of 1 run"


def test_risk_mix_never_shows_a_few_as_zero_percent_nor_most_as_all():
    """Seen: a 10,000-sample snapshot's legend said "Green 37 (0%)"."""
    bar = charts.risk_mix_bar({"GREEN": 37, "YELLOW": 9960, "RED": 3})
    shown = {s.bucket: s.shown_percent for s in bar.legend}
    assert shown == {"GREEN": "<1%", "YELLOW": ">99%", "RED": "<1%"}
    assert [s.percent for s in bar.legend] == [0, 100, 0]  # the numbers still add up to 100
    assert "37 green (<1%)" in bar.summary and "GREEN: 37 of 10000 attempts (<1%)" in bar.legend[0].title
    assert {s.bucket: s.shown_percent for s in charts.risk_mix_bar({"GREEN": 5, "RED": 0}).legend} == {
        "GREEN": "100%",
        "YELLOW": "0%",
        "RED": "0%",
    }


def test_risk_mix_empty_and_bad_input():
    empty = charts.risk_mix_bar({})
    assert empty.empty and empty.segments == () and empty.summary == "No runs in this range yet"
    with pytest.raises(ValueError, match="unknown risk bucket 'blue'"):
        charts.risk_mix_bar({"blue": 1})
    with pytest.raises(ValueError, match="whole number"):
        charts.risk_mix_bar({"RED": -1})


# -- histograms --------------------------------------------------------------------------------


def test_integer_histogram_fills_gaps_and_scales_bars_to_the_axis():
    h = charts.integer_histogram({2: 4, 5: 10, 3: 1}, width=320, height=180)
    assert [b.label for b in h.bars] == ["2", "3", "4", "5"]
    assert [b.count for b in h.bars] == [4, 1, 0, 10]
    assert h.total == 15 and not h.empty
    top = int(h.y_ticks[-1].label)
    assert top == 10
    tallest = h.bars[3]
    assert math.isclose(tallest.y, h.plot.top, abs_tol=0.01)
    assert math.isclose(tallest.y + tallest.height, h.plot.bottom, abs_tol=0.01)
    assert math.isclose(h.bars[0].height, h.plot.height * 4 / top, abs_tol=0.01)
    assert h.bars[2].height == 0
    # Bars sit side by side inside the plot, left to right.
    assert h.bars[0].x >= h.plot.left and h.bars[-1].x + h.bars[-1].width <= h.plot.right + 0.01
    assert all(a.x < b.x for a, b in zip(h.bars, h.bars[1:]))
    assert h.bars[3].title == "Rings 5: 10 samples (67%)"
    assert h.summary == "15 samples; most common rings 5 (10, 67%)."
    assert h.rows[0] == ("2", 4, 27)


def test_count_axis_ticks_are_whole_numbers_up_to_a_round_top():
    h = charts.integer_histogram({1: 37})
    labels = [int(t.label) for t in h.y_ticks]
    assert labels[0] == 0 and labels[-1] >= 37 and len(labels) <= 6
    assert all(b > a for a, b in zip(labels, labels[1:]))
    positions = [t.position for t in h.y_ticks]
    assert positions[0] == h.plot.bottom and all(b < a for a, b in zip(positions, positions[1:]))


def test_categories_are_labelled_under_their_bars_and_thinned_when_crowded():
    few = charts.integer_histogram({1: 1, 2: 1, 3: 1})
    assert [(t.position, t.label) for t in few.x_ticks] == [(b.center_x, b.label) for b in few.bars]
    crowded = charts.integer_histogram({n: 1 for n in range(100, 160)}, width=320)
    assert 1 < len(crowded.x_ticks) < 60 and crowded.x_ticks[0].label == "100"
    widest = max(len(t.label) for t in crowded.x_ticks) * charts.CHAR_PX
    assert all(b.position - a.position >= widest for a, b in zip(crowded.x_ticks, crowded.x_ticks[1:]))


def test_bins_are_labelled_at_their_edges():
    h = charts.binned_histogram([2.0, 4.0, 6.0], [3, 1], decimals=1)
    assert [b.label for b in h.bars] == ["2.0–4.0", "4.0–6.0"]
    assert [t.label for t in h.x_ticks] == ["2.0", "4.0", "6.0"]
    assert h.x_ticks[0].position == h.plot.left and math.isclose(h.x_ticks[-1].position, h.plot.right, abs_tol=0.01)
    with pytest.raises(ValueError, match="len\\(edges\\)"):
        charts.binned_histogram([1.0, 2.0], [1, 2])
    with pytest.raises(ValueError, match="increase"):
        charts.binned_histogram([2.0, 1.0], [1])


@pytest.mark.parametrize("largest", [1, 7, 10, 99, 100, 250, 1_000, 12_345, 1_000_000])
def test_histogram_labels_never_meet_the_axis_title_nor_leave_the_chart(largest):
    """Seen in review: the "Candidates" title printed over the "100" tick label, and the last
    width label "10.0" was cut off at the chart's right edge."""
    for h in (
        charts.integer_histogram({2: largest, 8: 1}),
        charts.integer_histogram({n: largest for n in range(100, 160)}),
        charts.binned_histogram([3.0 + 0.7 * i for i in range(11)], [largest] * 10, decimals=1),  # 3.0 to 10.0
        charts.binned_histogram([0.25 * i for i in range(9)], [largest] * 8, decimals=2, width=240),
    ):
        title_right = h.y_label_x + 3  # the rotated title's glyphs end about 3 px past its baseline
        for tick in h.y_ticks:
            assert h.plot.left - charts.TICK_GAP - charts.tick_label_px(tick.label) >= title_right + 3, tick
        for tick in h.x_ticks:
            half = charts.tick_label_px(tick.label) / 2
            assert tick.position - half >= 0 and tick.position + half <= h.width, (tick, h.width)
        shown = [
            (t.position - charts.tick_label_px(t.label) / 2, t.position + charts.tick_label_px(t.label) / 2)
            for t in h.x_ticks
        ]
        assert all(right < next_left for (_, right), (next_left, _) in zip(shown, shown[1:]))


def test_empty_histograms():
    assert charts.integer_histogram({}).empty
    assert charts.integer_histogram({3: 0}).empty
    empty = charts.binned_histogram([0.0, 1.0], [0], empty_message="No snapshot loaded")
    assert empty.empty and empty.summary == "No snapshot loaded" and empty.bars == ()


# -- rate over time ----------------------------------------------------------------------------

D0 = date(2025, 12, 1)


def days(*rates, start=D0):
    return [RatePoint(start + timedelta(days=i), r, runs=10 if r is not None else 0) for i, r in enumerate(rates)]


def test_line_spans_the_plot_and_maps_rates_to_height():
    chart = charts.rate_line_chart(days(0.0, 0.5, 1.0), width=640, height=220)
    plot = chart.plot
    assert [d.x for d in chart.dots] == [plot.left, plot.center_x, plot.right]
    assert [d.y for d in chart.dots] == [plot.bottom, plot.center_y, plot.top]
    assert len(chart.lines) == 1 and len(chart.lines[0].split()) == 3
    assert [t.label for t in chart.y_ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert chart.x_ticks[0].label == "01 Dec" and chart.x_ticks[-1].label == "03 Dec"
    assert chart.dots[1].title == "2025-12-02: 50% (10 runs)"
    assert chart.summary.startswith("3 days with data from 2025-12-01 to 2025-12-03, 30 runs, 50% overall; latest 100%")


def test_days_without_runs_break_the_line():
    chart = charts.rate_line_chart(days(0.2, 0.4, None, 0.6, 0.8))
    assert len(chart.lines) == 2
    assert len(chart.dots) == 4
    missing_day = charts.rate_line_chart(
        [RatePoint(D0, 0.5), RatePoint(D0 + timedelta(days=1), 0.5), RatePoint(D0 + timedelta(days=3), 0.5)]
    )
    assert len(missing_day.lines) == 1  # the lone last point is a dot, not a line
    assert len(missing_day.dots) == 3


def test_the_interval_band_surrounds_the_line():
    points = [RatePoint(D0 + timedelta(days=i), 0.5, 0.3, 0.7, runs=5) for i in range(3)]
    chart = charts.rate_line_chart(points)
    assert len(chart.band) == 1
    ys = [float(v) for v in re.findall(r"[\d.]+,([\d.]+)", chart.band[0])]
    line_y = chart.dots[0].y
    assert min(ys) < line_y < max(ys)
    assert chart.band[0].startswith("M") and chart.band[0].endswith("Z")
    assert chart.rows[0] == ("2025-12-01", "50%", "30%–70%", 5)


def test_change_markers_sit_on_their_day_and_their_labels_avoid_each_other():
    markers = [
        ChangeMarker(D0 + timedelta(days=2), "v2: max rings 6 → 8", href="/rmos/profiles/default/#v2"),
        ChangeMarker(datetime(2025, 12, 3, 12, tzinfo=UTC), "v3: allow mosaic"),
        ChangeMarker(D0 - timedelta(days=5), "before the range"),
    ]
    chart = charts.rate_line_chart(days(*[0.5] * 11), markers=markers)
    assert [m.title for m in chart.markers] == [
        "v2: max rings 6 → 8 (2025-12-03)",
        "v3: allow mosaic (2025-12-03 12:00)",
    ]
    per_day = chart.plot.width / 10
    assert math.isclose(chart.markers[0].x, chart.plot.left + 2 * per_day, abs_tol=0.01)
    assert math.isclose(chart.markers[1].x, chart.plot.left + 2.5 * per_day, abs_tol=0.01)
    assert chart.markers[0].label_y != chart.markers[1].label_y  # too close for one row
    assert chart.markers[0].href == "/rmos/profiles/default/#v2"
    assert chart.summary.endswith("2 profile changes marked.")


def test_markers_too_crowded_to_label_are_counted_on_the_last_label():
    markers = [
        ChangeMarker(datetime(2025, 12, 3, 9, minute), f"v{n} changed")
        for n, minute in ((2, 0), (3, 5), (4, 10), (5, 15))
    ]
    chart = charts.rate_line_chart(days(*[0.5] * 90), markers=markers)
    labels = [m.label for m in chart.markers]
    assert labels == ["v2 changed", "v3 changed +2", "", ""]
    assert [m.title for m in chart.markers][2:] == ["v4 changed (2025-12-03 09:10)", "v5 changed (2025-12-03 09:15)"]


def test_day_labels_are_evenly_spaced_and_end_on_the_last_day():
    chart = charts.rate_line_chart(days(*[0.5] * 14), width=1200)
    offsets = [(date(2025, 12, int(t.label[:2])) - D0).days for t in chart.x_ticks]
    gaps = {b - a for a, b in zip(offsets, offsets[1:-1])}
    assert offsets[0] == 0 and offsets[-1] == 13 and len(gaps) == 1
    long = charts.rate_line_chart(days(*[0.5] * 90))
    assert long.x_ticks[-1].label == (D0 + timedelta(days=89)).strftime("%d %b")


def test_long_marker_labels_are_shortened_and_kept_inside_on_the_right():
    chart = charts.rate_line_chart(
        days(0.5, 0.5), markers=[ChangeMarker(D0 + timedelta(days=1), "a very long note about what changed")]
    )
    marker = chart.markers[0]
    assert marker.label.endswith("…") and len(marker.label) <= 22
    assert marker.anchor == "end" and marker.label_x < marker.x


def test_a_single_day_is_centred():
    chart = charts.rate_line_chart([RatePoint(D0, 0.25, runs=4)])
    assert chart.dots[0].x == chart.plot.center_x and chart.lines == ()


def test_empty_and_invalid_rate_charts():
    empty = charts.rate_line_chart([])
    assert empty.empty and empty.summary == "No runs in this range yet"
    assert charts.rate_line_chart(days(None, None)).empty
    with pytest.raises(ValueError, match="between 0 and 1"):
        charts.rate_line_chart([RatePoint(D0, 1.5)])


# -- rosette -----------------------------------------------------------------------------------

CANDIDATE = {
    "rings": [
        {"width_mm": 1.0, "pattern": "solid", "material_key": "wood:ebony"},
        {"width_mm": 2.0, "pattern": "segmented", "material_key": "wood:maple-hard"},
        {"width_mm": 1.0, "pattern": "mosaic", "material_key": "shell:abalone-paua"},
        {"width_mm": 0.5, "pattern": "solid", "material_key": "wood:ebony"},
    ],
    "ring_count": 4,
    "total_width_mm": 4.5,
}


def test_rings_are_concentric_inner_first_with_widths_to_scale():
    r = charts.rosette(CANDIDATE, size=180, band_fraction=0.4)
    outer = 90 * 0.94  # a margin of the guitar's top shows around the rosette
    assert r.center == 90 and math.isclose(r.hole_r, outer * 0.6, abs_tol=0.01)
    assert math.isclose(r.rings[0].inner_r, r.hole_r, abs_tol=0.01)
    assert math.isclose(r.rings[-1].outer_r, outer, abs_tol=0.01)
    for inner, outer_ring in zip(r.rings, r.rings[1:]):
        assert inner.outer_r == outer_ring.inner_r
    widths = [ring.outer_r - ring.inner_r for ring in r.rings]
    assert math.isclose(widths[1] / widths[0], 2.0, rel_tol=0.01)
    assert math.isclose(widths[3] / widths[0], 0.5, rel_tol=0.02)
    assert r.boundaries == tuple(ring.outer_r for ring in r.rings)
    assert (r.ring_count, r.total_width_mm) == (4, 4.5)


def test_patterns_solid_plain_segmented_wedges_mosaic_tiles():
    solid, segmented, mosaic, _ = charts.rosette(CANDIDATE).rings
    assert solid.detail_d == "" and solid.pieces == 0
    assert solid.base_d.count("M") == 2  # an annulus: outer and inner circle
    assert segmented.pieces % 2 == 0 and 8 <= segmented.pieces <= 48
    assert segmented.detail_d.count("M") == segmented.pieces // 2  # every other wedge in the second tone
    assert mosaic.pieces >= 12
    assert mosaic.detail_d.count("M") == mosaic.pieces // 2
    assert segmented.detail_fill != segmented.fill and mosaic.detail_fill != mosaic.fill


def test_material_colours_are_natural_for_known_woods_and_stable_otherwise():
    assert charts.material_colour("wood:ebony") == "#2b2523"
    assert charts.material_colour("shell:mother-of-pearl") == "#e6e1ee"
    unknown = charts.material_colour("wood:zebrawood")
    assert unknown in charts.FALLBACK_COLOURS
    assert charts.material_colour("wood:zebrawood") == unknown
    dark, light = charts.material_colour("wood:ebony"), charts.material_colour("wood:holly")
    assert _luminance(charts.contrast_colour(dark)) > _luminance(dark)
    assert _luminance(charts.contrast_colour(light)) < _luminance(light)


def test_rosette_legend_and_text_alternative():
    r = charts.rosette(CANDIDATE)
    assert [key for key, _ in r.legend] == ["wood:ebony", "wood:maple-hard", "shell:abalone-paua"]
    assert r.title == "Rosette: 4 rings, 4.50 mm"
    assert r.summary == (
        "4 rings, 4.50 mm in total, inner to outer: 1.00 mm solid wood:ebony; 2.00 mm segmented wood:maple-hard; "
        "1.00 mm mosaic shell:abalone-paua; 0.50 mm solid wood:ebony."
    )
    assert r.rings[1].title == "Ring 2: 2.00 mm segmented, wood:maple-hard"


def test_rosette_empty_and_invalid():
    assert charts.rosette({"rings": []}).empty
    assert charts.rosette({}).summary == "No candidate to draw"
    with pytest.raises(ValueError, match="ring 1 width_mm must be > 0"):
        charts.rosette({"rings": [{"width_mm": 0, "pattern": "solid", "material_key": "x"}]})
    with pytest.raises(ValueError, match="ring 2 has no numeric width_mm"):
        charts.rosette({"rings": [{"width_mm": 1}, {"pattern": "solid"}]})


# -- the component templates -------------------------------------------------------------------


def test_components_draw_accessible_svg():
    html = render_to_string(
        "components/chart_risk_mix.html",
        {"chart": charts.risk_mix_bar({"GREEN": 3, "RED": 1}), "chart_id": "mix"},
    )
    assert 'role="img" aria-labelledby="mix-title mix-desc"' in html
    assert '<title id="mix-title">Risk mix of 4 attempts</title>' in html
    assert "<title>GREEN: 3 of 4 attempts (75%)</title>" in html
    assert "Green <strong>3</strong>" in html

    histogram = render_to_string(
        "components/chart_histogram.html", {"chart": charts.integer_histogram({3: 2, 4: 1}), "chart_id": "rings"}
    )
    assert 'aria-labelledby="rings-title rings-desc"' in histogram
    assert '<th scope="col">Rings</th>' in histogram and '<th scope="row">3</th><td class="num">2</td>' in histogram

    line = render_to_string(
        "components/chart_line.html",
        {
            "chart": charts.rate_line_chart(days(0.5, 0.6), markers=[ChangeMarker(D0, "v2", href="/x")]),
            "chart_id": "rate",
        },
    )
    assert '<polyline class="line"' in line and '<a href="/x">' in line and "v2 (2025-12-01)" in line


def test_components_show_the_empty_state_instead_of_a_chart():
    for template, chart in (
        ("components/chart_risk_mix.html", charts.risk_mix_bar({})),
        ("components/chart_histogram.html", charts.integer_histogram({}, empty_message="No runs in this range yet")),
        ("components/chart_line.html", charts.rate_line_chart([])),
    ):
        html = render_to_string(template, {"chart": chart, "chart_id": "c"})
        assert "No runs in this range yet" in html and "<svg" not in html


def test_rosette_component_escapes_material_keys():
    candidate = {"rings": [{"width_mm": 1, "pattern": "mosaic", "material_key": "<script>x</script>"}]}
    html = render_to_string("components/rosette.html", {"chart": charts.rosette(candidate), "chart_id": "r"})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'fill-rule="evenodd"' in html and "not to scale" in html


def test_histograms_can_share_their_axes_for_a_side_by_side_comparison():
    narrow = charts.integer_histogram({3: 10, 4: 30}, low=3, high=6, y_max=120)
    assert [bar.label for bar in narrow.bars] == ["3", "4", "5", "6"]
    assert [bar.count for bar in narrow.bars] == [10, 30, 0, 0]
    assert narrow.y_ticks[-1].label == "150"  # the axis reaches the other chart's tallest bar
    # The range only ever widens: data outside low/high is still drawn.
    assert [bar.label for bar in charts.integer_histogram({2: 1, 9: 1}, low=3, high=6).bars][0::7] == ["2", "9"]
    binned = charts.binned_histogram([0.0, 1.0, 2.0], [5, 5], y_max=40)
    assert binned.y_ticks[-1].label == "40"


def test_change_markers_on_one_day_do_not_draw_over_each_other():
    from dashboard.charts.line import MARKER_GAP

    points = [RatePoint(date(2025, 12, d), 0.5, runs=10) for d in range(1, 15)]
    same_day = [ChangeMarker(datetime(2025, 12, 5, h, tzinfo=UTC), f"v{h}", f"#version-{h}") for h in (9, 10, 11)]
    chart = charts.rate_line_chart(points, markers=same_day, title="t")
    xs = [m.x for m in chart.markers]
    assert len(xs) == 3 and all(b - a >= MARKER_GAP - 0.01 for a, b in zip(xs, xs[1:]))
    assert [m.href for m in chart.markers] == ["#version-9", "#version-10", "#version-11"]
    # At the right edge the group moves left as a whole, inside the plot.
    late = [ChangeMarker(datetime(2025, 12, 14, h, tzinfo=UTC), f"v{h}") for h in (20, 21, 22, 23)]
    edge = [m.x for m in charts.rate_line_chart(points, markers=late, title="t").markers]
    assert max(edge) <= chart.plot.right and all(b - a >= MARKER_GAP - 0.01 for a, b in zip(edge, edge[1:]))
