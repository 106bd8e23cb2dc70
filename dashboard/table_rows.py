"""The rows of the dashboard's long tables (the log's 100, the analytics' 50), as HTML.

A Django template spends about a quarter of a millisecond on a row of these tables, which made
the two tables most of the dashboard's time; these functions write the same markup from the
row objects the panels build, escaping every text (``html.escape``) and nothing else. The
templates include the result with ``{{ log.rows_html }}``; the markup stays here, next to the
small table-cell charts the ``{% risk_bar %}`` and ``{% interval_bar %}`` tags draw with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString, mark_safe

from dashboard.charts import RiskMixBar

if TYPE_CHECKING:  # the panels import this module
    from dashboard.panels.analytics import IntervalBar, StatsRow
    from dashboard.panels.log_viewer import LogRow
    from rmos_site.present import When

SELECTED = ' <span class="visually-hidden">(selected)</span>'
NEW = ' <span class="new-tag">new</span>'


def risk_bar(chart: RiskMixBar) -> str:
    """A compact GREEN / YELLOW / RED bar (``charts.risk_mix_bar(..., labels=False)``), named by its
    summary, each segment with its own tooltip."""
    if chart.empty:
        return f'<span class="muted">{escape(chart.empty_message)}</span>'
    segments = "".join(
        f'<rect class="risk-{s.bucket.lower()}" x="{s.x:g}" y="0" width="{s.width:g}" height="{chart.height:g}">'
        f"<title>{escape(s.title)}</title></rect>"
        for s in chart.segments
    )
    return (
        f'<svg class="risk-bar risk-cell" role="img" width="{chart.width:g}" height="{chart.height:g}" '
        f'viewBox="0 0 {chart.width:g} {chart.height:g}"><title>{escape(chart.summary)}</title>{segments}</svg>'
    )


def interval_bar(bar: IntervalBar | None) -> str:
    """A rate and its interval on a 0-100% track; decorative: the numbers are printed beside it."""
    if bar is None:
        return ""
    # 96 x 14 px: the interval's ends readable at a glance (it was 64 x 8); a tick every 25%.
    ticks = "".join(
        f'<rect class="ci-tick" x="{bar.width * q:g}" y="4" width="1" height="6"></rect>' for q in (0.25, 0.5, 0.75)
    )
    return (
        f'<svg class="ci-bar" width="{bar.width:g}" height="14" viewBox="0 0 {bar.width:g} 14" aria-hidden="true">'
        f'<rect class="ci-track" x="0" y="6" width="{bar.width:g}" height="2"></rect>{ticks}'
        f'<rect class="ci-band" x="{bar.low_x:g}" y="2" width="{bar.band_width:g}" height="10" rx="2"></rect>'
        f'<rect class="ci-rate" x="{max(bar.rate_x - 1, 0):g}" y="0" width="2.5" height="14"></rect></svg>'
    )


def _time(when: When | None) -> str:
    if when is None:
        return "—"
    return f'<time datetime="{when.iso}" title="{when.long}">{when.time}<span class="cell-sub">{when.day}</span></time>'


def _context_link(row) -> str:
    return (
        f'<a class="select-link" href="{escape(row.select_url)}" title="Select this context">'
        f'<span class="ctx ctx-tool_id">{escape(row.tool_id)}</span>'
        f'<span class="ctx ctx-material_id">{escape(row.material_id)}</span>'
        f'<span class="ctx ctx-machine_id">{escape(row.machine_id)}</span></a>' + (SELECTED if row.selected else "")
    )


def _log_row(row: LogRow, runs: bool) -> str:
    extra = f'<span class="ctx-extra">{escape(row.context_extra)}</span>' if row.context_extra else ""
    index = f' <span class="muted">#{row.attempt_index}</span>' if row.attempt_index else ""
    profile = ""
    if row.profile:
        name = escape(row.profile)
        name = f'<a href="{escape(row.profile_url)}">{name}</a>' if row.profile_url else name
        version = f" v{row.profile_version}" if row.profile_version else ""
        profile = f'<span class="cell-sub">{name}{version}</span>'
    if runs:
        outcome = "outcome-success" if row.success else "outcome-failure"
        plural = "" if row.attempts == 1 else "s"
        risk = f'<span class="{row.bucket_class}">{row.bucket}</span>' if row.bucket else '<span class="muted">—</span>'
        cells = (
            f'<td><span class="outcome {outcome}">{escape(row.reason)}</span><span class="cell-sub">{row.attempts} attempt{plural}</span></td>'
            f'<td class="num">{row.score}</td><td class="cell-risk">{risk}</td>'
        )
    else:
        acceptable = (
            ' <span class="acceptable" title="acceptable">✓<span class="visually-hidden"> acceptable</span></span>'
            if row.acceptable
            else ""
        )
        cells = (
            f'<td class="num">{row.score}</td>'
            f'<td class="cell-risk"><span class="{row.bucket_class}">{row.bucket}</span>{acceptable}</td>'
            f'<td class="num cell-size">{row.rings}<span class="cell-sub">{row.width}</span></td>'
        )
    # On a phone the score and risk columns sit past the screen's edge: repeat them under the time
    # (hidden from screen readers, which read the real columns).
    bucket = (
        f'<span class="bucket-glance bucket-{row.bucket.lower()}">{row.bucket}</span>'
        if row.bucket
        else '<span class="muted">—</span>'
    )
    glance = f'<span class="cell-glance" aria-hidden="true">{row.score} {bucket}</span>'
    return (
        f'<tr class="log-row{" is-selected" if row.selected else ""}{" is-new" if row.new else ""}">'
        f'<td class="cell-time">{_time(row.when)}{NEW if row.new else ""}{glance}</td>'
        f'<td class="cell-context">{_context_link(row)}{extra}</td>'
        f'<td class="cell-run"><a href="{escape(row.run_url)}" class="run-link"><code>{row.run_short}</code>{index}</a>{profile}</td>'
        f"{cells}</tr>\n"
    )


def log_rows(rows: Iterable[LogRow], *, runs: bool) -> SafeString:
    return mark_safe("".join(_log_row(row, runs) for row in rows))  # noqa: S308 - every text is escaped


def _stats_row(row: StatsRow) -> str:
    engine = f'<span class="ctx-extra">{escape(row.engine)}</span>' if row.engine else ""
    profiles = (
        "".join(
            f'<span class="profile-seen" title="{escape(title)}">{escape(label)}</span>'
            for label, title in row.profiles
        )
        or '<span class="muted">—</span>'
    )
    return (
        f'<tr class="stats-row{" is-selected" if row.selected else ""}">'
        f'<th scope="row" class="cell-context">{_context_link(row)}{engine}</th>'
        f'<td class="num">{row.runs}</td>'
        f'<td class="num cell-rate"><span class="rate">{row.success}</span>{interval_bar(row.interval)}<span class="ci">{row.success_ci}</span></td>'
        f'<td class="num">{row.avg_attempts}</td>'
        f'<td class="num">{row.avg_score}{_hint(row.score_hint)}</td>'
        f'<td class="cell-risk">{risk_bar(row.risk)}</td>'
        f'<td class="cell-time">{_time(row.last_run)}</td>'
        f'<td class="cell-profiles">{profiles}</td></tr>\n'
    )


def _hint(text: str) -> str:
    return f'<span class="cell-sub score-hint">{escape(text)}</span>' if text else ""


def stats_rows(rows: Iterable[StatsRow]) -> SafeString:
    return mark_safe("".join(_stats_row(row) for row in rows))  # noqa: S308 - every text is escaped
