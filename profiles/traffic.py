"""Which contexts the log has seen lately: a question the profiles app asks and analytics answers.

Analytics sits above profiles in the layers (DESIGN §2), so profiles never imports it; instead
analytics registers its reader here when it starts (``analytics.apps``), as the log hands its
counts up through ``ailog.signals``. The rule editor uses it to show a rule change's blast radius.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.context import Context

#: ``source(days=N)`` → ``[(context, runs)]`` for every context with runs in the last N UTC days.
ContextsSeen = Callable[..., list[tuple[Context, int]]]

_source: ContextsSeen | None = None


def contexts_seen_register(source: ContextsSeen) -> None:
    global _source
    _source = source


def contexts_seen(*, days: int) -> list[tuple[Context, int]] | None:
    """The contexts seen in the last ``days`` days with their runs, most runs first; None when no
    reader is registered (the analytics app is not installed)."""
    return None if _source is None else _source(days=days)
