"""A one-line progress bar for management commands (standard library only).

    with Progress(total=len(days), label="pruning", unit="days", stream=self.stderr) as bar:
        for day in days:
            ...
            bar.advance()

On a terminal the line redraws in place (``pruning [#######.....] 58% 29/50 days 3.1/s ETA 0:07``);
into a file or pipe it writes a line at most every ``log_every`` seconds and one at the end, so
logs stay readable. ``total=None`` shows a count and a rate without a bar.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _rate(per_second: float) -> str:
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if per_second >= limit:
            return f"{per_second / limit:.1f}{suffix}"
    return f"{per_second:.1f}"


class Progress:
    def __init__(
        self,
        total: int | None,
        *,
        label: str = "",
        unit: str = "",
        stream: IO[str] | Any = None,
        width: int = 30,
        redraw_every: float = 0.1,
        log_every: float = 10.0,
    ) -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = float("-inf")  # the first update draws
        is_tty = getattr(self.stream, "isatty", None)
        self.interactive = bool(is_tty and is_tty())
        self._every = redraw_every if self.interactive else log_every

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advance(self, amount: int = 1) -> None:
        self.update(self.done + amount)

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last_draw >= self._every:
            self._last_draw = now
            self._draw(final=False)

    def close(self) -> None:
        self._draw(final=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        unit = f" {self.unit}" if self.unit else ""
        parts = [self.label] if self.label else []
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * self.width)
            parts.append(
                f"[{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} {self.done:,}/{self.total:,}{unit}"
            )
            remaining = (self.total - self.done) / rate if rate > 0 else 0.0
            parts.append(f"{_rate(rate)}/s ETA {_clock(remaining)}")
        else:
            parts.append(f"{self.done:,}{unit} {_rate(rate)}/s")
        parts.append(f"elapsed {_clock(elapsed)}")
        return " ".join(parts)

    def _draw(self, *, final: bool) -> None:
        text = self.line()
        if self.interactive:
            self._write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self._write(text + "\n")
        self.stream.flush()

    def _write(self, text: str) -> None:
        if hasattr(self.stream, "ending"):  # a command's self.stdout/self.stderr would add a newline
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)
