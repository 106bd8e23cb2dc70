"""Progress bars for long commands: tqdm, set up once for where commands write.

    with progress_bar(len(days), label="pruning", unit="day", stream=self.stderr) as bar:
        for day in days:
            ...
            bar.update(1)

On a terminal tqdm redraws the bar in place. Into a file or a pipe (CI logs, ``nohup``) a redraw
would be a carriage return and padding, so there it writes a whole line at most every
``log_every`` seconds and one at the end. ``total=None`` shows a count and a rate without a bar.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm


class _WholeLines:
    """A stream for tqdm that turns each redraw into one line (for files and pipes)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line:
            self.out.write(line + "\n")

    def flush(self) -> None:
        self.out.flush()


def progress_bar(
    total: int | None, *, label: str = "", unit: str = "it", stream: IO[str] | Any = None, log_every: float = 10.0
) -> tqdm:
    # A command's self.stderr (Django's OutputWrapper) ends every write with a newline: write
    # to the stream it wraps.
    out = getattr(stream, "_out", stream) if stream is not None else sys.stderr
    interactive = bool(getattr(out, "isatty", None) and out.isatty())
    return tqdm(
        total=total,
        desc=label,
        unit=f" {unit}" if unit else "",
        file=out if interactive else _WholeLines(out),
        mininterval=0.1 if interactive else log_every,
        maxinterval=max(log_every, 10.0),
        dynamic_ncols=interactive,
        ascii=not interactive,
        ncols=None if interactive else 100,
    )
