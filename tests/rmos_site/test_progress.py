"""rmos_site.progress: the progress bar commands share."""

from __future__ import annotations

import io

from django.core.management.base import OutputWrapper

from rmos_site.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_terminal_redraws_in_place():
    out = _Terminal()
    with Progress(4, label="work", unit="days", stream=out, redraw_every=0) as bar:
        for _ in range(4):
            bar.advance()
    text = out.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n")
    assert "work [" in text and "100% 4/4 days" in text and "ETA" in text


def test_into_a_file_it_writes_whole_lines_sparingly():
    out = io.StringIO()
    bar = Progress(1000, stream=out, log_every=3600)
    for _ in range(1000):
        bar.advance()
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue() and "1,000/1,000" in lines[-1]


def test_without_total_it_counts():
    out = io.StringIO()
    with Progress(None, unit="rows", stream=out) as bar:
        bar.update(2500)
    assert "2,500 rows" in out.getvalue() and "[" not in out.getvalue()


def test_through_a_commands_output_wrapper():
    raw = _Terminal()
    with Progress(2, stream=OutputWrapper(raw), redraw_every=0) as bar:
        bar.advance()
    assert raw.getvalue().count("\n") == 1  # only the final line ends one
