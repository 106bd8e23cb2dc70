"""The log's signal: how other apps follow its writes without the log importing them.

``log_changed`` is sent inside the transaction of every write to the log, after its rows are
written, with ``change``: the :class:`ailog.counts.Tally` of what the write added (or, negative,
removed). Receivers run in that transaction, so whatever they write commits or rolls back with the
rows; a receiver that raises undoes the write. analytics keeps its aggregates this way.
"""

from django.dispatch import Signal

log_changed = Signal()
