"""Chart geometry for the dashboard's inline SVG, computed on the server.

Plain Python (no Django): each function takes plain data and returns a frozen dataclass with
every coordinate, label, tooltip and text alternative already worked out. The templates in
``templates/components/chart_*.html`` and ``rosette.html`` only draw what is here, so the
drawing logic is tested without a browser and escaping is left to the template engine.

Every chart carries ``title`` and ``summary`` (for ``<title>``/``<desc>`` and the text beside
it), ``rows`` for a data table where one helps, and ``empty``/``empty_message`` for when
there is nothing to draw.
"""

from dashboard.charts.common import (
    CHAR_PX,
    NO_RUNS,
    RISK_BUCKETS,
    TICK_CHAR_PX,
    TICK_GAP,
    Y_TITLE_RIGHT,
    Y_TITLE_X,
    Plot,
    Tick,
    count_steps,
    percent_text,
    percentages,
    plural,
    svg_number,
    thin_ticks,
    tick_label_px,
)
from dashboard.charts.histogram import Histogram, HistogramBar, binned_histogram, integer_histogram
from dashboard.charts.interval import IntervalChart, difference_chart
from dashboard.charts.line import ChangeMarker, Dot, LineChart, MarkerLine, RatePoint, rate_line_chart
from dashboard.charts.risk import RiskMixBar, RiskSegment, risk_mix_bar
from dashboard.charts.rosette import (
    FALLBACK_COLOURS,
    MATERIAL_COLOURS,
    PATTERNS,
    Rosette,
    RosetteRing,
    contrast_colour,
    material_colour,
    rosette,
)
from dashboard.charts.scores import ScoreChart, ScoreDot, attempt_score_chart

__all__ = [
    "RISK_BUCKETS",
    "NO_RUNS",
    "CHAR_PX",
    "TICK_CHAR_PX",
    "TICK_GAP",
    "Y_TITLE_X",
    "Y_TITLE_RIGHT",
    "tick_label_px",
    "svg_number",
    "percentages",
    "percent_text",
    "plural",
    "Plot",
    "Tick",
    "count_steps",
    "thin_ticks",
    "RiskSegment",
    "RiskMixBar",
    "risk_mix_bar",
    "HistogramBar",
    "Histogram",
    "integer_histogram",
    "binned_histogram",
    "IntervalChart",
    "difference_chart",
    "RatePoint",
    "ChangeMarker",
    "Dot",
    "MarkerLine",
    "LineChart",
    "rate_line_chart",
    "ScoreDot",
    "ScoreChart",
    "attempt_score_chart",
    "MATERIAL_COLOURS",
    "FALLBACK_COLOURS",
    "PATTERNS",
    "material_colour",
    "contrast_colour",
    "RosetteRing",
    "Rosette",
    "rosette",
]
