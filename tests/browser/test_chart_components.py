"""The chart components as a browser draws them: accessible names, tooltips, empty states.

The components are rendered with sample data into one page (no server needed); the screenshot
is the visual check of every chart kind.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from playwright.sync_api import expect

from dashboard import charts
from dashboard.charts import ChangeMarker, RatePoint

pytestmark = pytest.mark.browser

CANDIDATES = [
    {
        "rings": [
            {"width_mm": 0.8, "pattern": "solid", "material_key": "wood:ebony"},
            {"width_mm": 0.5, "pattern": "solid", "material_key": "wood:holly"},
            {"width_mm": 3.2, "pattern": "segmented", "material_key": "wood:rosewood"},
            {"width_mm": 0.5, "pattern": "solid", "material_key": "wood:holly"},
            {"width_mm": 0.8, "pattern": "solid", "material_key": "wood:ebony"},
        ]
    },
    {
        "rings": [
            {"width_mm": 1.0, "pattern": "solid", "material_key": "wood:maple-hard"},
            {"width_mm": 2.5, "pattern": "mosaic", "material_key": "shell:abalone-paua"},
            {"width_mm": 1.0, "pattern": "solid", "material_key": "wood:maple-hard"},
        ]
    },
    {"rings": [{"width_mm": 2.0, "pattern": "solid", "material_key": "wood:padauk"}]},
]


def _page_html() -> str:
    start = date(2025, 12, 1)
    rates = [0.42, 0.5, 0.47, None, 0.55, 0.61, 0.66, 0.7, 0.68, 0.74, 0.79, 0.77, 0.81, 0.8]
    points = [
        RatePoint(
            start + timedelta(days=i),
            r,
            None if r is None else max(0, r - 0.12),
            None if r is None else min(1, r + 0.1),
            0 if r is None else 20 + i,
        )
        for i, r in enumerate(rates)
    ]
    markers = [
        ChangeMarker(datetime(2025, 12, 4, 15, tzinfo=UTC), "v2: most rings 6 → 8", href="#v2"),
        ChangeMarker(date(2025, 12, 5), "v3: allow mosaic off"),
        ChangeMarker(date(2025, 12, 11), "v4: rollback to v2"),
    ]
    edges, counts = [3.0 + i / 2 for i in range(13)], [4, 9, 15, 22, 27, 30, 26, 21, 18, 12, 9, 7]
    parts = [
        render_to_string(
            "components/chart_risk_mix.html",
            {"chart": charts.risk_mix_bar({"GREEN": 131, "YELLOW": 42, "RED": 27}), "chart_id": "mix"},
        ),
        render_to_string(
            "components/chart_risk_mix.html",
            {
                "chart": charts.risk_mix_bar({"GREEN": 9, "YELLOW": 1, "RED": 2}, width=120, height=12, labels=False),
                "chart_id": "mini",
                "compact": True,
            },
        ),
        render_to_string("components/chart_risk_mix.html", {"chart": charts.risk_mix_bar({}), "chart_id": "none"}),
        render_to_string(
            "components/chart_histogram.html",
            {"chart": charts.integer_histogram({1: 3, 2: 9, 3: 14, 4: 11, 5: 6, 7: 2}), "chart_id": "rings"},
        ),
        render_to_string(
            "components/chart_histogram.html",
            {"chart": charts.binned_histogram(edges, counts, decimals=1), "chart_id": "widths"},
        ),
        render_to_string(
            "components/chart_line.html", {"chart": charts.rate_line_chart(points, markers=markers), "chart_id": "rate"}
        ),
    ]
    rosettes = [
        render_to_string(
            "components/rosette.html",
            {"chart": charts.rosette(c, size=170), "chart_id": f"r{i}", "caption": f"Sample {i + 1}"},
        )
        for i, c in enumerate(CANDIDATES)
    ]
    css = (settings.BASE_DIR / "static" / "rmos" / "rmos.css").read_text()
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><style>{css}</style></head><body>'
        '<main class="page"><div class="dashboard-row row-split">'
        f'<section class="panel"><h2>Risk and histograms</h2>{"".join(parts[:5])}</section>'
        f'<section class="panel"><h2>Over time and rosettes</h2>{parts[5]}<div class="rosettes">{"".join(rosettes)}</div></section>'
        "</div></main></body></html>"
    )


def test_charts_draw_with_names_tooltips_and_empty_states(blank_page, shot):
    page = blank_page
    page.set_content(_page_html())
    expect(page.get_by_role("img", name="Risk mix of 200 attempts")).to_be_visible()
    expect(page.get_by_role("img", name="Ring count")).to_be_visible()
    expect(page.get_by_role("img", name="Total width")).to_be_visible()
    expect(page.get_by_role("img", name="Success rate per day")).to_be_visible()
    expect(page.get_by_role("img", name="Rosette: 5 rings, 5.80 mm")).to_be_visible()
    expect(page.get_by_text("No runs in this range yet")).to_be_visible()
    # Every chart has a description for assistive technology.
    for image in page.get_by_role("img").all():
        assert image.get_attribute("aria-labelledby")
    expect(page.locator("svg .risk-green text")).to_have_text("131 · 66%")
    # The data behind a chart is one click away, as a table.
    page.get_by_text("Data table").first.click()
    expect(page.get_by_role("table", name="Ring count").get_by_role("row")).to_have_count(8)
    # Three change markers are drawn; the linked one is a link.
    expect(page.locator(".marker")).to_have_count(3)
    expect(page.locator('.marker a[href="#v2"]')).to_have_count(1)
    shot("charts", page)


def test_histogram_labels_keep_clear_of_each_other_in_the_browsers_font(blank_page, shot):
    """Seen in review: "Candidates" printed over the "100" tick label and the last width label
    "10.0" cut off at the right. Measured here with the font the browser really uses."""
    page = blank_page
    widths = charts.binned_histogram(
        [3.0 + 0.7 * i for i in range(11)], [48, 73, 62, 56, 57, 56, 38, 34, 44, 112], noun="candidates"
    )
    rings = charts.integer_histogram({2: 12_345, 3: 80, 4: 7}, noun="candidates")
    css = (settings.BASE_DIR / "static" / "rmos" / "rmos.css").read_text()
    page.set_content(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><style>{css}</style></head><body>'
        '<div class="chart-pair" style="width: 680px">'
        + render_to_string("components/chart_histogram.html", {"chart": widths, "chart_id": "widths"})
        + render_to_string("components/chart_histogram.html", {"chart": rings, "chart_id": "rings"})
        + "</div></body></html>"
    )
    shot("histogram-labels", page)

    def overlap(a: dict, b: dict) -> bool:
        return (
            a["x"] < b["x"] + b["width"]
            and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"]
            and b["y"] < a["y"] + a["height"]
        )

    for svg in page.locator("figure.chart svg").all():
        frame = svg.bounding_box()
        for text in svg.locator("text").all():
            box = text.bounding_box()
            assert frame["x"] - 0.5 <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5, (
                text.text_content(),
                box,
                frame,
            )
        title = svg.locator(".axis-y .axis-title").bounding_box()
        for label in svg.locator(".axis-y text:not(.axis-title)").all():
            assert not overlap(title, label.bounding_box()), label.text_content()
        x_labels = [t.bounding_box() for t in svg.locator(".axis-x text").all()]
        assert not any(overlap(a, b) for a, b in zip(x_labels, x_labels[1:]))
    assert page.locator("figure.chart svg").first.locator(".axis-x text").last.text_content() == "10.0"
