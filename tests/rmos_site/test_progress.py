"""rmos_site.progress: tqdm as the commands use it, on a terminal and into a log."""

from __future__ import annotations

import io

from django.core.management.base import OutputWrapper

from rmos_site.progress import progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_redraws_in_place():
    out = _Terminal()
    with progress_bar(4, label="work", unit="day", stream=out) as bar:
        for _ in range(4):
            bar.update(1)
    text = out.getvalue()
    assert "\r" in text and text.endswith("\n") and text.count("\n") == 1
    assert "work" in text and "100%" in text and "4/4" in text


def test_into_a_file_it_writes_whole_lines_sparingly():
    out = io.StringIO()
    with progress_bar(1000, label="pruning", unit="day", stream=out, log_every=3600) as bar:
        for _ in range(1000):
            bar.update(1)
    text = out.getvalue()
    lines = text.splitlines()
    # The first draw and the last; no carriage returns and no padding in a log.
    assert len(lines) == 2 and "\r" not in text and all(line == line.rstrip() for line in lines)
    assert "1000/1000" in lines[-1] and "pruning" in lines[-1]


def test_without_total_it_counts():
    out = io.StringIO()
    with progress_bar(None, unit="row", stream=out) as bar:
        bar.update(2500)
    assert "2500 row" in out.getvalue() and "%" not in out.getvalue()


def test_through_a_commands_output_wrapper_it_writes_to_the_wrapped_stream():
    raw = _Terminal()
    with progress_bar(2, stream=OutputWrapper(raw)) as bar:
        bar.update(1)
        bar.update(1)
    # OutputWrapper would have ended every redraw with a newline; only the final one ends a line.
    assert raw.getvalue().count("\n") == 1
